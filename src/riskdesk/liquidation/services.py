"""Liquidation (MC-1, MC-2, MC-10): propose, place, cancel, and apply what the gateway reports.

Every write checks its permission here, not only in the page: ``liquidation.liquidate`` to
place or cancel, the switch (PL-12) for a batch. Placing is all-or-nothing and idempotent by
request key; an order may never close more than the position still open after the account's
other live orders, so a double click cannot sell twice. Fills are book trade fills keyed by the
execution, so the monitor sees them like any fill and ends the call when it is cured.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from riskdesk.book.errors import BookError
from riskdesk.book.models import Account, Instrument
from riskdesk.book.selectors import fx_table
from riskdesk.book.services import post_event
from riskdesk.engine import liquidation as planner
from riskdesk.engine.money import fmt_amount
from riskdesk.liquidation.gateways import Report, gateway
from riskdesk.liquidation.models import (
    Execution,
    LiquidationBatch,
    LiquidationOrder,
    LiquidationParameters,
)
from riskdesk.margin.resolution import Resolver
from riskdesk.margincall.models import MarginCall, MarginCallEvent

log = logging.getLogger(__name__)

LIQUIDATE = "liquidation.liquidate"
CHANGE_DEADLINE = "margincall.change_deadline"
#: Liquidity rank by kind (0 = most liquid): the planner sells shares before derivatives.
LIQUIDITY = {"stock": 0, "etf": 0, "warrant": 1, "option": 2}


class LiquidationError(BookError):
    """A refused liquidation request: the field at fault and why (shown as-is; 422 in the API)."""


def parameters() -> LiquidationParameters:
    return LiquidationParameters.objects.get(pk=1)


def _require(user, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied(perm)


# --- the account as the planner sees it ----------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    account: Account
    state: planner.AccountState
    plan: planner.Plan
    instruments: dict[str, Instrument]
    live: dict[str, int]  # quantity already in live orders, by code


def live_quantities(account) -> dict[str, int]:
    """Open quantity of the account's live orders, by instrument code."""
    rows = (
        LiquidationOrder.objects.filter(account=account, status__in=LiquidationOrder.LIVE)
        .values("instrument__code")
        .annotate(open=Sum(F("quantity") - F("filled_quantity")))
    )
    return {r["instrument__code"]: int(r["open"]) for r in rows}


def account_state(account, *, at: datetime | None = None):
    """The planner's view of ``account``: each priced position with its resolved ratio (MR-6),
    net of what live orders are already closing; cash by currency; FX."""
    fx = fx_table()
    resolver = Resolver(account, at=at)
    live = live_quantities(account)
    positions, instruments = [], {}
    rows = (
        account.positions.exclude(quantity=0)
        .select_related("instrument", "instrument__price")
        .order_by("instrument__code")
    )
    for p in rows:
        inst = p.instrument
        price = getattr(inst, "price", None)
        if price is None:
            continue
        instruments[inst.code] = inst
        resolved = resolver.resolve(inst, "long" if p.quantity > 0 else "short")
        positions.append(
            planner.Position(
                code=inst.code,
                quantity=p.quantity,
                price=price.last,
                currency=inst.currency,
                fx_rate=fx.get(inst.currency, Decimal(0)),
                factors=resolved.factors,
                status=inst.status,
                multiplier=inst.multiplier,
                lot_size=inst.lot_size,
                liquidity=LIQUIDITY.get(inst.kind, 3),
            )
        )
    state = planner.AccountState(
        positions=tuple(positions),
        cash={b.currency: b.balance for b in account.balances.all()},
        fx=fx,
        base_currency=settings.RISKDESK_BASE_CURRENCY,
        interest_receivable=account.interest_receivable,
    )
    # What live orders are closing is as good as gone: plan on the rest.
    pending = [(code, q) for code, q in live.items() if code in instruments and q > 0]
    if pending:
        state = planner.apply(state, pending)
    return state, instruments, live


def propose(account, *, only: Sequence[str] | None = None) -> Proposal:
    """The planner's proposal for ``account`` (MC-1): fewest closing trades that cure."""
    state, instruments, live = account_state(account)
    return Proposal(account, state, planner.plan(state, only=only), instruments, live)


