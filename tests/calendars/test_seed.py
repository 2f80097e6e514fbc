"""PL-8: the TradingDay table is seeded from exchange-calendars (XHKG, XNYS), every calendar day
from 2024-01-01 to about a year ahead, and re-seeding only fills what is missing."""

from datetime import date, time, timedelta

import exchange_calendars
import pytest

from riskdesk.approvals.governed import seeding
from riskdesk.calendars.models import REGULAR_HOURS, TradingDay
from riskdesk.calendars.setup import SEED_START, extend_trading_days, horizon

pytestmark = pytest.mark.django_db


def row(market, day):
    return TradingDay.objects.get(market=market, date=day)


def test_every_calendar_day_is_stored_weekends_closed():
    # Arrange
    today = date.today()
    for market in ("HK", "US"):
        days = list(TradingDay.objects.filter(market=market).order_by("date"))
        # Assert: contiguous from 2024-01-01, reaching most of a year ahead, Sat/Sun closed.
        assert days[0].date == SEED_START
        assert [d.date for d in days] == [SEED_START + timedelta(days=i) for i in range(len(days))]
        assert today + timedelta(days=300) < days[-1].date <= horizon(today)
        weekend = [d for d in days if d.date.weekday() >= 5]
        assert weekend and all(d.status == "closed" and d.open_time is None for d in weekend)
        assert {d.source for d in days} == {"exchange-calendars"}


def test_hkex_christmas_2026_from_exchange_calendars():
    # HKEX: Christmas Eve 2026 (Thursday) has no afternoon session, closing at 12:00;
    # Christmas Day (Friday) is a holiday; Boxing Day falls on Saturday 26th.
    eve = row("HK", date(2026, 12, 24))
    assert (eve.status, eve.open_time, eve.close_time) == ("half_day", time(9, 30), time(12, 0))
    assert eve.note == "Christmas Eve"
    christmas = row("HK", date(2026, 12, 25))
    assert (christmas.status, christmas.open_time, christmas.close_time) == ("closed", None, None)
    assert christmas.note == "Christmas"
    monday = row("HK", date(2026, 12, 28))
    assert (monday.status, monday.open_time, monday.close_time) == (
        "open",
        time(9, 30),
        time(16, 0),
    )


def test_nyse_thanksgiving_2026_from_exchange_calendars():
    # NYSE: Thanksgiving, Thursday 2026-11-26, closed; the Friday after closes at 13:00.
    assert row("US", date(2026, 11, 26)).status == "closed"
    friday = row("US", date(2026, 11, 27))
    assert (friday.status, friday.open_time, friday.close_time) == (
        "half_day",
        time(9, 30),
        time(13, 0),
    )


def test_the_regular_hours_used_for_half_days_are_the_exchanges():
    for market, code in (("HK", "XHKG"), ("US", "XNYS")):
        cal = exchange_calendars.get_calendar(code)
        assert (cal.open_times[-1][1], cal.close_times[-1][1]) == REGULAR_HOURS[market]


def test_seeded_days_have_a_history_row_with_the_seed_reason():
    record = row("HK", date(2026, 12, 24)).history.get()
    assert (record.history_type, record.seed_reason) == ("+", "exchange-calendars XHKG")
    assert row("US", date(2026, 11, 27)).history.get().seed_reason == "exchange-calendars XNYS"


def test_extension_inserts_only_the_missing_days():
    # Arrange: the table stops at 2026-12-31, as if it had been seeded a while ago.
    before = TradingDay.objects.count()
    with seeding("test: cut the calendar short"):
        cut = TradingDay.objects.filter(date__gt=date(2026, 12, 31)).delete()[1][
            "calendars.TradingDay"
        ]
    # Act
    added = extend_trading_days()
    # Assert: the cut days are back, nothing else was written.
    assert sum(added.values()) == cut
    assert TradingDay.objects.count() == before
    assert extend_trading_days() == {"HK": 0, "US": 0}


def test_the_daily_extension_job_is_scheduled_and_runs():
    from riskdesk.calendars.tasks import extend_calendar_task
    from riskdesk.jobs.models import JobRun
    from riskdesk.jobs.scheduler import JOBS

    job = next(j for j in JOBS if j.name == "extend-calendar")
    assert job.task_path == "riskdesk.calendars.tasks.extend_calendar_task"
    run = JobRun.objects.create(job=job.name, run_date=date.today())
    assert extend_calendar_task.call(run.id) == {"added": {"HK": 0, "US": 0}}
    run.refresh_from_db()
    assert run.status == "done"
