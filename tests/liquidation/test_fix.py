"""MC-10 over FIX 4.4: liquidation orders placed through the service go out as NewOrderSingle
to a local acceptor (tests/liquidation/fix_acceptor.py), and its execution reports move the
book once — a duplicate changes nothing; partial fill then cancel, a cancel that comes too late
or is refused, a dropped connection, and the ``run_forever`` loop with a clean stop."""

import threading
import time
from decimal import Decimal

import pytest

from riskdesk.book.models import BookEvent, CashBalance, Position
from riskdesk.liquidation import services
from riskdesk.liquidation.fix import FixClient, FixSessionError, run_forever
from riskdesk.liquidation.models import Execution
from tests.liquidation.fix_acceptor import FixAcceptor, tag

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange(settings):
    acceptor = FixAcceptor()
    settings.RISKDESK_ORDER_GATEWAY = "fix"
    settings.RISKDESK_FIX_HOST, settings.RISKDESK_FIX_PORT = "127.0.0.1", acceptor.port
    settings.RISKDESK_FIX_SENDER, settings.RISKDESK_FIX_TARGET = "RISKDESK", "OMS"
    yield acceptor
    acceptor.close()


@pytest.fixture
def client(exchange):
    fix = FixClient(min_backoff=0.02, max_backoff=0.1)
    yield fix
    fix.logout(timeout=0.5)


@pytest.fixture
def m1(book, post):
    """M1 holds 1,000 700.HK (transferred in, no cash) and is short 10 AAPL.US sold at 200
    (USD +2,000.00)."""
    post("transfer_in", account="M1", instrument="700.HK", quantity=1000)
    post("trade_fill", account="M1", instrument="AAPL.US", side="sell", quantity=10, price="200")
    return book["margin"]


def place(account, users, *lines):
    return services.place(account, list(lines), user=users["officer"])


