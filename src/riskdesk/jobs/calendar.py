"""Trading days of the markets the jobs run on (PL-8), from exchange-calendars.

Issue 3 replaces the source with the editable ``TradingDay`` table seeded from the same
calendars; callers use only ``is_trading_day``.
"""

from datetime import date
from functools import lru_cache

import exchange_calendars
import pandas as pd

MARKET_CALENDARS = {"HK": "XHKG", "US": "XNYS"}


@lru_cache(maxsize=4)
def _calendar(market: str):
    return exchange_calendars.get_calendar(MARKET_CALENDARS[market])


def is_trading_day(market: str, day: date) -> bool:
    cal = _calendar(market)
    ts = pd.Timestamp(day)
    if ts < cal.first_session or ts > cal.last_session:
        # Outside the calendar's range: weekdays count, so jobs never silently stop.
        return day.weekday() < 5
    return bool(cal.is_session(ts))
