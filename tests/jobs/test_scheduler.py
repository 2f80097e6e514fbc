"""PL-8: jobs run once per trading day of their market, after their local time."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from riskdesk.jobs.models import JobRun
from riskdesk.jobs.scheduler import Job, run_due

pytestmark = pytest.mark.django_db(transaction=True)
HK = ZoneInfo("Asia/Hong_Kong")
JOB = Job("reconcile-book", "HK", time(17, 30), "riskdesk.jobs.tasks.reconcile_book_task")


def at(*args):
    return datetime(*args, tzinfo=HK)


def test_not_due_before_its_time():
    assert run_due(at(2026, 11, 23, 17, 29), [JOB]) == []


def test_due_after_its_time_once_per_day(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Monday 2026-11-23 is an HKEX trading day.
    runs = run_due(at(2026, 11, 23, 17, 31), [JOB])
    assert [r.run_date.isoformat() for r in runs] == ["2026-11-23"]
    assert run_due(at(2026, 11, 23, 18, 0), [JOB]) == []
    run = JobRun.objects.get()
    assert run.status == "done" and run.result == {"problems": [], "count": 0}


def test_not_on_an_exchange_holiday():
    # 2026-12-25 (Christmas, a Friday) is an HKEX holiday; 2026-11-28 is a Saturday.
    assert run_due(at(2026, 12, 25, 18, 0), [JOB]) == []
    assert run_due(at(2026, 11, 28, 18, 0), [JOB]) == []


def test_us_job_uses_new_york_time_and_nyse_days():
    job = Job("us-close", "US", time(16, 30), "riskdesk.jobs.tasks.reconcile_book_task")
    # 2026-11-26 is Thanksgiving: NYSE closed.
    assert run_due(datetime(2026, 11, 26, 17, 0, tzinfo=ZoneInfo("America/New_York")), [job]) == []
    # 05:00 HK on 2026-11-25 is 16:00 New York on the 24th: not yet.
    assert run_due(at(2026, 11, 25, 5, 0), [job]) == []
