"""PL-8: trading-day questions answered from the TradingDay table."""

from datetime import date, time, timedelta

import pytest

from riskdesk.calendars.selectors import (
    CalendarError,
    coverage,
    is_trading_day,
    next_trading_day,
    session,
    trading_days_between,
)
from riskdesk.jobs import calendar as jobs_calendar

pytestmark = pytest.mark.django_db

WED_23 = date(2026, 12, 23)


def test_next_trading_day_skips_christmas_and_the_weekend_in_hong_kong():
    # HKEX around Christmas 2026 (exchange-calendars XHKG): Thu 24th trades until 12:00 (a half
    # day still counts); Fri 25th Christmas closed; Sat 26th is Boxing Day, and a general holiday
    # on a Saturday has no substitute in Hong Kong, so Mon 28th trades; Sun 27th closed.
    # After Wed 23rd: 1st = 24th, 2nd = 28th, 3rd = 29th.
    assert next_trading_day("HK", WED_23, 1) == date(2026, 12, 24)
    assert next_trading_day("HK", WED_23, 2) == date(2026, 12, 28)
    assert next_trading_day("HK", WED_23, 3) == date(2026, 12, 29)


def test_next_trading_day_in_new_york_counts_the_half_day_after_thanksgiving():
    # Wed 2026-11-25 → Thu 26th Thanksgiving closed → Fri 27th half day (13:00) → Mon 30th.
    assert next_trading_day("US", date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert next_trading_day("US", date(2026, 11, 25), 2) == date(2026, 11, 30)


def test_n_zero_is_the_day_itself_when_it_trades_else_the_next_trading_day():
    assert next_trading_day("HK", WED_23, 0) == WED_23
    assert next_trading_day("HK", date(2026, 12, 24), 0) == date(2026, 12, 24)  # half day
    assert next_trading_day("HK", date(2026, 12, 25), 0) == date(2026, 12, 28)  # holiday
    assert next_trading_day("HK", date(2026, 12, 26), 0) == date(2026, 12, 28)  # Saturday


def test_n_must_not_be_negative():
    with pytest.raises(ValueError):
        next_trading_day("HK", WED_23, -1)


def test_past_the_end_of_the_table_is_an_error_naming_market_and_date():
    first, last = coverage("HK")
    with pytest.raises(CalendarError) as err:
        next_trading_day("HK", last, 1)
    assert "HK" in str(err.value) and last.isoformat() in str(err.value)
    with pytest.raises(CalendarError) as err:
        next_trading_day("HK", last + timedelta(days=1), 0)
    assert (last + timedelta(days=1)).isoformat() in str(err.value)
    with pytest.raises(CalendarError) as err:
        is_trading_day("US", date(2023, 12, 29))
    assert "US" in str(err.value) and "2023-12-29" in str(err.value)
    assert first == date(2024, 1, 1)
    with pytest.raises(CalendarError, match="CN"):
        next_trading_day("CN", WED_23, 1)


def test_trading_days_between_counts_after_start_up_to_end():
    # 24th, 28th, 29th (see above).
    assert trading_days_between("HK", WED_23, date(2026, 12, 29)) == 3
    assert trading_days_between("HK", date(2026, 12, 29), WED_23) == -3
    assert trading_days_between("HK", WED_23, WED_23) == 0
    assert trading_days_between("HK", date(2026, 12, 24), date(2026, 12, 27)) == 0
    for n in range(1, 8):
        assert trading_days_between("HK", WED_23, next_trading_day("HK", WED_23, n)) == n


def test_is_trading_day_and_session():
    assert is_trading_day("HK", date(2026, 11, 23))  # Monday
    assert not is_trading_day("HK", date(2026, 12, 25))  # Christmas
    assert not is_trading_day("HK", date(2026, 11, 28))  # Saturday
    assert not is_trading_day("US", date(2026, 11, 26))  # Thanksgiving
    eve = session("HK", date(2026, 12, 24))
    assert (eve.status, eve.open_time, eve.close_time, eve.trades) == (
        "half_day",
        time(9, 30),
        time(12, 0),
        True,
    )
    assert session("US", date(2026, 11, 26)).open_time is None


def test_the_scheduler_counts_weekdays_outside_the_table():
    last = coverage("HK")[1]
    monday = last + timedelta(days=7 - last.weekday())
    assert jobs_calendar.is_trading_day("HK", monday)
    assert not jobs_calendar.is_trading_day("HK", monday + timedelta(days=5))
    assert not jobs_calendar.is_trading_day("HK", date(2026, 12, 25))
