"""The scheduler (PL-8): at a set local time on each trading day of a market, enqueue a task
for the worker, once per day."""

import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from riskdesk.jobs.calendar import is_trading_day
from riskdesk.jobs.models import JobRun

log = logging.getLogger(__name__)

MARKET_ZONES = {"HK": ZoneInfo("Asia/Hong_Kong"), "US": ZoneInfo("America/New_York")}


@dataclass(frozen=True)
class Job:
    name: str
    market: str
    at: time | Callable[[], time]  # a callable for a time set through approval (PL-12)
    task_path: str  # dotted path of a django_tasks task taking (run_id)

    def time(self) -> time:
        return self.at() if callable(self.at) else self.at


def auto_liquidation_time() -> time:
    from riskdesk.liquidation.services import parameters

    return parameters().auto_time


JOBS: list[Job] = [
    Job("reconcile-book", "HK", time(17, 30), "riskdesk.jobs.tasks.reconcile_book_task"),
    Job("extend-calendar", "HK", time(6, 0), "riskdesk.calendars.tasks.extend_calendar_task"),
    Job("margin-settings-due", "HK", time(8, 30), "riskdesk.margin.tasks.settings_due_task"),
    Job("margin-call-daily", "HK", time(18, 0), "riskdesk.margincall.tasks.daily_screen_task"),
    Job("short-recall", "HK", time(8, 45), "riskdesk.margincall.recalls.short_recall_task"),
    Job(
        "auto-liquidation",
        "HK",
        auto_liquidation_time,
        "riskdesk.liquidation.tasks.auto_liquidation_task",
    ),
]


def due(job: Job, now: datetime) -> bool:
    local = now.astimezone(MARKET_ZONES[job.market])
    return local.time() >= job.time() and is_trading_day(job.market, local.date())


def run_due(now: datetime, jobs: list[Job] | None = None) -> list[JobRun]:
    """Enqueue every job that is due and has not run on this trading day."""
    from django.utils.module_loading import import_string

    started = []
    for job in jobs if jobs is not None else JOBS:
        if not due(job, now):
            continue
        run_date = now.astimezone(MARKET_ZONES[job.market]).date()
        try:
            with transaction.atomic():
                run = JobRun.objects.create(job=job.name, run_date=run_date)
                task = import_string(job.task_path)
                transaction.on_commit(lambda task=task, run=run: task.enqueue(run.id))
        except IntegrityError:
            continue  # already run today
        started.append(run)
    return started


def run_forever(poll_seconds: float = 30.0) -> None:
    from django.utils import timezone

    log.warning("scheduler: %d job(s); polling every %ss", len(JOBS), poll_seconds)
    while True:
        for run in run_due(timezone.now()):
            log.warning("scheduler: queued %s for %s", run.job, run.run_date)
        clock.sleep(poll_seconds)
