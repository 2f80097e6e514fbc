"""Background task of liquidation: auto liquidation at the configured time (MC-1, PL-8)."""

from django.utils import timezone
from django_tasks import task

from riskdesk.jobs.models import JobRun


@task()
def auto_liquidation_task(run_id: int) -> dict:
    """Each HK trading day at the auto-liquidation time (scheduler job "auto-liquidation")."""
    from riskdesk.jobs.scheduler import MARKET_ZONES
    from riskdesk.liquidation.services import auto_liquidate
    from riskdesk.margincall.screening import HOME_MARKET

    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    today = timezone.now().astimezone(MARKET_ZONES[HOME_MARKET]).date()
    batch = auto_liquidate(today)
    result = {"batch": batch.pk, "calls": batch.summary} if batch else {"batch": None}
    JobRun.objects.filter(pk=run_id).update(
        status=JobRun.Status.DONE, result=result, finished_at=timezone.now()
    )
    return result
