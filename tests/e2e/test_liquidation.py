"""MC-1, PL-7, MC-10, MC-4 in the browser, the way a risk officer works a call:

the alerts page is open; 700.HK drops to 150 and M2 appears without a reload (call 17,500 =
MCM 67,500 − lna 50,000); the officer opens the call, sends the notice by e-mail (received by
the test's SMTP server, in the client's language); opens the liquidation ticket, where the
planner proposes selling 300 700.HK (3 lots: 67.5 × 700 = 47,250 ≤ 50,000) and shows the
figures after; places it; the simulated exchange fills at 150; the monitor applies the fill
and the call ends and is listed under history.
"""

import email
from email import policy

import pytest
from playwright.sync_api import expect

from tests.mailserver import smtp_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp(settings):
    with smtp_server(settings) as inbox:
        yield inbox


def test_notice_then_liquidate_with_the_planner_until_the_call_ends(margined, login, post, smtp):
    from riskdesk.book.models import CashBalance, Position
    from riskdesk.liquidation.models import LiquidationOrder
    from riskdesk.margincall import monitor
    from riskdesk.margincall.models import MarginCall

    page = login("officer")
    page.goto("/margincall/alerts/?poll=1")
    expect(page.locator("#rows tbody")).to_contain_text("No rows match these filters.")
    post("price_update", prices=[{"instrument": "700.HK", "last": "150"}])
    assert monitor.process_events() > 0
    row = page.locator("#rows tbody tr", has_text="M2")
    expect(row).to_be_visible(timeout=5_000)
    expect(row).to_contain_text("17,500.00")

    # The notice, by e-mail, in the client's language (C2: Traditional Chinese).
    row.get_by_role("link", name="M2").click()
    expect(page.get_by_test_id("fig-call_amount")).to_have_text("17,500.00")
    page.get_by_test_id("send-notice").click()
    expect(page.get_by_test_id("notice-messages")).to_contain_text("c2@example.com")
    (recipients, raw), *_ = smtp.wait_for(1)
    assert recipients == ["c2@example.com"]
    body = email.message_from_bytes(raw, policy=policy.default).get_body().get_content()
    assert "追加保證金金額：HKD 17,500.00" in body

    # The planner's proposal, with the figures after, then the orders.
    page.get_by_test_id("liquidate").click()
    expect(page.get_by_test_id("line-700.HK")).to_contain_text("300")
    expect(page.get_by_test_id("before-call_amount")).to_have_text("17,500.00")
    expect(page.get_by_test_id("after-req_mcm")).to_have_text("47,250.00")
    expect(page.get_by_test_id("after-call_amount")).to_have_text("0.00")
    expect(page.get_by_test_id("cured")).to_contain_text("Cures the call")
    page.get_by_test_id("place").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Open")
    orders = page.get_by_test_id("liquidation").get_by_test_id("orders")
    expect(orders.locator("tr[data-status=filled]")).to_contain_text("700.HK")

    order = LiquidationOrder.objects.get(account__number="M2")
    assert (order.side, order.quantity, order.filled_quantity) == ("sell", 300, 300)
    assert Position.objects.get(account__number="M2").quantity == 700
    cash = CashBalance.objects.get(account__number="M2", currency="HKD").balance
    assert str(cash) == "-55000.00"  # −100,000 + 300 × 150

    # The monitor applies the fill: the call ends and moves to history.
    assert monitor.process_events() > 0
    call = MarginCall.objects.get(account__number="M2")
    assert call.status == "ended"
    page.reload()
    expect(page.get_by_test_id("call-status")).to_have_text("Ended")
    page.goto("/margincall/alerts/")
    expect(page.locator("#rows tbody")).not_to_contain_text("M2")
    page.goto("/margincall/history/")
    expect(page.locator("#rows tbody tr", has_text="M2")).to_be_visible()
