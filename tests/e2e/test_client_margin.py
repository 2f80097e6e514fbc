"""MR-5 / MR-6 in the browser: a client-group override, proposed by the officer and approved
by the approver, changes the ratio shown (and the reason given) on an account's position."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def group_with_c1(users, book):
    """700.HK has a long ratio of 40%; client C1 is in the margin group VIP (set up through
    approval, as any group is)."""
    from riskdesk.approvals import services
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    with seeding("test"):
        StockMargin.objects.create(
            instrument=book["tencent"],
            im=Decimal("0.40"),
            mcm=Decimal("0.35"),
            mm=Decimal("0.30"),
            fm=Decimal("0.25"),
        )
    request = services.submit(
        flow="lists.client_group",
        target=None,
        payload={"name": "VIP", "business_type": "margin", "members": ["C1"]},
        maker=users["officer"],
    )
    services.approve(request_id=request.pk, user=users["approver"])


def position_row(page, code):
    return page.get_by_test_id("margin-panel").locator(f"tr[data-code='{code}']")


def test_client_group_override_changes_the_ratio_shown(login, live_server, group_with_c1):
    # Before: M1's 700.HK uses the stock's own ratio.
    page = login("officer")
    page.goto("/book/accounts/M1/")
    row = position_row(page, "700.HK")
    expect(row.get_by_test_id("im-ratio")).to_have_text("0.4000")
    expect(row.get_by_test_id("why")).to_contain_text("long margin ratio of the stock")

    # The officer proposes 20% for the VIP group on 700.HK.
    page.goto("/margin/client-rules/new/long/")
    page.locator("#id_client_group").select_option("VIP")
    page.locator("#id_stock").fill("700.HK")
    for field, value in (("im", "0.20"), ("mcm", "0.15"), ("mm", "0.12"), ("fm", "0.10")):
        page.locator(f"#id_{field}").fill(value)
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status")).to_have_text("Pending")
    request_url = page.url
    # Nothing changes until it is approved.
    page.goto("/book/accounts/M1/")
    expect(position_row(page, "700.HK").get_by_test_id("im-ratio")).to_have_text("0.4000")
    page.get_by_role("button", name="Log out").click()

    # The approver approves it.
    login("approver")
    page.goto(request_url)
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_text("Applied")

    # After: the account's 700.HK uses the group rule, and says so with a link to it.
    page.goto("/book/accounts/M1/")
    row = position_row(page, "700.HK")
    expect(row.get_by_test_id("im-ratio")).to_have_text("0.2000")
    why = row.get_by_test_id("why")
    expect(why).to_contain_text("client group VIP × stock 700.HK")
    why.get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("Client margin rule #")
    expect(page.locator("main")).to_contain_text("VIP")
