"""Reads of the trading-day calendar (PL-8): is a day a trading day, the n-th trading day after
a date, trading days between two dates, a day's session.

All read the ``TradingDay`` table (seeded from exchange-calendars, corrected through approval),
never the package, so a typhoon closure approved this morning counts at once. A question the
table cannot answer (an unknown market, a day before it starts or past its end) raises
``CalendarError`` naming the market and the date: a deadline is never guessed.
"""

from dataclasses import dataclass
from datetime import date, time

from django.db.models import Max, Min

from riskdesk.calendars.models import TradingDay

TRADING = (TradingDay.Status.OPEN, TradingDay.Status.HALF_DAY)


class CalendarError(LookupError):
    """The trading-day calendar does not cover the market or date asked about."""


@dataclass(frozen=True)
class Session:
    """One day of a market: open / half_day / closed, with local exchange times."""

    market: str
    date: date
    status: str
    open_time: time | None
    close_time: time | None
    note: str
    source: str

    @property
    def trades(self) -> bool:
        return self.status in TRADING


def coverage(market: str) -> tuple[date, date] | None:
    """The first and last day the table holds for ``market`` (None when it holds none)."""
    span = TradingDay.objects.filter(market=market).aggregate(first=Min("date"), last=Max("date"))
    return None if span["first"] is None else (span["first"], span["last"])


def _not_covered(market: str, day: date) -> CalendarError:
    span = coverage(market)
    if span is None:
        return CalendarError(f"no trading-day calendar for market {market!r}")
    return CalendarError(
        f"the {market} trading-day calendar has no {day.isoformat()}: "
        f"it covers {span[0].isoformat()} to {span[1].isoformat()}"
    )


def _day(market: str, day: date) -> TradingDay:
    row = TradingDay.objects.filter(market=market, date=day).first()
    if row is None:
        raise _not_covered(market, day)
    return row


def session(market: str, day: date) -> Session:
    """The session of ``market`` on ``day``: status, opening and closing time (local exchange
    time; None when closed; a half day has its early close) and the note (PL-8)."""
    row = _day(market, day)
    return Session(
        row.market, row.date, row.status, row.open_time, row.close_time, row.note, row.source
    )


def is_trading_day(market: str, day: date) -> bool:
    """PL-8: a day trades when its status is open or half_day; closed days (weekends,
    exchange holidays, typhoon closures) do not."""
    return _day(market, day).trades


def next_trading_day(market: str, day: date, n: int = 1) -> date:
    """PL-8: the n-th trading day after ``day`` (n >= 1), counting only open and half days;
    n = 0 gives ``day`` itself when it trades, else the next trading day. ``day`` must be in the
    table, and so must the answer: CalendarError names the market and date otherwise."""
    if n < 0:
        raise ValueError("n must be 0 or more")
    start = _day(market, day)
    if n == 0 and start.trades:
        return day
    k = max(n, 1)
    found = list(
        TradingDay.objects.filter(market=market, date__gt=day, status__in=TRADING)
        .order_by("date")
        .values_list("date", flat=True)[k - 1 : k]
    )
    if not found:
        last = coverage(market)[1]
        raise CalendarError(
            f"the {market} trading-day calendar ends on {last.isoformat()}: it has no "
            f"trading day number {k} after {day.isoformat()}"
        )
    return found[0]


def trading_days_between(market: str, start: date, end: date) -> int:
    """PL-8: the number of trading days d with start < d <= end (so that
    ``trading_days_between(m, d, next_trading_day(m, d, n)) == n``); negative when end is
    before start. Both dates must be in the table (CalendarError otherwise)."""
    if end < start:
        return -trading_days_between(market, end, start)
    _day(market, start)
    _day(market, end)
    return TradingDay.objects.filter(
        market=market, date__gt=start, date__lte=end, status__in=TRADING
    ).count()
