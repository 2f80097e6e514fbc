"""Trading days of the markets the jobs run on (PL-8), from the ``TradingDay`` table.

The table is seeded from exchange-calendars (XHKG, XNYS) and corrected through approval
(riskdesk.calendars); callers use only ``is_trading_day``.
"""

import logging
from datetime import date

from riskdesk.calendars import selectors

log = logging.getLogger(__name__)


def is_trading_day(market: str, day: date) -> bool:
    try:
        return selectors.is_trading_day(market, day)
    except selectors.CalendarError as exc:
        # Outside the table: weekdays count, so jobs (the calendar's own extension among them)
        # never silently stop.
        log.warning("scheduler: %s; counting weekdays", exc)
        return day.weekday() < 5