def check_lines(state: planner.AccountState, lines: Sequence[tuple[str, int]]) -> None:
    if not lines:
        raise LiquidationError("lines", "choose at least one position and quantity")
    held = {p.code: p for p in state.positions}
    seen = set()
    for i, (code, quantity) in enumerate(lines):
        field = f"lines.{i}"
        if code in seen:
            raise LiquidationError(field, f"{code} is listed twice")
        seen.add(code)
        if code not in held:
            raise LiquidationError(field, f"{code}: the account holds no priced position in it")
        if not isinstance(quantity, int) or quantity <= 0:
            raise LiquidationError(field, f"{code}: quantity must be a whole number above 0")
        open_ = abs(held[code].quantity)
        if quantity > open_:
            raise LiquidationError(
                field,
                f"{code}: {quantity} exceeds the {open_} not already being closed by live orders",
            )


# --- placing, cancelling ------------------------------------------------------------------


def _order_id() -> str:
    return f"LQ{timezone.now():%y%m%d}{secrets.token_hex(5).upper()}"


def place(
    account,
    lines: Sequence[tuple[str, int]],
    *,
    user,
    source: str = LiquidationOrder.Source.MANUAL,
    request_key: str = "",
    batch: LiquidationBatch | None = None,
) -> list[LiquidationOrder]:
    """Place closing orders for ``lines`` [(code, quantity)] on ``account``: all or none.

    Sides follow the positions (sell a long, buy back a short). The same ``request_key`` again
    returns the orders it placed the first time and places nothing (a resubmitted form).
    """
    _require(user, LIQUIDATE)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if request_key:  # under the account's lock, so two deliveries at once place once
            done = list(LiquidationOrder.objects.filter(request_key=request_key).order_by("id"))
            if done:
                return done
        if account.status != Account.Status.ACTIVE:
            raise LiquidationError("account", f"{account.number} is closed")
        state, instruments, _live = account_state(account)
        check_lines(state, lines)
        by_code = {p.code: p for p in state.positions}
        call = MarginCall.objects.filter(account=account, status=MarginCall.Status.OPEN).first()
        gw = gateway()
        now = timezone.now()
        orders = []
        for code, quantity in lines:
            position = by_code[code]
            orders.append(
                LiquidationOrder.objects.create(
                    client_order_id=_order_id(),
                    request_key=request_key,
                    account=account,
                    call=call,
                    batch=batch,
                    instrument=instruments[code],
                    side="sell" if position.quantity > 0 else "buy",
                    quantity=quantity,
                    reference_price=position.price,
                    gateway=gw.name,
                    source=source,
                    created_at=now,
                    updated_at=now,
                    created_by=user,
                )
            )
        if call is not None:
            MarginCallEvent.objects.create(
                call=call,
                kind=MarginCallEvent.Kind.LIQUIDATION,
                at=now,
                actor=user,
                after={
                    "orders": [
                        f"{o.client_order_id} {o.side} {o.quantity} {code}"
                        for o, (code, _q) in zip(orders, lines, strict=True)
                    ]
                },
            )
        for order in orders:
            gw.place(order)
    return orders


def cancel(order: LiquidationOrder, *, user, reason: str = "") -> LiquidationOrder:
    """Ask the gateway to cancel a live order's open quantity (MC-10: placed in error)."""
    _require(user, LIQUIDATE)
    with transaction.atomic():
        order = LiquidationOrder.objects.select_for_update().get(pk=order.pk)
        if order.status not in (
            LiquidationOrder.Status.PENDING,
            LiquidationOrder.Status.WORKING,
            LiquidationOrder.Status.PARTIAL,
        ):
            raise LiquidationError(
                "order",
                f"{order.client_order_id} is {order.get_status_display()}: nothing to cancel",
            )
        order.status = LiquidationOrder.Status.CANCEL_PENDING
        order.cancelled_by = user
        order.reason = reason
        order.cancel_sent_at = None  # a new cancel request: the gateway sends it again
        order.updated_at = timezone.now()
        order.save(
            update_fields=["status", "cancelled_by", "reason", "cancel_sent_at", "updated_at"]
        )
        gateway(order.gateway).cancel(order)
    return order


