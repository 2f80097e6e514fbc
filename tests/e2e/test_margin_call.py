"""MC-1 in the browser: the officer has the real-time alerts page open (empty); a price drop is
posted to the book and the monitor applies it; without a reload the account's row appears
within the poll interval, marked as new, with the totals; clicking it opens the call's detail
with its call amount."""

import pytest
from playwright.sync_api import expect

from riskdesk.console.templatetags.console import amount

pytestmark = pytest.mark.e2e


def test_price_drop_appears_live_and_opens_the_call(margined, login, post):
    from riskdesk.margincall import monitor
    from riskdesk.margincall.models import MarginCall

    assert not MarginCall.objects.filter(account__number="M2").exists()
    page = login("officer")
    page.locator("nav.menu summary", has_text="Margin call").first.click()
    page.get_by_role("link", name="Real-time alerts", exact=True).click()
    expect(page.locator("h1")).to_have_text("Real-time alerts")
    expect(page.locator("#rows tbody")).not_to_contain_text("M2")
    # A one-second poll for the test (the page's own is five seconds).
    page.goto(page.url.split("?")[0] + "?poll=1")
    expect(page.locator("#rows tbody")).to_contain_text("No rows match these filters.")
    url_before = page.url

    post("price_update", prices=[{"instrument": "700.HK", "last": "150"}])
    assert monitor.process_events() > 0
    call = MarginCall.objects.get(account__number="M2", status="open")
    assert call.alert == "margin_call" and call.call_amount > 0

    row = page.locator("#rows tbody tr", has_text="M2")
    expect(row).to_be_visible(timeout=5_000)
    expect(row).to_have_attribute("data-mark", "new")
    expect(row.get_by_test_id("mark")).to_have_text("new")
    expect(page.get_by_test_id("total-call-amount")).to_have_text(amount(call.call_amount))
    assert page.url == url_before  # no reload, no navigation

    row.get_by_role("link", name="M2").click()
    expect(page.get_by_test_id("fig-call_amount")).to_have_text(amount(call.call_amount))
    expect(page.get_by_test_id("alert")).to_have_text("Margin call")
    expect(page.get_by_test_id("liquidation")).to_contain_text("No liquidation orders.")
