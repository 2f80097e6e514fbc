"""MC-1, MC-4, PL-8: the risk monitor follows book events and writes margin-call state.

Book (conftest ``call_book``): 700.HK ratio im/mcm/mm/fm = 0.40/0.35/0.30/0.25; M1 holds 1,000
700.HK with cash −200,000 HKD; M2 (C2) holds 100 AAPL.US fully paid. Screened at Wed
2026-12-23 10:00 HKT.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from riskdesk.calendars.selectors import is_trading_day
from riskdesk.margincall import monitor
from riskdesk.margincall.models import (
    MarginCall,
    MarginCallEvent,
    MarginCallSnapshot,
    MonitorCursor,
)
from riskdesk.margincall.services import annotate, open_calls_summary, triggered_hours

pytestmark = pytest.mark.django_db
D = Decimal


def counts():
    return (
        MarginCall.objects.count(),
        MarginCallEvent.objects.count(),
        MarginCallSnapshot.objects.count(),
    )


def the_call(number="M1"):
    return MarginCall.objects.get(account__number=number, status="open")


def test_book_in_good_standing_opens_nothing(call_book, run_monitor):
    # M1: mv 1,000 × 400 = 400,000, cash −200,000 → lna 200,000 ≥ mm 120,000
    assert run_monitor() == 5  # 4 book events + the ratio the fixture set (a ratio change)
    assert counts() == (0, 0, 0)
    assert MonitorCursor.objects.get(name="default").last_event_id > 0


def test_price_drop_opens_a_call_with_figures_and_a_deadline_of_three_hk_trading_days(
    call_book, run_monitor, drop, monitor_at
):
    run_monitor()
    drop("280")
    call = the_call()
    # mv 1,000 × 280 = 280,000; cash −200,000 → equity = lna = 80,000
    # req im 112,000, mcm 98,000, mm 84,000, fm 70,000: 70,000 ≤ 80,000 < 84,000 → margin_call
    # call = mcm − lna = 98,000 − 80,000 = 18,000; nar = 80,000 / 280,000 = 0.285714
    assert call.alert == "margin_call"
    assert (call.equity, call.lna, call.nar) == (D("80000"), D("80000"), D("0.285714"))
    assert (call.req_im, call.req_mcm, call.req_mm, call.req_fm) == (
        D("112000"),
        D("98000"),
        D("84000"),
        D("70000"),
    )
    assert (call.call_amount, call.loan, call.cash, call.market_value) == (
        D("18000"),
        D("200000"),
        D("-200000"),
        D("280000"),
    )
    assert call.triggered_at == monitor_at
    # The TradingDay table: 24th half day (trades), 25th Christmas, 26th/27th weekend, 28th trades
    assert is_trading_day("HK", date(2026, 12, 24))
    assert not any(is_trading_day("HK", date(2026, 12, d)) for d in (25, 26, 27))
    assert call.deadline == date(2026, 12, 29)  # 24th, 28th, 29th
    (event,) = call.events.all()
    assert (event.kind, event.before, event.after["call_amount"]) == ("open", None, "18000.00")
    assert event.book_event_id is not None
    assert list(call.snapshots.values_list("reason", flat=True)) == ["triggered"]
    assert not MarginCall.objects.filter(account__number="M2").exists()


def test_deadline_days_are_a_setting(call_book, run_monitor, drop, settings):
    settings.RISKDESK_CALL_DEADLINE_DAYS = 1
    run_monitor()
    drop("280")
    assert the_call().deadline == date(2026, 12, 24)


def test_further_drop_escalates_a_rise_deescalates_and_a_deposit_ends_it(
    call_book, run_monitor, drop, post
):
    run_monitor()
    drop("280")
    drop("279")
    # mv 279,000 → lna 79,000; mm 83,700 > lna ≥ fm 69,750 → still margin_call;
    # call = mcm 97,650 − 79,000 = 18,650. A market move refreshes the call; the history
    # (MC-4) records only what happens to the account.
    call = the_call()
    assert call.call_amount == D("18650")
    assert list(call.events.values_list("kind", flat=True)) == ["open"]
    deposit = post("deposit", account="M1", currency="HKD", amount="1000")
    run_monitor()
    # cash −199,000 → lna 80,000 < mm 83,700 → still margin_call; call 97,650 − 80,000 = 17,650
    update = call.events.last()
    assert (update.kind, update.book_event_id) == ("update", deposit.event_id)
    assert (update.before["call_amount"], update.after["call_amount"]) == ("18650.00", "17650.00")
    drop("260")
    # mv 260,000 → lna 61,000 < fm 65,000 → force_close; call = mcm 91,000 − 61,000 = 30,000;
    # nar = 61,000 / 260,000 = 0.234615
    call.refresh_from_db()
    assert (call.alert, call.call_amount, call.nar) == ("force_close", D("30000"), D("0.234615"))
    escalate = call.events.last()
    assert (escalate.kind, escalate.before["alert"], escalate.after["alert"]) == (
        "escalate",
        "margin_call",
        "force_close",
    )
    assert call.snapshots.filter(reason="force").count() == 1
    drop("280")  # lna 81,000: fm 70,000 ≤ lna < mm 84,000
    call.refresh_from_db()
    assert (call.alert, call.events.last().kind) == ("margin_call", "deescalate")
    drop("260")
    # a deposit of 50,000 cures it: cash −149,000, lna 111,000 ≥ mm 78,000 → ended
    post("deposit", account="M1", currency="HKD", amount="50000")
    run_monitor()
    call.refresh_from_db()
    assert call.status == "ended" and call.ended_at is not None
    end = call.events.last()
    assert end.kind == "end"
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
    # a new drop opens a new call; the old one stays in the history (MC-4)
    drop("200")
    assert MarginCall.objects.filter(account__number="M1").count() == 2


def test_the_same_events_twice_change_nothing_even_after_a_crash(
    call_book, run_monitor, drop, post
):
    run_monitor()
    drop("280")
    drop("260")
    before = counts()
    call = the_call()
    assert run_monitor() == 0  # nothing pending
    # a crash before the cursor was saved: the monitor re-reads from an older cursor
    MonitorCursor.objects.filter(name="default").update(last_event_id=0)
    assert run_monitor() > 0
    assert counts() == before
    after = the_call()
    assert (after.pk, after.updated_at, after.call_amount) == (
        call.pk,
        call.updated_at,
        call.call_amount,
    )


def test_a_batch_that_fails_half_way_writes_nothing_and_is_retried(
    call_book, run_monitor, post, monkeypatch
):
    run_monitor()
    cursor = MonitorCursor.objects.get(name="default").last_event_id
    post("price_update", prices=[{"instrument": "700.HK", "last": "260"}])
    real = monitor.screen_account

    def crash(account, **kw):
        raise RuntimeError("power cut")

    monkeypatch.setattr(monitor, "screen_account", crash)
    with pytest.raises(RuntimeError):
        run_monitor()
    assert MonitorCursor.objects.get(name="default").last_event_id == cursor
    assert counts() == (0, 0, 0)
    monkeypatch.setattr(monitor, "screen_account", real)
    assert run_monitor() == 1
    assert the_call().alert == "force_close"


def test_a_restart_from_an_empty_state_rebuilds_the_same_calls(call_book, run_monitor, drop):
    run_monitor()
    drop("280")
    drop("260")
    call = the_call()
    figures = {f: getattr(call, f) for f in ("alert", "call_amount", "lna", "nar", "req_mm")}
    # a fresh database state for the monitor: no calls, cursor at 0 → replay from the first event
    MarginCallSnapshot.objects.all().delete()
    MarginCallEvent.objects.all().delete()
    MarginCall.objects.all().delete()
    MonitorCursor.objects.all().delete()
    run_monitor()
    rebuilt = the_call()
    assert {f: getattr(rebuilt, f) for f in figures} == figures
    assert MarginCall.objects.count() == 1 and rebuilt.events.count() == 1


def test_full_screen_finds_calls_without_events_and_records_when(call_book, monitor_at):
    from riskdesk.book.models import Price

    Price.objects.filter(instrument=call_book["tencent"]).update(last=D("260"))  # no event
    seen = []
    assert monitor.full_screen(monitor_at, chunk=1, progress=lambda n, t: seen.append((n, t))) == 2
    assert seen == [(1, 2), (2, 2)]
    assert the_call().alert == "force_close"
    assert MonitorCursor.objects.get(name="default").full_screen_at == monitor_at


def test_price_update_rescreens_only_the_holders(call_book, run_monitor, post, monkeypatch):
    run_monitor()
    seen = []
    real = monitor.screen_account

    def spy(account, **kw):
        seen.append(account.number)
        return real(account, **kw)

    monkeypatch.setattr(monitor, "screen_account", spy)
    post("price_update", prices=[{"instrument": "700.HK", "last": "390"}])
    run_monitor()
    assert seen == ["M1"]
    seen.clear()
    post("fx_update", rates=[{"currency": "USD", "rate": "7.81"}])
    run_monitor()
    assert seen == ["M2"]  # M2 holds AAPL (USD); M1 has only HKD
    seen.clear()
    post("deposit", account="M2", currency="HKD", amount="1")
    post("deposit", account="M2", currency="HKD", amount="2")
    run_monitor()
    assert seen == ["M2"]  # once per batch


def test_ratio_changes_rescreen_holders(call_book, run_monitor, monitor_at):
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    run_monitor()
    # at 400 a 0.60 mm ratio needs 240,000 > lna 200,000 → margin_call (fm 0.45 → 180,000)
    with seeding("test"):  # as an approved ratio change would (no book event)
        ratio = StockMargin.objects.get(instrument=call_book["tencent"])
        ratio.im, ratio.mcm, ratio.mm, ratio.fm = D("0.70"), D("0.65"), D("0.60"), D("0.45")
        ratio.save()
    assert monitor.rescreen_holders([call_book["tencent"].pk], at=monitor_at) == {"open": 1}
    # call = mcm 260,000 − 200,000 = 60,000
    assert the_call().call_amount == D("60000")
    assert monitor.rescreen_accounts([call_book["margin"].pk], at=monitor_at) == {}


def test_cash_and_closed_accounts_are_never_in_call(call_book, run_monitor, drop, post):
    from riskdesk.book.models import Account

    post("transfer_in", account="K1", instrument="700.HK", quantity=100)
    run_monitor()
    drop("10")
    assert not MarginCall.objects.filter(account__number="K1").exists()
    assert the_call("M1")
    Account.objects.filter(number="M1").update(status="closed")
    monitor.rescreen_accounts([call_book["margin"].pk])
    call = MarginCall.objects.get(account__number="M1")
    assert call.status == "ended" and call.events.last().kind == "end"


def test_totals_triggered_hours_and_notes(call_book, run_monitor, drop, users, monitor_at):
    run_monitor()
    drop("280")  # M1 call 18,000
    call = the_call()
    old = call
    MarginCall.objects.filter(pk=old.pk).update(triggered_at=monitor_at - timedelta(days=91))
    drop("150", code="AAPL.US")
    # M2: AAPL 100 × 150 × 7.8 = 117,000 with no ratio (100%) and cash 0 → lna ≥ req: no call
    summary = open_calls_summary(now=monitor_at)
    assert (summary["count"], summary["call_amount"]) == (1, D("18000"))
    assert (summary["long_count"], summary["long_call_amount"]) == (1, D("18000"))
    assert summary == open_calls_summary(now=monitor_at, account_type="margin")
    assert open_calls_summary(now=monitor_at, account_type="intraday")["count"] == 0
    call = the_call()
    assert triggered_hours(call, call.triggered_at + timedelta(minutes=1)) == 1
    assert triggered_hours(call, call.triggered_at) == 1
    assert triggered_hours(call, call.triggered_at + timedelta(hours=2, seconds=1)) == 3
    assert triggered_hours(call, call.triggered_at + timedelta(hours=2)) == 2
    event = annotate(call, user=users["officer"], note="called client", exception=True)
    assert (event.kind, event.before, event.after) == (
        "note",
        {"note": "", "exception": False},
        {"note": "called client", "exception": True},
    )
    assert annotate(call, user=users["officer"], note="called client") is None
    call.refresh_from_db()
    assert (call.note, call.exception) == ("called client", True)


def test_monitor_once_command(call_book, drop, capsys):
    from riskdesk.margincall.commands import monitor as command

    MonitorCursor.objects.all().delete()
    from riskdesk.book.models import Price

    Price.objects.filter(instrument=call_book["tencent"]).update(last=D("280"))
    command(once=True, poll=0.5)
    out = capsys.readouterr().out
    assert "screened 2 account(s)" in out and "1 open call(s)" in out


def test_daily_task_screens_and_snapshots_open_calls(
    call_book, run_monitor, drop, monitor_at, django_capture_on_commit_callbacks
):
    from riskdesk.jobs.models import JobRun
    from riskdesk.jobs.scheduler import JOBS, run_due

    run_monitor()
    drop("280")
    job = next(j for j in JOBS if j.name == "margin-call-daily")
    # 18:00 HKT on a trading day: the scheduler queues it and the (immediate) worker runs it
    with django_capture_on_commit_callbacks(execute=True):
        run_due(datetime(2026, 12, 23, 18, 0, tzinfo=monitor_at.tzinfo), [job])
    run = JobRun.objects.get(job="margin-call-daily")
    assert run.status == "done" and run.result == {"screened": 2, "snapshots": 1}
    assert the_call().snapshots.filter(reason="daily").count() == 1
