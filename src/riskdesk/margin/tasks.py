"""Background tasks of the margin ratios (MR-3)."""

from django.utils import timezone
from django_tasks import task

from riskdesk.jobs.models import JobRun
from riskdesk.margin.settings_records import trigger_due


@task()
def settings_due_task(run_id: int) -> dict:
    """Each HK trading morning before the open: apply every setting record not yet triggered
    whose effective date has come (MR-3). Idempotent: a record is applied once."""
    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    run = JobRun.objects.get(pk=run_id)
    applied = trigger_due(run.run_date)
    result = {"triggered": len(applied), "ids": applied[:100]}
    JobRun.objects.filter(pk=run_id).update(
        status=JobRun.Status.DONE, result=result, finished_at=timezone.now()
    )
    return result
