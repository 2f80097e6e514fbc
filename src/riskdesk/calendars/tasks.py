"""Background tasks of the trading-day calendar (PL-8)."""

from django.utils import timezone
from django_tasks import task

from riskdesk.calendars.setup import extend_trading_days
from riskdesk.jobs.models import JobRun


@task()
def extend_calendar_task(run_id: int) -> dict:
    """Daily: add the days that exchange-calendars' horizon (a year ahead) now reaches, so
    deadlines computed on the calendar never run off its end. Existing days are untouched."""
    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    result = {"added": extend_trading_days()}
    JobRun.objects.filter(pk=run_id).update(
        status=JobRun.Status.DONE, result=result, finished_at=timezone.now()
    )
    return result
