from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CalendarsConfig(AppConfig):
    name = "riskdesk.calendars"
    label = "calendars"
    verbose_name = "Trading-day calendar"

    def ready(self) -> None:
        from riskdesk.calendars import flows  # noqa: F401  (registers calendar.trading_day)
        from riskdesk.calendars.setup import ensure_trading_days

        post_migrate.connect(
            ensure_trading_days, sender=self, dispatch_uid="riskdesk.calendars.setup"
        )
