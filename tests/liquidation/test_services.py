"""Liquidation services (MC-1, MC-2, MC-10, PL-12) on the simulated exchange, with the figures
of ``liq_book`` (see conftest): a call of 17,500 that selling 300 700.HK at 150 cures."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from riskdesk.book.models import BookEvent, CashBalance, Position
from riskdesk.liquidation import services
from riskdesk.liquidation.gateways import Report
from riskdesk.liquidation.models import Execution, LiquidationOrder
from riskdesk.liquidation.services import LiquidationError
from riskdesk.margincall.models import MarginCall, MarginCallEvent
from riskdesk.margincall.monitor import process_all


@pytest.fixture(autouse=True)
def committed(django_capture_on_commit_callbacks):
    """The simulated exchange answers when the order's transaction commits; the test's
    transaction never does, so run each service call's on-commit callbacks as it returns."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def qty(number="M1", code="700.HK"):
    return Position.objects.get(account__number=number, instrument__code=code).quantity


def hkd(number="M1"):
    return CashBalance.objects.get(account__number=number, currency="HKD").balance


def test_proposal_is_the_planners_cure(committed, crash):
    call = crash()
    assert call.call_amount == Decimal("17500.00")
    proposal = services.propose(call.account)
    assert [(x.code, x.side, x.quantity) for x in proposal.plan.lines] == [("700.HK", "sell", 300)]
    assert proposal.plan.after.req.mcm == Decimal("47250.00")
    assert proposal.plan.cured


def test_place_fills_at_last_price_moves_the_book_once_and_ends_the_call(committed, crash, users):
    call = crash()
    orders = committed(services.place, call.account, [("700.HK", 300)], user=users["officer"])
    order = LiquidationOrder.objects.get(pk=orders[0].pk)
    assert order.status == "filled" and order.filled_quantity == 300
    assert order.average_price == Decimal("150") and order.call_id == call.pk
    assert order.side == "sell" and order.gateway == "simulated"
    assert qty() == 700
    assert hkd() == Decimal("-55000.00")  # −100,000 + 300 × 150
    fill = BookEvent.objects.get(key=f"liq:simulated:{order.client_order_id}-fill")
    assert fill.kind == "trade_fill" and fill.payload["quantity"] == 300
    assert list(order.executions.values_list("exec_type", flat=True)) == ["new", "trade"]
    assert MarginCallEvent.objects.filter(call=call, kind="liquidation").count() == 1

    process_all()
    call.refresh_from_db()
    assert call.status == "ended"
    assert call.events.last().after["alert"] == "none"


def test_the_same_report_twice_changes_nothing(committed, crash, users):
    call = crash()
    (order,) = committed(services.place, call.account, [("700.HK", 300)], user=users["officer"])
    events = BookEvent.objects.count()
    again = Report(
        order.client_order_id, f"{order.client_order_id}-fill", "trade", 300, Decimal(150)
    )
    assert services.apply_report(again, gateway="simulated") is False
    assert qty() == 700 and hkd() == Decimal("-55000.00")
    assert BookEvent.objects.count() == events
    assert Execution.objects.filter(order=order).count() == 2


def test_the_same_request_key_places_once(committed, crash, users):
    call = crash()
    first = committed(
        services.place, call.account, [("700.HK", 100)], user=users["officer"], request_key="form-1"
    )
    second = committed(
        services.place, call.account, [("700.HK", 100)], user=users["officer"], request_key="form-1"
    )
    assert [o.pk for o in first] == [o.pk for o in second]
    assert LiquidationOrder.objects.count() == 1 and qty() == 900


@pytest.mark.parametrize(
    "lines, reason",
    [
        ([("700.HK", 1001)], "1001 exceeds the 1000"),
        ([("AAPL.US", 1)], "holds no priced position"),
        ([("700.HK", 0)], "whole number above 0"),
        ([("700.HK", 100), ("700.HK", 100)], "listed twice"),
        ([], "at least one"),
    ],
)
def test_bad_lines_are_refused_whole(committed, crash, users, lines, reason):
    call = crash()
    with pytest.raises(LiquidationError, match=reason):
        committed(services.place, call.account, lines, user=users["officer"])
    assert not LiquidationOrder.objects.exists() and qty() == 1000


