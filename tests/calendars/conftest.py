from datetime import date


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
