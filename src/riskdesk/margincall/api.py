"""Margin-call endpoints (MC-1 … MC-5): open calls with their totals, one call with its
history and snapshots, a snapshot's scenario and figures, and the officer's note and exception
flag."""

from datetime import date, datetime
from typing import Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from riskdesk.engine.money import fmt_amount
from riskdesk.margincall import services
from riskdesk.margincall.models import MarginCall, MarginCallSnapshot
from riskdesk.margincall.pages import ANNOTATE, VIEW
from riskdesk.site.api import require

router = Router(tags=["margin calls"])


class CallOut(Schema):
    id: int
    account: str
    account_type: str
    client: str
    status: str = Field(description="open | ended")
    alert: str = Field(description="margin_call | force_close")
    triggered_at: datetime
    deadline: date
    ended_at: datetime | None
    triggered_hours: int = Field(description="Hours since triggered, a part hour counts as one")
    call_amount: str
    nar: str
    lna: str
    equity: str
    req_im: str
    req_mcm: str
    req_mm: str
    req_fm: str
    loan: str
    credit_limit: str | None
    trading_credit: str
    cash: str
    market_value: str
    note: str
    exception: bool
    updated_at: datetime


class CallsOut(Schema):
    total_call_amount: str = Field(description="合计追保金额 of the selected calls")
    long_outstanding_call_amount: str = Field(
        description="长期未结清追保金额: those triggered more than 90 days ago"
    )
    count: int
    items: list[CallOut]


class EventOut(Schema):
    id: int
    kind: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: str | None


class CallDetailOut(CallOut):
    events: list[EventOut]
    snapshots: list[int]


class SnapshotOut(Schema):
    id: int
    call: int
    reason: str
    at: datetime
    scenario: dict[str, Any]
    figures: dict[str, Any]


class AnnotateIn(Schema):
    note: str = ""
    exception: bool = False


class ErrorOut(Schema):
    field: str
    reason: str


class CallFilters(Schema):
    type: Literal["margin", "intraday"] | None = Field(None, description="account type")
    alert: Literal["margin_call", "force_close"] | None = None
    exception: bool | None = None
    limit: int = Field(500, ge=1, le=5000)


def _out(call: MarginCall) -> dict:
    end = call.ended_at
    return {
        "id": call.pk,
        "account": call.account.number,
        "account_type": call.account.type,
        "client": call.account.client.code,
        "status": call.status,
        "alert": call.alert,
        "triggered_at": call.triggered_at,
        "deadline": call.deadline,
        "ended_at": end,
        "triggered_hours": services.triggered_hours(call),
        **{
            k: fmt_amount(getattr(call, k))
            for k in (
                "call_amount",
                "lna",
                "equity",
                "req_im",
                "req_mcm",
                "req_mm",
                "req_fm",
                "loan",
                "trading_credit",
                "cash",
                "market_value",
            )
        },
        "nar": str(call.nar),
        "credit_limit": None if call.credit_limit is None else fmt_amount(call.credit_limit),
        "note": call.note,
        "exception": call.exception,
        "updated_at": call.updated_at,
    }


@router.get("", response=CallsOut, summary="Open margin calls with their totals (MC-1, MC-3)")
def list_calls(request, filters: Query[CallFilters]):
    require(request, VIEW)
    qs = MarginCall.objects.filter(status=MarginCall.Status.OPEN)
    if filters.type:
        qs = qs.filter(account__type=filters.type)
    if filters.alert:
        qs = qs.filter(alert=filters.alert)
    if filters.exception is not None:
        qs = qs.filter(exception=filters.exception)
    totals = services.open_calls_summary(qs)
    calls = qs.select_related("account__client").order_by("-triggered_at", "-pk")
    return {
        "total_call_amount": fmt_amount(totals["call_amount"]),
        "long_outstanding_call_amount": fmt_amount(totals["long_call_amount"]),
        "count": totals["count"],
        "items": [_out(c) for c in calls[: filters.limit]],
    }


@router.get(
    "/snapshots/{snapshot_id}",
    response={200: SnapshotOut, 404: ErrorOut},
    summary="A snapshot: its scenario file and figures (MC-5)",
)
def get_snapshot(request, snapshot_id: int):
    require(request, VIEW)
    snap = get_object_or_404(MarginCallSnapshot, pk=snapshot_id)
    return {
        "id": snap.pk,
        "call": snap.call_id,
        "reason": snap.reason,
        "at": snap.at,
        "scenario": snap.scenario,
        "figures": snap.figures,
    }


def _detail(call: MarginCall) -> dict:
    return {
        **_out(call),
        "events": [
            {
                "id": e.pk,
                "kind": e.kind,
                "at": e.at,
                "before": e.before,
                "after": e.after,
                "actor": e.actor.username if e.actor else None,
            }
            for e in call.events.select_related("actor")
        ],
        "snapshots": list(call.snapshots.order_by("-at").values_list("pk", flat=True)),
    }


@router.get(
    "/{call_id}",
    response={200: CallDetailOut, 404: ErrorOut},
    summary="A margin call with its history (MC-4) and snapshot ids (MC-5)",
)
def get_call(request, call_id: int):
    require(request, VIEW)
    call = get_object_or_404(MarginCall.objects.select_related("account__client"), pk=call_id)
    return _detail(call)


@router.post(
    "/{call_id}/annotate",
    response={200: CallDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="Set the call's note and exception flag (异常单)",
)
def annotate_call(request, call_id: int, payload: AnnotateIn):
    require(request, ANNOTATE)

    call = get_object_or_404(MarginCall, pk=call_id)
    services.annotate(call=call, user=request.user, note=payload.note, exception=payload.exception)
    call = MarginCall.objects.select_related("account__client").get(pk=call.pk)
    return _detail(call)
