"""Approval centre endpoints (PL-3): list, read, approve, reject, withdraw."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from riskdesk.approvals import selectors, services
from riskdesk.approvals.models import ChangeRequest
from riskdesk.site.api import Forbidden, require

router = Router(tags=["approvals"])


class ActionOut(Schema):
    kind: str
    actor: str | None
    step: int | None
    comment: str
    at: datetime


class RequestOut(Schema):
    id: int
    flow: str
    target_key: str
    target_label: str
    status: str
    maker: str
    note: str
    created_at: datetime
    closed_at: datetime | None
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]
    step: int
    waiting_for: str | None
    failure: str
    actions: list[ActionOut]


class ListFilters(Schema):
    flow: str | None = None
    status: str | None = None
    maker: str | None = None
    waiting_for_me: bool = False
    limit: int = Field(100, ge=1, le=500)
    before_id: int | None = Field(None, description="Page: requests with a smaller id")


class CommentIn(Schema):
    comment: str = ""


def _out(change: ChangeRequest, with_actions: bool = True) -> dict:
    return {
        "id": change.pk,
        "flow": change.flow,
        "target_key": change.target_key,
        "target_label": change.target_label,
        "status": change.status,
        "maker": change.maker.username,
        "note": change.note,
        "created_at": change.created_at,
        "closed_at": change.closed_at,
        "before": change.before,
        "after": change.payload,
        "steps": change.steps,
        "step": change.step,
        "waiting_for": change.current_role or None,
        "failure": change.failure,
        "actions": [
            {
                "kind": a.kind,
                "actor": a.actor.username if a.actor else None,
                "step": a.step,
                "comment": a.comment,
                "at": a.at,
            }
            for a in change.actions.select_related("actor")
        ]
        if with_actions
        else [],
    }


@router.get("/approvals", response=list[RequestOut], summary="List change requests, newest first")
def list_requests(request, filters: Query[ListFilters]):
    require(request, "approvals.view_changerequest")
    qs = ChangeRequest.objects.select_related("maker").order_by("-id")
    if filters.waiting_for_me:
        qs = selectors.waiting_for(request.user, qs)
    if filters.flow:
        qs = qs.filter(flow=filters.flow)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.maker:
        qs = qs.filter(maker__username=filters.maker)
    if filters.before_id:
        qs = qs.filter(pk__lt=filters.before_id)
    return [_out(c, with_actions=False) for c in qs[: filters.limit]]


@router.get(
    "/approvals/{request_id}", response=RequestOut, summary="Read a change request with its actions"
)
def read_request(request, request_id: int):
    require(request, "approvals.view_changerequest")
    return _out(get_object_or_404(ChangeRequest.objects.select_related("maker"), pk=request_id))


def submit_change(request, *, flow: str, target, payload: dict, note: str = ""):
    """The one answer of every endpoint that proposes a change (PL-3): 201 with the request as
    ``GET /approvals/{id}`` shows it; 422 naming the refused field; 403 when the role may not
    submit; 409 with ``request_id`` when another pending request is in the way."""
    try:
        change = services.submit(
            flow=flow, target=target, payload=payload, maker=request.user, note=note
        )
    except ValidationError as exc:
        field, reason = services.first_error(exc)
        return Status(422, {"field": field, "reason": reason, "request_id": None})
    except services.ApprovalError as exc:
        status = 403 if exc.field == "maker" else 409 if exc.existing is not None else 422
        return Status(
            status,
            {
                "field": exc.field,
                "reason": str(exc),
                "request_id": exc.existing.pk if exc.existing else None,
            },
        )
    return Status(201, _out(ChangeRequest.objects.select_related("maker").get(pk=change.pk)))


class ErrorOut(Schema):
    field: str
    reason: str
    request_id: int | None = None


SUBMIT_RESPONSES = {201: RequestOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _act(request, request_id: int, verb: str, body: CommentIn):
    require(request, "approvals.view_changerequest")
    get_object_or_404(ChangeRequest, pk=request_id)
    fn = {"approve": services.approve, "reject": services.reject, "withdraw": services.withdraw}[
        verb
    ]
    try:
        change = fn(request_id=request_id, user=request.user, comment=body.comment)
    except services.ApprovalError as exc:
        raise Forbidden(str(exc)) from None
    return _out(ChangeRequest.objects.select_related("maker").get(pk=change.pk))


@router.post(
    "/approvals/{request_id}/approve",
    response=RequestOut,
    summary="Approve the current step (applies on the last)",
)
def approve(request, request_id: int, body: CommentIn):
    return _act(request, request_id, "approve", body)


@router.post(
    "/approvals/{request_id}/reject", response=RequestOut, summary="Reject (a comment is required)"
)
def reject(request, request_id: int, body: CommentIn):
    return _act(request, request_id, "reject", body)


@router.post(
    "/approvals/{request_id}/withdraw",
    response=RequestOut,
    summary="Withdraw your own pending request",
)
def withdraw(request, request_id: int, body: CommentIn):
    return _act(request, request_id, "withdraw", body)
