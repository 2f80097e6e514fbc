"""MC-1, MC-3, MC-4, MC-5 on the arrays path: ``live.LiveMonitor`` holds the book in arrays and
writes the same margin-call state as the scalar monitor (tests/margincall/test_monitor.py),
with the same cursor, idempotence and crash semantics.

Book (conftest ``call_book``): 700.HK ratio im/mcm/mm/fm = 0.40/0.35/0.30/0.25; M1 holds 1,000
700.HK with cash −200,000 HKD; M2 (C2) holds 100 AAPL.US fully paid (USD 7.8). Screened at Wed
2026-12-23 10:00 HKT.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.margincall import live
from riskdesk.margincall.live import LiveMonitor, _amount_text, _ratio_text
from riskdesk.margincall.models import (
    MarginCall,
    MarginCallEvent,
    MarginCallSnapshot,
    MonitorCursor,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """Arrays and Decimal figures must agree on every snapshot: fail the test if not."""
    monkeypatch.setattr(live, "STRICT", True)
    monkeypatch.setattr(live, "VERIFY", True)


@pytest.fixture
def mon(call_book, monitor_at):
    return LiveMonitor(at=monitor_at)


@pytest.fixture
def run(mon, monitor_at):
    def _run(at=None, monitor=None):
        return (monitor or mon).process_all(at=at or monitor_at)

    return _run


@pytest.fixture
def tick(post, run):
    def _tick(price: str, code: str = "700.HK"):
        post("price_update", prices=[{"instrument": code, "last": price}])
        return run()

    return _tick


def counts():
    return (
        MarginCall.objects.count(),
        MarginCallEvent.objects.count(),
        MarginCallSnapshot.objects.count(),
    )


def the_call(number="M1"):
    return MarginCall.objects.get(account__number=number, status="open")


def test_texts_are_those_of_fmt_amount_and_fmt_ratio():
    from riskdesk.engine.money import fmt_amount, fmt_ratio, from_cents, from_scaled

    for cents in (0, 1, -1, 5, -5, 99, 100, -100, 123456, -123456789, 10**15 + 7):
        assert _amount_text(cents) == fmt_amount(from_cents(cents))
    for micros in (0, 1, -1, 999_999, 1_000_000, -923_077, 230_889, 12_345_678):
        assert _ratio_text(micros) == fmt_ratio(from_scaled(micros, D("0.000001")))


def test_price_drop_opens_a_call_with_the_figures_of_the_scalar_monitor(
    call_book, run, tick, monitor_at
):
    assert run() == 5  # 4 book events + the ratio the fixture set
    assert counts() == (0, 0, 0)
    tick("280")
    call = the_call()
    # mv 280,000; cash −200,000 → equity = lna = 80,000; mm 84,000 > lna ≥ fm 70,000
    # call = mcm 98,000 − 80,000 = 18,000; nar = 80,000 / 280,000 = 0.285714
    assert call.alert == "margin_call"
    assert (call.equity, call.lna, call.nar, call.call_amount) == (
        D("80000"),
        D("80000"),
        D("0.285714"),
        D("18000"),
    )
    assert (call.req_im, call.req_mcm, call.req_mm, call.req_fm) == (
        D("112000"),
        D("98000"),
        D("84000"),
        D("70000"),
    )
    assert (call.loan, call.cash, call.market_value, call.trading_credit) == (
        D("200000"),
        D("-200000"),
        D("280000"),
        D("0"),
    )
    assert call.triggered_at == monitor_at and call.deadline == date(2026, 12, 29)
    (event,) = call.events.all()
    assert (event.kind, event.before, event.after["call_amount"], event.after["nar"]) == (
        "open",
        None,
        "18000.00",
        "0.285714",
    )
    assert event.book_event_id == MonitorCursor.objects.get(name="default").last_event_id
    assert list(call.snapshots.values_list("reason", flat=True)) == ["triggered"]
    assert not MarginCall.objects.filter(account__number="M2").exists()


def test_update_escalate_deescalate_and_end_as_the_state_machine_says(call_book, run, tick, post):
    run()
    tick("280")
    tick("279")
    # lna 79,000; mm 83,700; fm 69,750 → margin_call, call 97,650 − 79,000 = 18,650: the market
    # moved, so the call is refreshed without a history event (as the scalar monitor does)
    call = the_call()
    assert call.call_amount == D("18650")
    assert list(call.events.values_list("kind", flat=True)) == ["open"]
    deposit = post("deposit", account="M1", currency="HKD", amount="1000")
    run()
    # cash −199,000 → lna 80,000 < mm 83,700; call 97,650 − 80,000 = 17,650
    update = call.events.last()
    assert (update.kind, update.book_event_id) == ("update", deposit.event_id)
    assert (update.before["call_amount"], update.after["call_amount"]) == ("18650.00", "17650.00")
    tick("260")  # lna 61,000 < fm 65,000 → force close, call 91,000 − 61,000 = 30,000
    call.refresh_from_db()
    assert (call.alert, call.call_amount, call.nar) == ("force_close", D("30000"), D("0.234615"))
    assert call.snapshots.filter(reason="force").count() == 1
    tick("280")
    call.refresh_from_db()
    assert (call.alert, call.events.last().kind) == ("margin_call", "deescalate")
    tick("260")
    post("deposit", account="M1", currency="HKD", amount="50000")
    run()
    call.refresh_from_db()
    assert call.status == "ended" and call.ended_at is not None
    end = call.events.last()
    assert (end.before["alert"], end.before["lna"]) == ("force_close", "61000.00")
    assert (end.after["alert"], end.after["lna"], end.after["call_amount"]) == (
        "none",
        "111000.00",
        "0.00",
    )
    assert list(call.events.values_list("kind", flat=True)) == [
        "open",
        "update",
        "escalate",
        "deescalate",
        "escalate",
        "end",
    ]
    assert sorted(call.snapshots.values_list("reason", flat=True)) == [
        "ended",
        "force",
        "force",
        "triggered",
    ]
    tick("200")
    assert MarginCall.objects.filter(account__number="M1").count() == 2


def test_one_batch_writes_each_call_once(call_book, run, post):
    run()
    for price in ("290", "280", "279"):
        post("price_update", prices=[{"instrument": "700.HK", "last": price}])
    assert run() == 3
    (event,) = the_call().events.all()  # opened once, at the last price: 279
    assert (event.kind, event.after["lna"]) == ("open", "79000.00")


def test_the_same_events_twice_change_nothing_even_after_a_crash(call_book, run, tick, monitor_at):
    run()
    tick("280")
    tick("260")
    before = counts()
    call = the_call()
    assert run() == 0
    MonitorCursor.objects.filter(name="default").update(last_event_id=0)
    assert run() > 0  # the same monitor re-reads every event
    assert run(monitor=LiveMonitor(at=monitor_at)) == 0
    MonitorCursor.objects.filter(name="default").update(last_event_id=0)
    assert run(monitor=LiveMonitor(at=monitor_at)) > 0  # and so does a restarted one
    assert counts() == before
    after = the_call()
    assert (after.pk, after.updated_at, after.call_amount) == (
        call.pk,
        call.updated_at,
        call.call_amount,
    )


def test_a_batch_that_fails_half_way_writes_nothing_and_is_retried(
    call_book, run, post, mon, monkeypatch
):
    run()
    cursor = MonitorCursor.objects.get(name="default").last_event_id
    post("price_update", prices=[{"instrument": "700.HK", "last": "260"}])
    real = live.Writer._snapshot

    def crash(self, *args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(live.Writer, "_snapshot", crash)
    with pytest.raises(RuntimeError):
        run()
    assert MonitorCursor.objects.get(name="default").last_event_id == cursor
    assert counts() == (0, 0, 0)
    monkeypatch.setattr(live.Writer, "_snapshot", real)
    # the arrays already hold 260; the account is still due to be written
    assert run() == 1
    assert the_call().alert == "force_close"
    assert list(the_call().snapshots.values_list("reason", flat=True)) == ["triggered"]


def test_a_restart_from_an_empty_state_rebuilds_the_same_calls(call_book, run, tick, monitor_at):
    run()
    tick("280")
    tick("260")
    call = the_call()
    figures = {f: getattr(call, f) for f in ("alert", "call_amount", "lna", "nar", "req_mm")}
    MarginCallSnapshot.objects.all().delete()
    MarginCallEvent.objects.all().delete()
    MarginCall.objects.all().delete()
    MonitorCursor.objects.all().delete()
    run(monitor=LiveMonitor(at=monitor_at))
    rebuilt = the_call()
    assert {f: getattr(rebuilt, f) for f in figures} == figures
    assert MarginCall.objects.count() == 1 and rebuilt.events.count() == 1


def test_full_screen_writes_only_what_differs(call_book, monitor_at, run, tick):
    from riskdesk.book.models import Price

    run()
    tick("280")
    before = counts()
    seen = []
    screened = LiveMonitor(at=monitor_at).full_screen(
        monitor_at, chunk=1, progress=lambda n, t: seen.append((n, t))
    )
    assert (screened, seen, counts()) == (2, [(1, 2), (2, 2)], before)
    Price.objects.filter(instrument=call_book["tencent"]).update(last=D("260"))  # no event
    assert LiveMonitor(at=monitor_at).full_screen(monitor_at) == 2
    assert the_call().alert == "force_close"
    assert the_call().events.last().book_event_id is None
    assert MonitorCursor.objects.get(name="default").full_screen_at == monitor_at


def test_a_market_move_and_an_account_event_in_one_batch_make_one_recorded_update(
    call_book, run, tick, post, mon
):
    run()
    tick("280")  # open: lna 80,000, call 18,000
    post("price_update", prices=[{"instrument": "700.HK", "last": "279"}])
    deposit = post("deposit", account="M1", currency="HKD", amount="1000")
    run()  # one batch: the deposit makes the change an account's, recorded in the history
    # mv 279,000, cash −199,000 → lna 80,000; mcm 97,650 → call 17,650
    call = the_call()
    update = call.events.last()
    assert (update.kind, update.book_event_id) == ("update", deposit.event_id)
    assert (update.before["call_amount"], update.after["call_amount"]) == ("18000.00", "17650.00")
    assert mon.last_counts == {"update": 1}


def test_a_fill_can_open_and_close_positions(call_book, run, post, mon):
    from riskdesk.margin.figures import account_risk

    run()
    # M1 buys AAPL (a new position, USD debt) and sells all its 700.HK (a closed position)
    post("trade_fill", account="M1", instrument="AAPL.US", side="buy", quantity=300, price="200")
    post("trade_fill", account="M1", instrument="700.HK", side="sell", quantity=1000, price="400")
    run()
    slot = mon.book._slot(call_book["margin"].pk)
    # AAPL 300 × 200 × 7.8 = 468,000 long, no ratio (100%); cash 200,000 HKD − 60,000 USD
    # (−468,000 HKD) → equity 200,000 < mm 468,000 → force close (lna < fm 468,000)
    assert mon.book.figures_of(slot) == account_risk(call_book["margin"]).figures
    call = the_call()
    assert (call.alert, call.market_value, call.equity) == ("force_close", D("468000"), D("200000"))
    post("price_update", prices=[{"instrument": "AAPL.US", "last": "100"}])
    run()
    call.refresh_from_db()
    assert call.market_value == D("234000")  # 300 × 100 × 7.8: refreshed, no history event
    assert call.events.count() == 1
    post("price_update", prices=[{"instrument": "700.HK", "last": "1"}])
    run()
    assert mon.last_counts == {}  # M1 holds no 700.HK now: nothing to write


def test_fx_moves_reprice_foreign_holdings_and_cash(call_book, run, post, mon, stock_ratio):
    from riskdesk.margin.figures import account_risk

    stock_ratio(call_book["apple"], "0.50", "0.45", "0.40", "0.35")
    post("trade_fill", account="M2", instrument="AAPL.US", side="buy", quantity=300, price="200")
    run()
    # M2: 400 AAPL × 200 × 7.8 = 624,000; cash 20,000 − 80,000 = −60,000 USD (−468,000 HKD)
    # lna 156,000 ≥ mm 249,600? no → 156,000 < 249,600 and ≥ fm 218,400? no → force close
    call = the_call("M2")
    assert (call.alert, call.lna) == ("force_close", D("156000"))
    post("fx_update", rates=[{"currency": "USD", "rate": "8.5"}])
    run()
    call.refresh_from_db()
    # 400 × 200 × 8.5 = 680,000; cash −510,000 → lna 170,000
    assert call.lna == D("170000")
    slot = mon.book._slot(call_book["m2"].pk)
    assert mon.book.figures_of(slot) == account_risk(call_book["m2"]).figures


def test_ratio_changes_and_group_rules_follow_the_rescreen_requests(
    call_book, run, monitor_at, users
):
    from riskdesk.approvals import services
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    run()
    with seeding("test"):  # as an approved ratio change would (a RescreenRequest, no event)
        ratio = StockMargin.objects.get(instrument=call_book["tencent"])
        ratio.im, ratio.mcm, ratio.mm, ratio.fm = D("0.70"), D("0.65"), D("0.60"), D("0.45")
        ratio.save()
    assert run() == 1
    # mm 240,000 > lna 200,000 ≥ fm 180,000 → margin call 260,000 − 200,000 = 60,000
    call = the_call()
    assert (call.alert, call.call_amount) == ("margin_call", D("60000"))
    assert call.events.get().book_event_id is None
    group = services.submit(
        flow="lists.client_group",
        target=None,
        payload={"name": "VIP", "business_type": "margin", "members": ["C1"]},
        maker=users["officer"],
    )
    services.approve(request_id=group.pk, user=users["approver"])
    rule = services.submit(
        flow="margin.client_rule",
        target=None,
        payload={
            "side": "long",
            "client_group": "VIP",
            "stock": "700.HK",
            **{"im": "0.30", "mcm": "0.25", "mm": "0.20", "fm": "0.15"},
        },
        maker=users["officer"],
    )
    services.approve(request_id=rule.pk, user=users["approver"])
    run()
    call.refresh_from_db()
    assert call.status == "ended"  # mm 80,000 ≤ 200,000


def test_intraday_ratios_follow_the_session(call_book, post, stock_ratio, monitor_at, users):
    from riskdesk.approvals.governed import seeding
    from riskdesk.book.models import Account
    from riskdesk.margin.models import IntradayMargin, IntradayRule

    # I1 (intraday) buys 1,000 700.HK at 400 with 150,000 of its own: cash −250,000.
    # In session the intraday ratio 20/15/12/10 applies: mm 48,000 ≤ lna 150,000 → no call.
    # After the session 100%: mm 400,000 > lna 150,000 → force close (fm 400,000).
    stock_ratio(call_book["tencent"], "0.20", "0.15", "0.12", "0.10", model=IntradayMargin)
    with seeding("test"):
        IntradayRule.objects.create(market="HK", starts_after_open=0, ends_before_close=30)
    Account.objects.create(number="I1", client=call_book["client"], type="intraday")
    post("deposit", account="I1", currency="HKD", amount="150000")
    post("trade_fill", account="I1", instrument="700.HK", side="buy", quantity=1000, price="400")
    mon = LiveMonitor(at=monitor_at)
    mon.process_all(at=monitor_at)
    assert not MarginCall.objects.filter(account__number="I1").exists()
    post("price_update", prices=[{"instrument": "700.HK", "last": "401"}])
    evening = monitor_at.replace(hour=17)  # HK closes at 16:00
    mon.process_all(at=evening)
    call = the_call("I1")
    # mv 401,000, cash −250,000 → lna 151,000 < fm 401,000 → force close
    assert (call.alert, call.lna, call.req_fm) == ("force_close", D("151000"), D("401000"))


def test_closed_and_cash_accounts_end_their_calls(call_book, run, tick, post, mon, monitor_at):
    from riskdesk.book.models import Account

    post("transfer_in", account="K1", instrument="700.HK", quantity=100)
    run()
    tick("10")
    assert not MarginCall.objects.filter(account__number="K1").exists()
    call = the_call("M1")
    Account.objects.filter(number="M1").update(status="closed")
    assert LiveMonitor(at=monitor_at).full_screen(monitor_at) == 2  # M2 and M1's open call
    call.refresh_from_db()
    assert call.status == "ended"
    end = call.events.last()
    assert (end.kind, end.after) == ("end", None)
    assert call.snapshots.filter(reason="ended").count() == 1


def test_a_second_monitor_stands_down_and_a_foreign_writer_is_noticed(
    call_book, run, post, monitor_at
):
    from riskdesk.margincall.monitor import full_screen

    first = LiveMonitor(at=monitor_at)
    second = LiveMonitor(at=monitor_at)
    first.process_all(at=monitor_at)
    post("price_update", prices=[{"instrument": "700.HK", "last": "280"}])
    first.process_all(at=monitor_at)
    # the second monitor's cursor read is stale: it finds the cursor moved and writes nothing
    second.process_all(at=monitor_at)
    assert MarginCall.objects.count() == 1 and the_call().events.count() == 1
    # the scalar full screen (another process) ends the call behind the first monitor's back
    from riskdesk.book.models import Price

    Price.objects.filter(instrument=call_book["tencent"]).update(last=D("400"))
    assert full_screen(monitor_at, scalar=True) == 2
    assert not MarginCall.objects.filter(status="open").exists()
    Price.objects.filter(instrument=call_book["tencent"]).update(last=D("280"))
    post("price_update", prices=[{"instrument": "700.HK", "last": "279"}])
    first.process_all(at=monitor_at)
    # the first monitor read the calls again: it opens a new call rather than updating the old
    assert MarginCall.objects.filter(status="open").count() == 1
    assert the_call().events.get().kind == "open"


def test_arrays_equal_account_risk_after_random_ticks_and_fills(
    call_book, post, mon, monitor_at, stock_ratio
):
    from riskdesk.book.models import Account
    from riskdesk.margin.figures import account_risk
    from riskdesk.margin.models import ShortMargin

    stock_ratio(call_book["tencent"], "0.50", "0.45", "0.40", "0.35", model=ShortMargin)
    rng = np.random.default_rng(5)
    codes = ["700.HK", "AAPL.US", "AAPL 261218C200"]
    numbers = ["M1", "M2", "K1"]
    for _ in range(40):
        kind = rng.integers(0, 4)
        if kind == 0:
            code = codes[rng.integers(0, len(codes))]
            price = f"{rng.integers(1, 100_000) / 100:.2f}"
            post("price_update", prices=[{"instrument": code, "last": price}])
        elif kind == 1:
            side = "sell" if rng.random() < 0.4 else "buy"
            account = numbers[rng.integers(0, 2)]
            post(
                "trade_fill",
                account=account,
                instrument=codes[rng.integers(0, len(codes))],
                side=side,
                quantity=int(rng.integers(1, 20)) * 100,
                price=f"{rng.integers(100, 50_000) / 100:.2f}",
            )
        elif kind == 2:
            post("deposit", account=numbers[rng.integers(0, 3)], currency="USD", amount="1000")
        else:
            post("fx_update", rates=[{"currency": "USD", "rate": f"{7.7 + rng.random() / 5:.4f}"}])
        if rng.random() < 0.3:
            mon.process_all(at=monitor_at)
            for account in Account.objects.filter(type="margin"):
                slot = mon.book._slot(account.pk)
                assert mon.book.figures_of(slot) == account_risk(account, at=monitor_at).figures
    mon.process_all(at=monitor_at)
    for call in MarginCall.objects.filter(status="open"):
        figures = account_risk(call.account, at=monitor_at).figures
        assert (call.lna, call.call_amount, call.alert) == (
            figures.lna,
            figures.call_amount,
            figures.alert,
        )


def test_opening_event_rebuilds_and_screens_everything(call_book, run, mon, monitor_at):
    from riskdesk.book.models import BookEvent

    run()
    BookEvent.objects.create(key="opening-x", kind="opening", payload={})
    assert run() == 1
    assert mon.book.screen.n_slots == 2


def test_gap_wait_is_kept(call_book, run, post, monkeypatch):
    from riskdesk.book.models import BookEvent
    from riskdesk.margincall import monitor

    monkeypatch.setattr(monitor, "GAP_WAIT", timedelta(seconds=60))
    run()
    last = BookEvent.objects.order_by("-id").first()
    BookEvent.objects.create(
        id=last.id + 5,
        key="later",
        kind="deposit",
        payload={},
        created_at=datetime.now(tz=last.created_at.tzinfo),
    )
    assert run() == 0  # ids last+1 … last+4 may still commit: wait


def test_an_account_beyond_the_int64_bound_is_screened_in_decimal(call_book, run, tick, mon):
    from riskdesk.margin.figures import account_risk

    run()
    tick("280")
    # 1,000 × 10¹¹ HKD = 10¹⁴ HKD: beyond the kernels' exact bound (9·10¹⁰ HKD per account)
    tick("100000000000")
    slot = mon.book._slot(call_book["margin"].pk)
    assert mon.book.screen.oversized[slot]
    call = MarginCall.objects.get(account__number="M1")
    assert call.status == "ended"  # screened by the scalar path: lna 10¹⁴ − 200,000 ≥ mm
    assert call.events.last().after["lna"] == "99999999800000.00"
    tick("260")  # back within the bound: the arrays again, exact
    assert not mon.book.screen.oversized[slot]
    assert mon.book.figures_of(slot) == account_risk(call_book["margin"]).figures
    assert the_call().alert == "force_close"


def test_event_documents_are_those_of_the_state_machine():
    import json

    from riskdesk.engine.money import from_cents, from_scaled
    from riskdesk.margincall.live import _doc_jsons
    from riskdesk.margincall.screening import FIGURE_FIELDS, _state

    rng = np.random.default_rng(3)
    rows = rng.integers(-(10**12), 10**12, size=(200, len(FIGURE_FIELDS)))
    rows[rng.random(rows.shape) < 0.2] = 0
    rows[:5] = [[-1] * 12, [1] * 12, [-99] * 12, [100] * 12, [-1_000_000] * 12]
    alerts = [str(rng.choice(["none", "margin_call", "force_close"])) for _ in rows]
    for text, alert, row in zip(_doc_jsons(alerts, rows), alerts, rows.tolist(), strict=True):
        cols = {
            name: from_scaled(v, D("0.000001")) if name == "nar" else from_cents(v)
            for name, v in zip(FIGURE_FIELDS, row, strict=True)
        }
        assert json.loads(text) == _state(alert, cols)


def test_update_every_spaces_updates_but_never_delays_an_alert_change(call_book, post, monitor_at):
    import time

    mon = LiveMonitor(at=monitor_at, update_every=3600)
    mon.process_all(at=monitor_at)

    def tick(price):
        post("price_update", prices=[{"instrument": "700.HK", "last": price}])
        return mon.process_all(at=monitor_at)

    tick("280")  # opens at once: lna 80,000, call 18,000
    call = the_call()
    tick("279")  # a market move: the refresh waits (the call was written under an hour ago)
    assert call.events.count() == 1 and mon.flush(monitor_at) == 0
    call.refresh_from_db()
    assert (call.lna, call.call_amount) == (D("80000"), D("18000"))
    # a deposit is written at once, with its event: cash −199,000, mv 279,000 → lna 80,000,
    # mcm 97,650 → call 17,650; "before" is the call as written
    post("deposit", account="M1", currency="HKD", amount="1000")
    mon.process_all(at=monitor_at)
    update = call.events.last()
    assert (update.kind, update.before["call_amount"], update.after["call_amount"]) == (
        "update",
        "18000.00",
        "17650.00",
    )
    tick("260")  # force close: written at once (lna 61,000)
    escalate = call.events.last()
    assert (escalate.kind, escalate.before["lna"], escalate.after["lna"]) == (
        "escalate",
        "80000.00",
        "61000.00",
    )
    mon.writer.update_every = mon.update_every = 1.0
    tick("259")  # a market move, the last write under a second ago: refreshed once it is due
    assert call.events.count() == 3
    time.sleep(1.05)
    assert mon.flush(monitor_at) == 1
    call.refresh_from_db()
    assert (call.lna, call.events.count()) == (D("60000"), 3)
    assert mon.flush(monitor_at) == 0  # nothing left


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_events_committed_mid_batch_are_in_it(
    call_book, post, monitor_at, monkeypatch
):
    """The monitor follows the outbox before taking the writer lock, then once more inside
    it: an event committed in between (here: while the arrays follow the first) is applied in
    the same batch, and the snapshot's Decimal figures agree with the arrays (VERIFY).
    SQLite only: on PostgreSQL the batch reads one REPEATABLE READ snapshot instead."""
    from riskdesk.margin.figures import account_risk

    mon = LiveMonitor(at=monitor_at)
    mon.process_all(at=monitor_at)
    real = LiveMonitor._follow
    sneaked = []

    def follow(self, events, at):
        if not sneaked:
            sneaked.append(post("price_update", prices=[{"instrument": "700.HK", "last": "260"}]))
        return real(self, events, at)

    monkeypatch.setattr(LiveMonitor, "_follow", follow)
    post("price_update", prices=[{"instrument": "700.HK", "last": "280"}])
    assert mon.process_events(at=monitor_at) == 2
    call = the_call()
    # both ticks in one batch: opened once, at 260 (force close: lna 60,000 < fm 65,000)
    assert (call.alert, call.lna, call.events.count()) == ("force_close", D("60000"), 1)
    assert call.events.get().book_event_id == sneaked[0].event_id
    slot = mon.book._slot(call_book["margin"].pk)
    assert mon.book.figures_of(slot) == account_risk(call_book["margin"], at=monitor_at).figures


@pytest.mark.django_db(transaction=True)
def test_batches_run_in_their_own_transactions(call_book, post, monitor_at):
    """Outside any test transaction (as ``riskdesk monitor`` runs): SQLite takes the writer
    lock by polling, PostgreSQL reads the batch in one REPEATABLE READ snapshot."""
    from riskdesk.margin.figures import account_risk

    mon = LiveMonitor(at=monitor_at)
    assert mon.process_all(at=monitor_at) == 5
    post("price_update", prices=[{"instrument": "700.HK", "last": "280"}])
    post("deposit", account="M2", currency="HKD", amount="5")
    assert mon.process_events(at=monitor_at) == 2
    call = the_call()
    assert (call.alert, call.call_amount) == ("margin_call", D("18000"))
    for account in (call_book["margin"], call_book["m2"]):
        slot = mon.book._slot(account.pk)
        assert mon.book.figures_of(slot) == account_risk(account, at=monitor_at).figures
    assert MonitorCursor.objects.get(name="default").last_event_id == mon.applied_event_id


def test_after_a_foreign_full_screen_the_monitor_reads_what_no_event_announced(
    call_book, run, tick, monitor_at
):
    from riskdesk.book.models import Instrument
    from riskdesk.margincall.monitor import full_screen

    mon = LiveMonitor(at=monitor_at)
    mon.process_all(at=monitor_at)
    # 700.HK is delisted (a status pulled from the exchange: no book event)
    Instrument.objects.filter(pk=call_book["tencent"].pk).update(status="delisted")
    full_screen(monitor_at)  # the daily job, in another process: M1 is now in force close
    assert the_call().alert == "force_close"
    tick("401")
    mon.process_all(at=monitor_at)
    # the monitor loaded the book again: M1 stays excluded-valued (lna = −200,000 < fm 401,000)
    call = the_call()
    assert (call.alert, call.lna, call.req_fm) == ("force_close", D("-200000"), D("401000"))


def test_refreshes_are_written_refresh_batch_at_a_time_and_the_rest_soon_after(
    call_book, post, monitor_at
):
    """MC-1: a market move refreshes at most ``refresh_batch`` open calls per batch (one batch
    writing thousands held up every state change behind it); the others are written by the
    next batches or flushes, without waiting for ``update_every`` again."""
    import time

    from riskdesk.book.models import Account

    # M3 (C2): 1,000 700.HK bought at 400 on 195,000 of its own money → cash −205,000
    Account.objects.create(number="M3", client=call_book["c2"], type="margin")
    post("deposit", account="M3", currency="HKD", amount="195000")
    post("trade_fill", account="M3", instrument="700.HK", side="buy", quantity=1000, price="400")
    mon = LiveMonitor(at=monitor_at, update_every=1.0, refresh_batch=1)
    mon.process_all(at=monitor_at)

    def tick(price):
        post("price_update", prices=[{"instrument": "700.HK", "last": price}])
        return mon.process_all(at=monitor_at)

    tick("280")  # both open at once (no cap): M1 lna 80,000, call 18,000; M3 75,000, 23,000
    assert sorted(MarginCall.objects.values_list("call_amount", flat=True)) == [
        D("18000"),
        D("23000"),
    ]
    time.sleep(1.05)
    # a market move, both last written over a second ago: one refreshed now, the other waits
    # (M1 lna 79,000, call 97,650 − 79,000 = 18,650; M3 lna 74,000, call 23,650)
    tick("279")
    amounts = sorted(MarginCall.objects.values_list("call_amount", flat=True))
    assert amounts in ([D("18000"), D("23650")], [D("18650"), D("23000")])
    assert mon.flush(monitor_at) == 1  # due at once: not ten flushes a second apart
    assert sorted(MarginCall.objects.values_list("call_amount", flat=True)) == [
        D("18650"),
        D("23650"),
    ]
    assert mon.flush(monitor_at) == 0
    assert MarginCallEvent.objects.filter(kind="update").count() == 0  # refreshes: no history


def test_a_snapshot_whose_arrays_figures_differ_takes_calc_margins_and_is_reported(
    call_book, mon, run, tick, monkeypatch
):
    """MC-5: the arrays' figures are written with the snapshot and checked after the commit
    against `calc margin`'s Decimal code path; a difference is logged, counted, raised when
    STRICT, and the snapshot keeps `calc margin`'s figures."""
    from riskdesk.margincall import snapshots

    real = snapshots.figures_document

    def off_by_a_cent(number, figures):
        document = real(number, figures)
        document["accounts"][0]["lna"] = "79999.99"
        return document

    monkeypatch.setattr(snapshots, "figures_document", off_by_a_cent)
    monkeypatch.setattr(live, "STRICT", False)
    run()
    tick("280")
    snap = MarginCallSnapshot.objects.get()
    assert snap.figures == snapshots.calc_margin(snap.scenario)
    assert snap.figures["accounts"][0]["lna"] == "80000.00"
    assert mon.writer.mismatches == 1
    monkeypatch.setattr(live, "STRICT", True)
    with pytest.raises(AssertionError, match="differ for account M1"):
        tick("260")  # escalation: a second snapshot, checked at the end of process_all