def drive(client, done, timeout=3.0):
    """Run the session step by step (as ``run_forever`` does) until ``done()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.run_once(0.01)
        if done():
            return
    raise AssertionError("the gateway did not get there in time")


def status(order):
    order.refresh_from_db()
    return order.status


def holding(account, code):
    return Position.objects.get(account=account, instrument__code=code).quantity


def cash(account, currency="HKD"):
    row = CashBalance.objects.filter(account=account, currency=currency).first()
    return row.balance if row else D(0)


def test_orders_go_out_as_new_order_single_and_fills_move_the_book(m1, users, exchange, client):
    exchange.modes = {"700.HK": ("fill", "398.5"), "AAPL.US": ("fill", "201.25")}
    sell, buy = place(m1, users, ("700.HK", 600), ("AAPL.US", 10))
    assert (sell.gateway, sell.status, sell.sent_at) == ("fix", "pending", None)

    drive(client, lambda: status(sell) == status(buy) == "filled")

    d_sell, d_buy = exchange.got("D")
    assert {t: tag(d_sell, t) for t in (49, 56, 11, 1, 21, 55, 54, 38, 40)} == {
        49: "RISKDESK",
        56: "OMS",
        11: sell.client_order_id,
        1: "M1",
        21: "1",
        55: "700.HK",
        54: "2",
        38: "600",
        40: "1",
    }
    assert tag(d_sell, 60) and tag(d_sell, 52) and tag(d_sell, 34) == "2"  # 1 was the Logon
    assert (tag(d_buy, 11), tag(d_buy, 55), tag(d_buy, 54), tag(d_buy, 38)) == (
        buy.client_order_id,
        "AAPL.US",
        "1",
        "10",
    )
    (logon,) = exchange.got("A")
    assert (tag(logon, 98), tag(logon, 108), tag(logon, 141)) == ("0", "30", "Y")

    sell.refresh_from_db()
    assert (sell.filled_quantity, sell.average_price) == (600, D("398.500000"))
    assert sell.sent_at is not None
    # 1,000 − 600 = 400 left; 600 × 398.50 = HKD 239,100.00 credited.
    assert holding(m1, "700.HK") == 400
    assert cash(m1) == D("239100.00")
    # Short 10 bought back: USD 2,000.00 − 10 × 201.25 = −12.50.
    assert holding(m1, "AAPL.US") == 0
    assert cash(m1, "USD") == D("-12.50")
    executions = [
        (e.exec_id, e.exec_type, e.last_quantity, e.last_price)
        for e in Execution.objects.filter(order=sell)
    ]
    fill_id = executions[1][0]
    assert executions == [("E1", "new", 0, None), (fill_id, "trade", 600, D("398.500000"))]
    event = BookEvent.objects.get(key=f"liq:fix:{fill_id}")
    assert event.kind == "trade_fill"
    assert (event.payload["quantity"], event.payload["price"]) == (600, "398.5")
    assert event.payload["trade_ref"] == sell.client_order_id
    assert client.counts["applied"] == 4


def test_a_report_delivered_twice_changes_nothing(m1, users, exchange, client):
    exchange.modes = {"700.HK": ("fill", "398.5")}
    (order,) = place(m1, users, ("700.HK", 600))
    drive(client, lambda: status(order) == "filled")
    before = (holding(m1, "700.HK"), cash(m1), BookEvent.objects.count(), Execution.objects.count())

    (fill,) = exchange.reports("F")
    exchange.resend(fill)
    drive(client, lambda: client.counts["duplicate"] == 1)

    after = (holding(m1, "700.HK"), cash(m1), BookEvent.objects.count(), Execution.objects.count())
    assert after == before == (400, D("239100.00"), before[2], 2)
    assert status(order) == "filled"


def test_a_report_for_an_unknown_order_is_skipped(m1, exchange, client):
    client.step(0.05)
    exchange.send("8", [(11, "LQNOSUCH"), (17, "EX1"), (150, "F"), (39, "2"), (32, 100), (31, "1")])
    drive(client, lambda: client.counts["refused"] == 1)
    assert client.connected and not Execution.objects.exists()


def test_partial_fill_then_cancel(m1, users, exchange, client):
    exchange.modes = {"700.HK": ("partial", 200, "401.2")}
    (order,) = place(m1, users, ("700.HK", 500))
    drive(client, lambda: status(order) == "partial")

    services.cancel(order, user=users["officer"], reason="placed in error")
    assert status(order) == "cancel_pending"
    drive(client, lambda: status(order) == "cancelled")

    (cancel,) = exchange.got("F")
    assert (tag(cancel, 41), tag(cancel, 11)) == (
        order.client_order_id,
        f"{order.client_order_id}-C1",
    )
    assert (tag(cancel, 55), tag(cancel, 54), tag(cancel, 38)) == ("700.HK", "2", "500")
    assert tag(cancel, 60)
    order.refresh_from_db()
    assert (order.filled_quantity, order.average_price) == (200, D("401.200000"))
    assert order.cancel_sent_at is not None and order.reason == "placed in error"
    # The partial only: 1,000 − 200 = 800; 200 × 401.20 = HKD 80,240.00.
    assert holding(m1, "700.HK") == 800
    assert cash(m1) == D("80240.00")
    assert BookEvent.objects.filter(kind="trade_fill", key__startswith="liq:fix:").count() == 1


def test_a_cancel_that_comes_too_late_leaves_the_order_filled(m1, users, exchange, client):
    exchange.modes = {"700.HK": ("fill_on_cancel", "399")}
    (order,) = place(m1, users, ("700.HK", 300))
    drive(client, lambda: status(order) == "working")

    services.cancel(order, user=users["officer"])
    drive(client, lambda: client.counts["applied"] == 3)  # new, the fill, the cancel reject

    (reject,) = [m for m in exchange.sent if m.message_type == b"9"]
    assert (tag(reject, 41), tag(reject, 39)) == (order.client_order_id, "2")
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.reason) == (
        "filled",
        300,
        "too late to cancel",
    )
    assert [e.exec_type for e in order.executions.all()] == ["new", "trade", "cancel_rejected"]
    assert order.executions.last().exec_id == f"9-{order.client_order_id}-C1"
    assert (holding(m1, "700.HK"), cash(m1)) == (700, D("119700.00"))  # 300 × 399
    # And a filled order is not cancelled again: the service refuses before any message.
    with pytest.raises(services.LiquidationError):
        services.cancel(order, user=users["officer"])


def test_a_refused_cancel_keeps_the_order_working_and_may_be_asked_again(
    m1, users, exchange, client
):
    exchange.modes = {"700.HK": ("refuse_cancel",)}
    (order,) = place(m1, users, ("700.HK", 100))
    drive(client, lambda: status(order) == "working")
    services.cancel(order, user=users["officer"])
    drive(client, lambda: client.counts["applied"] == 2)
    order.refresh_from_db()
    assert (order.status, order.reason, order.cancel_sent_at) == ("working", "cancel refused", None)

    exchange.modes = {}
    services.cancel(order, user=users["officer"])
    drive(client, lambda: status(order) == "cancelled")
    first, second = exchange.got("F")
    assert (tag(first, 11), tag(second, 11)) == (
        f"{order.client_order_id}-C1",
        f"{order.client_order_id}-C2",
    )


def test_an_order_cancelled_before_it_was_sent_never_leaves(m1, users, exchange, client):
    (order,) = place(m1, users, ("700.HK", 100))
    services.cancel(order, user=users["officer"])
    client.step(0.02)
    assert status(order) == "cancelled"
    assert exchange.got("D") == [] and exchange.got("F") == []


def test_reconnects_and_sends_what_was_lost_or_placed_meanwhile(m1, users, exchange, client):
    # The OMS takes the first order and dies before answering it.
    exchange.modes = {"700.HK": ("drop", ("fill", "400"))}
    (lost,) = place(m1, users, ("700.HK", 100))
    drive(client, lambda: client.counts["failures"] >= 1)
    lost.refresh_from_db()
    assert (lost.status, lost.sent_at is not None, client.connected) == ("pending", True, False)

    (meanwhile,) = place(m1, users, ("700.HK", 200))
    drive(client, lambda: status(lost) == status(meanwhile) == "filled")

    assert exchange.connections == 2 and client.counts["logons"] == 2
    assert [tag(m, 11) for m in exchange.got("D", connection=1)] == [lost.client_order_id]
    again, placed = exchange.got("D", connection=2)
    assert (tag(again, 11), tag(again, 97)) == (lost.client_order_id, "Y")  # PossResend
    assert (tag(placed, 11), tag(placed, 97)) == (meanwhile.client_order_id, None)
    assert (holding(m1, "700.HK"), cash(m1)) == (700, D("120000.00"))  # 300 × 400


def test_heartbeat_and_test_request(m1, exchange, client):
    client.step(0.02)
    client._last_out -= 31  # thirty seconds of our silence
    client.heartbeat()
    exchange.wait_for(lambda: exchange.got("0"))

    client._last_in -= 37  # and of the OMS's: ask whether it is there
    client.heartbeat()
    (ping,) = exchange.wait_for(lambda: exchange.got("1"))
    client.pump(1.0)  # its Heartbeat echoes the TestReqID
    assert tag(exchange.sent[-1], 112) == tag(ping, 112) and client._test_request is None

    exchange.send("1", [(112, "ARE-YOU-THERE")])
    client.pump(1.0)
    exchange.wait_for(lambda: any(tag(m, 112) == "ARE-YOU-THERE" for m in exchange.got("0")))

    client._last_in -= 37
    client.heartbeat()
    client._last_in -= 37
    client._test_request = (client._test_request[0], time.monotonic() - 31)
    with pytest.raises(FixSessionError):
        client.heartbeat()


@pytest.mark.django_db(transaction=True)
def test_run_forever_until_stopped_then_logs_out(m1, users, exchange):
    exchange.modes = {"700.HK": ("fill", "400")}
    (order,) = place(m1, users, ("700.HK", 100))
    client = FixClient(min_backoff=0.02)
    thread = threading.Thread(target=run_forever, kwargs={"poll": 0.02, "client": client})
    thread.start()
    try:
        exchange.wait_for(lambda: exchange.reports("F"))
    finally:
        client.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert exchange.got("5") and status(order) == "filled"
    assert (holding(m1, "700.HK"), cash(m1)) == (900, D("40000.00"))