def test_only_the_liquidate_permission_places_or_cancels(committed, crash, users):
    call = crash()
    for name in ("auditor", "approver", "clearing"):
        with pytest.raises(PermissionDenied):
            committed(services.place, call.account, [("700.HK", 100)], user=users[name])
    assert not LiquidationOrder.objects.exists()


def test_an_order_in_a_suspended_stock_rests_counts_as_closing_and_can_be_cancelled(
    committed, crash, users, liq_book
):
    call = crash()
    liq_book["tencent"].status = "suspended"
    liq_book["tencent"].save()
    (order,) = committed(services.place, call.account, [("700.HK", 600)], user=users["officer"])
    order.refresh_from_db()
    assert order.status == "working" and order.filled_quantity == 0
    # 600 are being closed: only 400 more may be.
    with pytest.raises(LiquidationError, match="500 exceeds the 400"):
        committed(services.place, call.account, [("700.HK", 500)], user=users["officer"])
    committed(services.cancel, order, user=users["officer"], reason="placed in error")
    order.refresh_from_db()
    assert order.status == "cancelled" and order.cancelled_by == users["officer"]
    assert order.reason == "placed in error"
    assert qty() == 1000 and hkd() == Decimal("-100000.00")
    with pytest.raises(LiquidationError, match="nothing to cancel"):
        committed(services.cancel, order, user=users["officer"])


def test_batch_needs_the_switch_which_needs_approval(committed, crash, users, approve_parameters):
    call = crash()
    with pytest.raises(LiquidationError, match="switched off"):
        committed(services.batch_liquidate, [call], user=users["officer"])
    assert not LiquidationOrder.objects.exists()
    params = approve_parameters(batch_enabled=True)
    assert params.batch_enabled and not params.auto_enabled
    batch = committed(services.batch_liquidate, [call], user=users["officer"])
    assert batch.summary == {"M1": "1 order(s)"}
    (order,) = batch.orders.all()
    assert (order.instrument.code, order.quantity, order.source) == ("700.HK", 300, "batch")


def test_batch_only_some_stocks(committed, crash, users, approve_parameters, post):
    """M1 also holds 100 AAPL.US bought with its own USD 20,000; AAPL has no ratio (100%).
    At 700.HK 150: equity 206,000 (−100,000 + 150,000 + 156,000), req MM 216,000 → call of
    req MCM 223,500 − 206,000 = 17,500. Selling AAPL frees 1,560 of requirement per share:
    the planner prefers it (factor 1 > 0.45), 17,500 / 1,560 = 11.2 → 12 shares. Restricted to
    700.HK the batch sells 300 700.HK instead (67.5 per share, as without AAPL)."""
    post("deposit", account="M1", currency="USD", amount="20000")
    post("trade_fill", account="M1", instrument="AAPL.US", side="buy", quantity=100, price="200")
    call = crash()
    assert call.call_amount == Decimal("17500.00")
    proposal = services.propose(call.account)
    assert [(x.code, x.quantity) for x in proposal.plan.lines] == [("AAPL.US", 12)]
    assert proposal.plan.after.req.mcm == Decimal("204780.00")  # 67,500 + 88 × 1,560
    approve_parameters(batch_enabled=True)
    batch = committed(services.batch_liquidate, [call], user=users["officer"], only=["700.HK"])
    (order,) = batch.orders.all()
    assert (order.instrument.code, order.quantity) == ("700.HK", 300)
    assert batch.summary == {"M1": "1 order(s)"}
    with pytest.raises(LiquidationError, match="unknown instrument NOPE"):
        committed(services.batch_liquidate, [call], user=users["officer"], only=["NOPE"])


