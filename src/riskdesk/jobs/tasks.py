"""Background tasks run by the worker (PL-8)."""

from django.utils import timezone
from django_tasks import task

from riskdesk.book.selectors import reconcile_book
from riskdesk.jobs.models import JobRun


@task()
def reconcile_book_task(run_id: int) -> dict:
    """Daily proof that every balance and position equals the sum of its entries (PL-1)."""
    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    problems = reconcile_book()
    status = JobRun.Status.DONE if not problems else JobRun.Status.FAILED
    result = {"problems": problems[:100], "count": len(problems)}
    JobRun.objects.filter(pk=run_id).update(
        status=status, result=result, finished_at=timezone.now()
    )
    return result
