"""Liquidation endpoints (MC-1, MC-2, MC-10): the planner's proposal with the figures after,
placing orders (idempotent by ``Idempotency-Key``), the orders with cancel, batch liquidation,
and a call's deadline. Refusals are 422 ``{field, reason}``; permissions are checked by the
services as well as here."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from riskdesk.book.models import Account
from riskdesk.engine.money import fmt_amount, fmt_ratio
from riskdesk.liquidation import services
from riskdesk.liquidation.models import LiquidationOrder
from riskdesk.liquidation.pages import VIEW
from riskdesk.liquidation.services import CHANGE_DEADLINE, LIQUIDATE
from riskdesk.margincall.models import MarginCall
from riskdesk.margincall.pages import VIEW as VIEW_CALLS
from riskdesk.site.api import require

router = Router(tags=["liquidation"])


class ErrorOut(Schema):
    field: str
    reason: str


class LineOut(Schema):
    instrument: str
    side: str = Field(description="sell (a long) | buy (back a short)")
    quantity: int
    price: str
    consideration: str = Field(description="quantity × price × multiplier, instrument currency")
    currency: str


class ProposalOut(Schema):
    account: str
    cured: bool = Field(description="after the lines: no alert and back at the MCM level")
    lines: list[LineOut]
    before: dict[str, str]
    after: dict[str, str]


class LineIn(Schema):
    instrument: str
    quantity: int = Field(gt=0)


class PlaceIn(Schema):
    account: str
    lines: list[LineIn] = Field(min_length=1)


class OrderOut(Schema):
    id: int
    order_id: str
    account: str
    call: int | None
    instrument: str
    side: str
    quantity: int
    filled_quantity: int
    average_price: str | None
    status: str
    source: str
    gateway: str
    reason: str
    created_at: datetime
    updated_at: datetime


class OrderFilters(Schema):
    status: str | None = None
    account: str | None = None
    limit: int = Field(200, ge=1, le=5000)


class CancelIn(Schema):
    reason: str = ""


class BatchIn(Schema):
    calls: list[int] = Field(min_length=1)
    only: list[str] = Field(default_factory=list, description="only these stocks; empty = any")


class BatchOut(Schema):
    id: int
    summary: dict[str, str]
    orders: list[OrderOut]


class DeadlineIn(Schema):
    deadline: date
    auto_liquidate: bool = True
    note: str = ""


def _figures(f) -> dict[str, str]:
    return {
        "alert": f.alert,
        "call_amount": fmt_amount(f.call_amount),
        "lna": fmt_amount(f.lna),
        "equity": fmt_amount(f.equity),
        "nar": fmt_ratio(f.nar),
        "loan": fmt_amount(f.loan),
        "req_mcm": fmt_amount(f.req.mcm),
        "req_mm": fmt_amount(f.req.mm),
        "req_fm": fmt_amount(f.req.fm),
    }


def _order(o: LiquidationOrder) -> dict:
    return {
        "id": o.pk,
        "order_id": o.client_order_id,
        "account": o.account.number,
        "call": o.call_id,
        "instrument": o.instrument.code,
        "side": o.side,
        "quantity": o.quantity,
        "filled_quantity": o.filled_quantity,
        "average_price": None if o.average_price is None else str(o.average_price),
        "status": o.status,
        "source": o.source,
        "gateway": o.gateway,
        "reason": o.reason,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def _orders(qs):
    return qs.select_related("account", "instrument")


@router.get(
    "/accounts/{number}/proposal",
    response={200: ProposalOut, 404: ErrorOut},
    summary="The planner's proposal: fewest closes that cure, with the figures after (MC-1)",
)
def proposal(request, number: str, only: str = ""):
    require(request, VIEW)
    account = get_object_or_404(Account, number=number)
    codes = [c.strip() for c in only.split(",") if c.strip()] or None
    found = services.propose(account, only=codes)
    return {
        "account": account.number,
        "cured": found.plan.cured,
        "lines": services.plan_rows(found),
        "before": _figures(found.plan.before),
        "after": _figures(found.plan.after),
    }


@router.post(
    "/orders",
    response={201: list[OrderOut], 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Place closing orders on an account, all or none; Idempotency-Key (MC-1, MC-10)",
)
def place(request, body: PlaceIn):
    require(request, LIQUIDATE)
    account = get_object_or_404(Account, number=body.account)
    orders = services.place(
        account,
        [(line.instrument, line.quantity) for line in body.lines],
        user=request.user,
        request_key=request.headers.get("Idempotency-Key", "")[:64],
    )
    ids = [o.pk for o in orders]
    return Status(201, [_order(o) for o in _orders(LiquidationOrder.objects.filter(pk__in=ids))])


@router.get("/orders", response=list[OrderOut], summary="Liquidation orders, newest first (MC-10)")
def list_orders(request, filters: Query[OrderFilters]):
    require(request, VIEW)
    qs = LiquidationOrder.objects.order_by("-id")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.account:
        qs = qs.filter(account__number=filters.account)
    return [_order(o) for o in _orders(qs)[: filters.limit]]


@router.get("/orders/{order_id}", response={200: OrderOut, 404: ErrorOut})
def get_order(request, order_id: int):
    require(request, VIEW)
    return _order(get_object_or_404(_orders(LiquidationOrder.objects), pk=order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Cancel a live order's open quantity (MC-10: placed in error)",
)
def cancel(request, order_id: int, body: CancelIn):
    require(request, LIQUIDATE)
    order = get_object_or_404(LiquidationOrder, pk=order_id)
    services.cancel(order, user=request.user, reason=body.reason)
    return _order(_orders(LiquidationOrder.objects).get(pk=order_id))


@router.post(
    "/batch",
    response={201: BatchOut, 403: ErrorOut, 422: ErrorOut},
    summary="Batch liquidation of open calls, optionally only some stocks (MC-2; switch on)",
)
def batch(request, body: BatchIn):
    require(request, LIQUIDATE)
    calls = list(MarginCall.objects.filter(pk__in=body.calls).select_related("account"))
    done = services.batch_liquidate(calls, user=request.user, only=body.only or None)
    return Status(
        201,
        {
            "id": done.pk,
            "summary": done.summary,
            "orders": [_order(o) for o in _orders(done.orders.order_by("id"))],
        },
    )


@router.post(
    "/calls/{call_id}/deadline",
    response={200: dict, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Change one call's deadline and whether it is auto-liquidated (MC-1)",
)
def deadline(request, call_id: int, body: DeadlineIn):
    require(request, VIEW_CALLS)
    require(request, CHANGE_DEADLINE)
    call = get_object_or_404(MarginCall, pk=call_id)
    call = services.change_deadline(
        call,
        user=request.user,
        deadline=body.deadline,
        auto_liquidate=body.auto_liquidate,
        note=body.note,
    )
    return {"deadline": call.deadline.isoformat(), "auto_liquidate": call.auto_liquidate}
