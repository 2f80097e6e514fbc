"""When intraday ratios are in force (MR-2 规则设置)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from riskdesk.calendars.selectors import CalendarError, session

MARKET_ZONES = {"HK": ZoneInfo("Asia/Hong_Kong"), "US": ZoneInfo("America/New_York")}


def intraday_active(market: str, at: datetime, rule) -> bool:
    """MR-2: True when ``at`` falls on a trading day of ``market`` between ``starts_after_open``
    minutes after the open and ``ends_before_close`` minutes before the close (the early close
    on a half day). No rule, a disabled rule, a closed day or a day outside the calendar: False,
    and the intraday ratio is then 100%."""
    if rule is None or not rule.enabled or market not in MARKET_ZONES:
        return False
    local = at.astimezone(MARKET_ZONES[market])
    try:
        day = session(market, local.date())
    except CalendarError:
        return False
    if not day.trades or day.open_time is None or day.close_time is None:
        return False
    opens = datetime.combine(local.date(), day.open_time, MARKET_ZONES[market])
    closes = datetime.combine(local.date(), day.close_time, MARKET_ZONES[market])
    return (
        opens + timedelta(minutes=rule.starts_after_open)
        <= local
        < closes - timedelta(minutes=rule.ends_before_close)
    )