# --- what the gateway reports -------------------------------------------------------------


def apply_report(report: Report, *, gateway: str) -> bool:
    """Apply one execution report; False when it was already applied (same exec id).

    A trade posts a book trade fill keyed ``liq:<gateway>:<exec id>`` in the same transaction
    as the order's new state, so the fill and the order move together, once. A fill reported
    on an order already cancelled or rejected is still booked (the shares did change hands)
    but leaves its final status. ``cancel_rejected`` is a refused cancel: the order works on.
    """
    Status = LiquidationOrder.Status
    with transaction.atomic():
        order = (
            LiquidationOrder.objects.select_for_update()
            .select_related("account", "instrument")
            .filter(client_order_id=report.client_order_id)
            .first()
        )
        if order is None:
            raise LiquidationError("client_order_id", f"unknown order {report.client_order_id}")
        if order.gateway != gateway:
            raise LiquidationError(
                "gateway", f"{order.client_order_id} was sent by {order.gateway}, not {gateway}"
            )
        if Execution.objects.filter(gateway=gateway, exec_id=report.exec_id).exists():
            return False
        execution = Execution(
            order=order,
            gateway=gateway,
            exec_id=report.exec_id,
            exec_type=report.exec_type,
            last_quantity=report.last_quantity,
            last_price=report.last_price,
            text=report.text,
        )
        if report.exec_type == "new":
            if order.status == Status.PENDING:
                order.status = Status.WORKING
        elif report.exec_type == "trade":
            leaves = order.quantity - order.filled_quantity
            if not 0 < report.last_quantity <= leaves or not report.last_price:
                raise LiquidationError(
                    "last_quantity",
                    f"{order.client_order_id}: fill of {report.last_quantity} with "
                    f"{leaves} open, price {report.last_price}",
                )
            outcome = post_event(
                kind="trade_fill",
                key=f"liq:{gateway}:{report.exec_id}",
                payload={
                    "account": order.account.number,
                    "instrument": order.instrument.code,
                    "side": order.side,
                    "quantity": report.last_quantity,
                    "price": str(report.last_price),
                    "trade_ref": order.client_order_id,
                },
            )
            execution.book_event_id = outcome.event_id
            filled = order.filled_quantity + report.last_quantity
            value = (order.average_price or 0) * order.filled_quantity
            order.average_price = (value + report.last_price * report.last_quantity) / filled
            order.average_price = order.average_price.quantize(Decimal("0.000001"))
            order.filled_quantity = filled
            if not order.live:
                log.warning("%s: fill after %s, booked", order.client_order_id, order.status)
            elif filled == order.quantity:
                order.status = Status.FILLED
            elif order.status != Status.CANCEL_PENDING:
                order.status = Status.PARTIAL
        elif report.exec_type == "cancelled":
            if order.live:
                order.status = Status.CANCELLED
                order.reason = order.reason or report.text
        elif report.exec_type == "cancel_rejected":
            if order.status == Status.CANCEL_PENDING:
                order.status = Status.PARTIAL if order.filled_quantity else Status.WORKING
            order.reason = report.text  # why the cancel failed, e.g. too late: filled
        elif report.exec_type == "rejected":
            if order.live:
                order.status = Status.REJECTED
                order.reason = report.text
        else:
            raise LiquidationError("exec_type", f"unknown exec type {report.exec_type!r}")
        execution.save()
        order.updated_at = timezone.now()
        order.save()
    return True


# --- batch and auto liquidation (MC-2, MC-1) --------------------------------------------------


