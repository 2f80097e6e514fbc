from django.apps import AppConfig


class MarginCallConfig(AppConfig):
    name = "riskdesk.margincall"
    label = "margincall"
    verbose_name = "Margin call"

    def ready(self) -> None:
        from riskdesk.margincall import triggers

        triggers.connect()
