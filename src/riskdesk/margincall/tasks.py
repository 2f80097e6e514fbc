"""Background tasks of the margin calls (MC-1, MC-5), enqueued by the scheduler."""

from django.utils import timezone
from django_tasks import task

from riskdesk.jobs.models import JobRun


def daily(at=None) -> dict:
    """The daily full re-screen, then a "daily" snapshot of every call still open (MC-5)."""
    from riskdesk.margincall import snapshots
    from riskdesk.margincall.models import MarginCall, MarginCallSnapshot
    from riskdesk.margincall.monitor import full_screen

    at = at or timezone.now()
    screened = full_screen(at)
    taken = 0
    calls = MarginCall.objects.filter(status=MarginCall.Status.OPEN).select_related(
        "account__client"
    )
    for call in calls.iterator(chunk_size=500):
        snapshots.take(call, MarginCallSnapshot.Reason.DAILY, at=at)
        taken += 1
    return {"screened": screened, "snapshots": taken}


@task()
def daily_screen_task(run_id: int) -> dict:
    """Each HK trading day at the set time (scheduler job "margin-call-daily")."""
    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    result = daily()
    JobRun.objects.filter(pk=run_id).update(
        status=JobRun.Status.DONE, result=result, finished_at=timezone.now()
    )
    return result
