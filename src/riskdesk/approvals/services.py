"""The only way to change a governed record: submit, then approve (PL-3).

submit → (approve × the route's steps) → apply, in one transaction with the last approval.
Every rule is enforced here, so the console, the API and any script obey the same ones:
the maker never approves, one person approves once, one pending change per record and flow,
applied exactly once under concurrent approvals, and a stale change fails whole.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from riskdesk.approvals import notifications
from riskdesk.approvals.governed import applying
from riskdesk.approvals.models import Action, ChangeRequest, Flow
from riskdesk.approvals.registry import handler_for
from riskdesk.users.roles import role_of

log = logging.getLogger(__name__)
Status = ChangeRequest.Status


class ApprovalError(Exception):
    """A refused action on a request, with a reason fit to show the user."""

    def __init__(
        self, message: str, *, field: str = "request", existing: ChangeRequest | None = None
    ):
        super().__init__(message)
        self.field = field
        self.existing = existing


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The first (field, reason) of a ValidationError, for API bodies, import rows and forms."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return field, "; ".join(errors)
    return "payload", "; ".join(exc.messages)


def route_for(flow_key: str, values: dict[str, Decimal]) -> list[dict]:
    """The steps of the first route whose condition holds (the default route otherwise)."""
    flow = Flow.objects.filter(key=flow_key).prefetch_related("routes__steps").first()
    if flow is None:
        raise ApprovalError(f"no approval flow is configured for {flow_key}", field="flow")
    for route in flow.routes.all():
        if route.is_default or _holds(route, values):
            steps = [{"role": s.role, "approvals": s.approvals} for s in route.steps.all()]
            if not steps:
                raise ApprovalError(f"flow {flow_key} has a route with no steps", field="flow")
            return steps
    raise ApprovalError(
        f"flow {flow_key} has no route for this request and no default", field="flow"
    )


def _holds(route, values) -> bool:
    value = values.get(route.condition_field)
    if value is None:
        return False
    limit = route.condition_value
    return {
        "<=": value <= limit,
        "<": value < limit,
        ">=": value >= limit,
        ">": value > limit,
    }[route.condition_op]


@transaction.atomic
def submit(*, flow: str, target, payload: dict, maker, note: str = "") -> ChangeRequest:
    """Propose a change of ``target`` (None for a new record) by flow ``flow``."""
    handler = handler_for(flow)
    if not maker.has_perm(handler.submit_permission):
        raise ApprovalError("your role may not submit this change", field="maker")
    cleaned = handler.clean(payload, target)
    key = (
        handler.target_key(target)
        if target is not None
        else handler.target_key_for_payload(cleaned)
    )
    before = handler.snapshot(target) if target is not None else {}
    if cleaned == {k: before.get(k) for k in cleaned}:
        raise ApprovalError("nothing would change", field="payload")
    existing = ChangeRequest.objects.filter(
        flow=flow, target_key=key, status=Status.PENDING
    ).first()
    if existing is not None:
        raise ApprovalError(
            f"request #{existing.pk} already proposes a change of this record", existing=existing
        )
    steps = route_for(flow, handler.condition_values(cleaned, before))
    try:
        with transaction.atomic():
            request = ChangeRequest.objects.create(
                flow=flow,
                target_key=key,
                target_label=handler.target_label(target) if target is not None else key,
                payload=cleaned,
                before=before,
                note=note,
                maker=maker,
                steps=steps,
                current_role=steps[0]["role"],
            )
    except IntegrityError:
        existing = ChangeRequest.objects.filter(
            flow=flow, target_key=key, status=Status.PENDING
        ).first()
        raise ApprovalError(
            f"request #{existing.pk if existing else '?'} already proposes a change of this record",
            existing=existing,
        ) from None
    Action.objects.create(request=request, kind=Action.Kind.SUBMIT, actor=maker, comment=note)
    transaction.on_commit(lambda: notifications.step_waiting(request.pk))
    return request


def _locked(request_id: int) -> ChangeRequest:
    try:
        return ChangeRequest.objects.select_for_update().get(pk=request_id)
    except ChangeRequest.DoesNotExist:
        raise ApprovalError(f"no request #{request_id}") from None


def can_approve(request: ChangeRequest, user) -> str | None:
    """Why ``user`` may not approve ``request`` now, or None when they may."""
    if request.status != Status.PENDING:
        return f"request #{request.pk} is {request.get_status_display().lower()}"
    if request.maker_id == user.pk:
        return "the maker of a request cannot approve it"
    if role_of(user) != request.current_role:
        return f"this step needs the role {request.current_role}"
    if request.actions.filter(kind=Action.Kind.APPROVE, actor=user).exists():
        return "you have already approved this request"
    return None


@transaction.atomic
def approve(*, request_id: int, user, comment: str = "") -> ChangeRequest:
    """Approve the current step; on the last approval, apply the change at once."""
    request = _locked(request_id)
    reason = can_approve(request, user)
    if reason:
        raise ApprovalError(reason)
    Action.objects.create(
        request=request, kind=Action.Kind.APPROVE, actor=user, step=request.step, comment=comment
    )
    needed = request.steps[request.step]["approvals"]
    given = request.actions.filter(kind=Action.Kind.APPROVE, step=request.step).count()
    if given < needed:
        return request
    if request.step + 1 < len(request.steps):
        request.step += 1
        request.current_role = request.steps[request.step]["role"]
        request.save(update_fields=["step", "current_role"])
        transaction.on_commit(lambda: notifications.step_waiting(request.pk))
        return request
    _apply(request, user)
    return request


def _apply(request: ChangeRequest, user) -> None:
    """Apply in a savepoint: a failure leaves nothing half-applied and marks the request failed."""
    handler = handler_for(request.flow)
    try:
        with transaction.atomic():
            target = handler.resolve(request.target_key)
            now = handler.snapshot(target) if target is not None else {}
            if now != request.before:
                raise ValidationError(
                    "the record changed since this request was submitted; submit a new one"
                )
            payload = handler.clean(request.payload, target)
            with applying(request.pk):
                request.record_url = handler.apply(payload, target, request=request) or ""
    except (ValidationError, IntegrityError) as exc:
        request.status = Status.FAILED
        request.failure = "; ".join(_messages(exc))
        request.closed_at = timezone.now()
        request.current_role = ""
        request.save(update_fields=["status", "failure", "closed_at", "current_role"])
        Action.objects.create(
            request=request, kind=Action.Kind.FAIL, actor=user, comment=request.failure
        )
        return
    request.status = Status.APPLIED
    request.closed_at = timezone.now()
    request.current_role = ""
    request.save(update_fields=["status", "closed_at", "current_role", "record_url"])
    Action.objects.create(request=request, kind=Action.Kind.APPLY, actor=user)
    transaction.on_commit(lambda: notifications.closed(request.pk))


def _messages(exc) -> list[str]:
    if isinstance(exc, IntegrityError):
        return [f"the database refused the change: {exc}"]
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, errors in exc.message_dict.items() for m in errors]
    return list(exc.messages)


@transaction.atomic
def reject(*, request_id: int, user, comment: str) -> ChangeRequest:
    if not comment.strip():
        raise ApprovalError("say why the request is rejected", field="comment")
    request = _locked(request_id)
    reason = can_approve(request, user)
    if reason:
        raise ApprovalError(reason.replace("approve", "reject"))
    return _close(request, Status.REJECTED, Action.Kind.REJECT, user, comment)


@transaction.atomic
def withdraw(*, request_id: int, user, comment: str = "") -> ChangeRequest:
    request = _locked(request_id)
    if request.maker_id != user.pk:
        raise ApprovalError("only the maker can withdraw a request")
    if request.status != Status.PENDING:
        raise ApprovalError(f"request #{request.pk} is {request.get_status_display().lower()}")
    return _close(request, Status.WITHDRAWN, Action.Kind.WITHDRAW, user, comment)


def _close(request, status, kind, user, comment) -> ChangeRequest:
    request.status = status
    request.closed_at = timezone.now()
    request.current_role = ""
    request.save(update_fields=["status", "closed_at", "current_role"])
    Action.objects.create(
        request=request, kind=kind, actor=user, step=request.step, comment=comment
    )
    transaction.on_commit(lambda: notifications.closed(request.pk))
    return request


@dataclass(frozen=True)
class BulkResult:
    request_id: int
    ok: bool
    message: str


def bulk_approve(*, request_ids: Iterable[int], user, comment: str = "") -> list[BulkResult]:
    """Approve each request in its own transaction; one refusal does not stop the others."""
    results = []
    for request_id in request_ids:
        try:
            request = approve(request_id=request_id, user=user, comment=comment)
        except ApprovalError as exc:
            results.append(BulkResult(request_id, False, str(exc)))
        else:
            results.append(BulkResult(request_id, True, request.get_status_display()))
    return results


def request_url(request: ChangeRequest) -> str:
    return reverse("approvals:detail", args=[request.pk])
