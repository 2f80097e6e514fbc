from datetime import date

import pytest


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Notification tasks run at commit in the test process instead of a separate worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def hk(day: date):
    from riskdesk.calendars.models import TradingDay

    return TradingDay.objects.get(market="HK", date=day)


def propose(maker, day, **payload):
    """Submit a change of one trading day through the approval centre."""
    from riskdesk.approvals import services

    return services.submit(
        flow="calendar.trading_day",
        target=day,
        payload=payload,
        maker=maker,
        note=payload.get("note", ""),
    )