def test_auto_liquidation_of_calls_due_only_when_on(committed, crash, users, approve_parameters):
    call = crash()
    today = call.deadline
    assert committed(services.auto_liquidate, today) is None  # off
    approve_parameters(auto_enabled=True, auto_time="15:30")
    assert (
        committed(services.auto_liquidate, call.deadline - timedelta(days=1)) is None
    )  # not due yet
    MarginCall.objects.filter(pk=call.pk).update(auto_liquidate=False)
    assert committed(services.auto_liquidate, today) is None  # exempted
    MarginCall.objects.filter(pk=call.pk).update(auto_liquidate=True)
    batch = committed(services.auto_liquidate, today)
    (order,) = batch.orders.all()
    assert (order.quantity, order.source, order.created_by) == (300, "auto", None)
    process_all()
    call.refresh_from_db()
    assert call.status == "ended"


def test_auto_liquidation_job_runs_at_the_approved_time(committed, crash, approve_parameters):
    from zoneinfo import ZoneInfo

    from riskdesk.jobs.scheduler import JOBS, due

    job = next(j for j in JOBS if j.name == "auto-liquidation")
    approve_parameters(auto_enabled=True, auto_time="14:45")
    hk = ZoneInfo("Asia/Hong_Kong")
    monday = date(2026, 11, 23)
    assert not due(job, timezone.datetime(2026, 11, 23, 14, 44, tzinfo=hk))
    assert due(job, timezone.datetime(2026, 11, 23, 14, 45, tzinfo=hk))
    assert monday.weekday() == 0


def test_deadline_change_is_validated_and_recorded(committed, crash, users):
    from riskdesk.calendars.selectors import next_trading_day

    call = crash()
    officer = users["officer"]
    today = timezone.localdate()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    with pytest.raises(LiquidationError, match="not a HK trading day"):
        services.change_deadline(call, user=officer, deadline=saturday, auto_liquidate=True)
    with pytest.raises(LiquidationError, match="in the past"):
        services.change_deadline(
            call, user=officer, deadline=today - timedelta(days=1), auto_liquidate=True
        )
    with pytest.raises(PermissionDenied):
        services.change_deadline(
            call, user=users["auditor"], deadline=call.deadline, auto_liquidate=False
        )
    later = next_trading_day("HK", call.deadline, 2)
    services.change_deadline(
        call, user=officer, deadline=later, auto_liquidate=False, note="client wiring funds"
    )
    call.refresh_from_db()
    assert call.deadline == later and call.auto_liquidate is False
    event = call.events.get(kind="deadline")
    assert event.after == {
        "deadline": later.isoformat(),
        "auto_liquidate": False,
        "note": "client wiring funds",
    }
    assert event.before["auto_liquidate"] is True and event.actor == officer


def test_reject_ends_an_order_even_while_a_cancel_is_pending_and_gateways_do_not_mix(
    committed, crash, users, liq_book
):
    """A refused cancel lets the order work on; a rejected order is finished whatever was asked;
    a report from another gateway than the order's is refused."""
    call = crash()
    liq_book["tencent"].status = "suspended"
    liq_book["tencent"].save()
    (order,) = committed(services.place, call.account, [("700.HK", 100)], user=users["officer"])
    ref = order.client_order_id
    with pytest.raises(LiquidationError, match="sent by simulated, not fix"):
        services.apply_report(Report(ref, "x-1", "rejected", text="no"), gateway="fix")
    LiquidationOrder.objects.filter(pk=order.pk).update(status="cancel_pending")
    services.apply_report(
        Report(ref, "r-1", "cancel_rejected", text="too late"), gateway="simulated"
    )
    order.refresh_from_db()
    assert (order.status, order.reason) == ("working", "too late")
    LiquidationOrder.objects.filter(pk=order.pk).update(status="cancel_pending")
    services.apply_report(Report(ref, "r-2", "rejected", text="halted"), gateway="simulated")
    order.refresh_from_db()
    assert (order.status, order.reason) == ("rejected", "halted")
    assert qty() == 1000