def batch_liquidate(
    calls: Iterable[MarginCall],
    *,
    user,
    only: Sequence[str] | None = None,
    kind: str = LiquidationBatch.Kind.BATCH,
) -> LiquidationBatch:
    """Liquidate each open call with the planner's proposal, optionally only ``only`` stocks
    (MC-2). Refused unless the liquidation switch is on (PL-12). Each call is placed whole or
    not at all; the batch's summary says what happened to each."""
    _require(user, LIQUIDATE)
    params = parameters()
    if kind == LiquidationBatch.Kind.BATCH and not params.batch_enabled:
        raise LiquidationError(
            "switch", "batch liquidation is switched off (business parameters › liquidation)"
        )
    codes = sorted(set(only or ()))
    if codes:
        known = set(Instrument.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [c for c in codes if c not in known]
        if missing:
            raise LiquidationError("instruments", f"unknown instrument {missing[0]}")
    calls = list(calls)
    if not calls:
        raise LiquidationError("calls", "choose at least one margin call")
    batch = LiquidationBatch.objects.create(kind=kind, instruments=codes, created_by=user)
    source = (
        LiquidationOrder.Source.AUTO
        if kind == LiquidationBatch.Kind.AUTO
        else LiquidationOrder.Source.BATCH
    )
    results = {}
    for call in calls:
        number = call.account.number
        if call.status != MarginCall.Status.OPEN:
            results[number] = "not open"
            continue
        proposal = propose(call.account, only=codes or None)
        lines = [(line.code, line.quantity) for line in proposal.plan.lines]
        if not lines:
            results[number] = "nothing to close"
            continue
        try:
            orders = place(call.account, lines, user=user, source=source, batch=batch)
        except LiquidationError as exc:
            results[number] = f"refused: {exc}"
            continue
        results[number] = f"{len(orders)} order(s)" + ("" if proposal.plan.cured else ", not cured")
    batch.summary = results
    batch.save(update_fields=["summary"])
    return batch


def due_for_auto(today: date):
    """Open calls to liquidate automatically today: past or at their deadline, not exempted,
    with no live orders already working for the account."""
    busy = LiquidationOrder.objects.filter(status__in=LiquidationOrder.LIVE).values("account_id")
    return (
        MarginCall.objects.filter(
            status=MarginCall.Status.OPEN, auto_liquidate=True, deadline__lte=today
        )
        .exclude(account_id__in=busy)
        .select_related("account")
        .order_by("id")
    )


def auto_liquidate(today: date) -> LiquidationBatch | None:
    """MC-1 自动平仓: at the configured time, liquidate the calls due (PL-8 job)."""
    if not parameters().auto_enabled:
        return None
    calls = list(due_for_auto(today))
    if not calls:
        return None
    return batch_liquidate(calls, user=None, kind=LiquidationBatch.Kind.AUTO)


def change_deadline(
    call: MarginCall, *, user, deadline: date, auto_liquidate: bool, note: str = ""
) -> MarginCall:
    """MC-1: move one call's deadline (a trading day of the home market, not in the past) and
    its auto-liquidation flag; recorded as a call event with before/after (MC-4)."""
    from riskdesk.jobs.calendar import is_trading_day
    from riskdesk.margincall.screening import HOME_MARKET

    _require(user, CHANGE_DEADLINE)
    today = timezone.localdate()
    if deadline < today:
        raise LiquidationError("deadline", "must not be in the past")
    if not is_trading_day(HOME_MARKET, deadline):
        raise LiquidationError("deadline", f"{deadline} is not a {HOME_MARKET} trading day")
    with transaction.atomic():
        call = MarginCall.objects.select_for_update().get(pk=call.pk)
        if call.status != MarginCall.Status.OPEN:
            raise LiquidationError("call", "the call has ended")
        before = {"deadline": call.deadline.isoformat(), "auto_liquidate": call.auto_liquidate}
        after = {"deadline": deadline.isoformat(), "auto_liquidate": auto_liquidate}
        if before == after:
            raise LiquidationError("deadline", "nothing changes")
        if note:
            after["note"] = note
        call.deadline = deadline
        call.auto_liquidate = auto_liquidate
        call.save(update_fields=["deadline", "auto_liquidate"])
        MarginCallEvent.objects.create(
            call=call, kind=MarginCallEvent.Kind.DEADLINE, before=before, after=after, actor=user
        )
    return call


def plan_rows(proposal: Proposal) -> list[dict]:
    """The proposal's lines for a page or the API (amounts as strings)."""
    return [
        {
            "instrument": line.code,
            "side": line.side,
            "quantity": line.quantity,
            "price": str(line.price),
            "consideration": fmt_amount(line.consideration),
            "currency": line.currency,
        }
        for line in proposal.plan.lines
    ]
