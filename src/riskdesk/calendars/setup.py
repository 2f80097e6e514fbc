"""Seeding the trading-day calendar from exchange-calendars (PL-8).

After every migrate, and daily from the scheduler (``extend-calendar``), each market's table is
filled from ``SEED_START`` to the exchange calendar's last session, about a year ahead. Only
missing days are inserted: a row that exists is never overwritten, so a change made through
approval (a typhoon closure, a late open) survives every re-seed.
"""

from datetime import date, timedelta
from functools import lru_cache

from riskdesk.approvals.governed import seeding

# The first day stored; earlier days are outside the calendar (CalendarError).
SEED_START = date(2024, 1, 1)
# The exchange calendar behind each market.
EXCHANGES = {"HK": "XHKG", "US": "XNYS"}


def horizon(today: date | None = None) -> date:
    """How far ahead the table reaches: a year after today, as exchange-calendars' default end
    (computed here, not read from the package, whose default is fixed when it is imported and
    so would not move in a long-running worker)."""
    today = today or date.today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


@lru_cache(maxsize=4)
def _exchange_days(market: str, end: date) -> tuple[tuple, ...]:
    """(date, status, opens, closes, note) for every calendar day of ``market`` from SEED_START
    to the exchange calendar's last session up to ``end``; built once per process and end."""
    import exchange_calendars
    import pandas as pd

    from riskdesk.calendars.models import TradingDay

    cal = exchange_calendars.get_calendar(
        EXCHANGES[market], start=pd.Timestamp(SEED_START), end=pd.Timestamp(end)
    )
    first, last = pd.Timestamp(SEED_START), cal.last_session
    names: dict[date, str] = {}
    for ts, name in cal.regular_holidays.holidays(first, last, return_name=True).items():
        names[ts.date()] = str(name)
    for _close, holidays in cal.special_closes:
        for ts, name in holidays.holidays(first, last, return_name=True).items():
            names[ts.date()] = str(name)
    early = {ts.date() for ts in cal.early_closes}
    schedule = cal.schedule
    opens = schedule["open"].dt.tz_convert(cal.tz).dt.time
    closes = schedule["close"].dt.tz_convert(cal.tz).dt.time
    sessions = {ts.date(): (o, c) for ts, o, c in zip(schedule.index, opens, closes, strict=True)}
    days = []
    day, stop = SEED_START, last.date()
    while day <= stop:
        hours = sessions.get(day)
        if hours is None:
            status, hours = TradingDay.Status.CLOSED, (None, None)
            note = names.get(day) or ("" if day.weekday() >= 5 else "Exchange holiday")
        elif day in early:
            status, note = TradingDay.Status.HALF_DAY, names.get(day) or "Early close"
        else:
            status, note = TradingDay.Status.OPEN, names.get(day, "")
        days.append((day, str(status), *hours, note))
        day += timedelta(days=1)
    return tuple(days)


def exchange_days(market: str, end: date) -> list:
    """Every calendar day of ``market`` from SEED_START to the exchange calendar's last session
    up to ``end``, as unsaved TradingDay rows: sessions open (half day when the calendar has an
    early close, with that close), other days closed; holiday names as notes where the
    calendar has them (it has none for the lunar holidays: "Exchange holiday")."""
    from riskdesk.calendars.models import TradingDay

    return [
        TradingDay(
            market=market,
            date=day,
            status=status,
            open_time=opens,
            close_time=closes,
            note=note,
            source=TradingDay.Source.EXCHANGE,
        )
        for day, status, opens, closes, note in _exchange_days(market, end)
    ]


def seed_market(market: str, *, end: date | None = None) -> int:
    """Insert the days of ``market`` that the table lacks; return how many. Never updates."""
    from simple_history.utils import bulk_create_with_history

    from riskdesk.calendars.models import TradingDay

    have = set(
        TradingDay.objects.filter(market=market, date__gte=SEED_START).values_list(
            "date", flat=True
        )
    )
    missing = [row for row in exchange_days(market, end or horizon()) if row.date not in have]
    if not missing:
        return 0
    reason = f"exchange-calendars {EXCHANGES[market]}"
    with seeding(reason):
        # bulk_create (allowed while seeding) keeps this to a few queries for ~1,500 days a
        # market; bulk_create_with_history writes one "created" history row per day with the
        # seed reason, so a day's change records start from where its value came from.
        bulk_create_with_history(
            missing, TradingDay, batch_size=500, custom_historical_attrs={"seed_reason": reason}
        )
    return len(missing)


def extend_trading_days(*, today: date | None = None) -> dict[str, int]:
    """Bring every market's table up to the horizon (a year after ``today``); {market: added}."""
    end = horizon(today)
    return {market: seed_market(market, end=end) for market in EXCHANGES}


def ensure_trading_days(**_kwargs) -> None:
    """post_migrate: seed the calendar when the firm is set up, and fill any missing days."""
    extend_trading_days()
