"""E-mail to the people a request is waiting for, and to its maker when it closes (PL-3).

Sent by the task worker (never inside the approving transaction): a slow or absent mail server
delays a message, never an approval.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django_tasks import task


def step_waiting(request_id: int) -> None:
    send_step_waiting.enqueue(request_id)


def closed(request_id: int) -> None:
    send_closed.enqueue(request_id)


def _link(request) -> str:
    return settings.RISKDESK_CONSOLE_URL.rstrip("/") + reverse(
        "approvals:detail", args=[request.pk]
    )


@task()
def send_step_waiting(request_id: int) -> int:
    """Mail every holder of the waiting step's role who may act on it."""
    from riskdesk.approvals.models import Action, ChangeRequest

    request = ChangeRequest.objects.select_related("maker").get(pk=request_id)
    if request.status != ChangeRequest.Status.PENDING:
        return 0
    done = set(request.actions.filter(kind=Action.Kind.APPROVE).values_list("actor_id", flat=True))
    approvers = (
        get_user_model()
        .objects.filter(groups__name=request.current_role, is_active=True)
        .exclude(pk=request.maker_id)
        .exclude(pk__in=done)
        .exclude(email="")
    )
    recipients = sorted({u.email for u in approvers})
    if not recipients:
        return 0
    step = request.steps[request.step]
    send_mail(
        subject=f"[RiskDesk] Approval needed: #{request.pk} {request.flow} {request.target_label}",
        message=(
            f"Request #{request.pk} ({request.flow}) on {request.target_label} by "
            f"{request.maker.get_full_name() or request.maker.username} waits for "
            f"{step['approvals']} approval(s) by a {request.current_role}.\n\n"
            f"Note: {request.note or '-'}\n\nOpen it: {_link(request)}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)


@task()
def send_closed(request_id: int) -> int:
    from riskdesk.approvals.models import ChangeRequest

    request = ChangeRequest.objects.select_related("maker").get(pk=request_id)
    if not request.maker.email:
        return 0
    send_mail(
        subject=f"[RiskDesk] Request #{request.pk} {request.get_status_display().lower()}",
        message=(
            f"Your request #{request.pk} ({request.flow}) on {request.target_label} is "
            f"{request.get_status_display().lower()}.\n{request.failure}\n\nOpen it: {_link(request)}\n"
        ),
        from_email=None,
        recipient_list=[request.maker.email],
    )
    return 1
