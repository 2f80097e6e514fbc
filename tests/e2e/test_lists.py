"""List pages in a browser (PL-1, PL-6): htmx filters, keyset pagination, .xlsx export, and
the account detail's figures."""

import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def many_clients(e2e_book):
    """58 more clients, P001…P058: with C1 and C2, 60 rows sorted by code, so page 1 holds
    C1, C2, P001…P048 and page 2 holds P049…P058."""
    from riskdesk.book.models import Client

    Client.objects.bulk_create(Client(code=f"P{i:03d}", name=f"Pager {i}") for i in range(1, 59))


def test_filter_accounts_by_type_swaps_the_table_in_place(login):
    page = login("officer")
    page.locator("nav.menu").get_by_role("link", name="Accounts", exact=True).click()
    count = page.get_by_test_id("row-count")
    rows = page.locator("#rows tbody tr")
    expect(count).to_have_text("4 rows")
    expect(rows.locator("td:nth-child(1)")).to_have_text(["K1", "K2", "M1", "M2"])

    page.evaluate("window.__sameDocument = true")
    page.locator("form.filters select[name=type]").select_option(label="Margin")
    expect(page).to_have_url(re.compile(r"/book/accounts/\?(.*&)?type=margin(&|$)"))
    expect(count).to_have_text("2 rows")
    expect(rows.locator("td:nth-child(1)")).to_have_text(["M1", "M2"])
    expect(rows.locator("td:nth-child(4)")).to_have_text(["Margin", "Margin"])
    # htmx swapped #rows: the document (and the flag set on its window) survived.
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("h1")).to_have_count(1)


def test_keyset_pagination_next_and_previous(login, many_clients, live_server):
    page = login("auditor")
    page.locator("nav.menu").get_by_role("link", name="Clients", exact=True).click()
    codes = page.locator("#rows tbody tr td:nth-child(1)")
    pager = page.locator(".pager")
    expect(page.get_by_test_id("row-count")).to_have_text("60 rows")
    expect(codes).to_have_count(50)
    expect(codes.first).to_have_text("C1")
    expect(codes.last).to_have_text("P048")
    expect(pager.get_by_role("link", name="Previous")).to_have_count(0)

    pager.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"[?&]after="))
    expect(codes).to_have_count(10)
    expect(codes).to_have_text([f"P{i:03d}" for i in range(49, 59)])
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)

    pager.get_by_role("link", name="Previous").click()
    expect(page).to_have_url(re.compile(r"[?&]before="))
    expect(codes).to_have_count(50)
    expect(codes.first).to_have_text("C1")
    expect(codes.last).to_have_text("P048")
    expect(pager.get_by_role("link", name="Previous")).to_have_count(0)
    expect(pager.get_by_role("link", name="Next")).to_be_visible()


def test_export_the_filtered_ledger(login, tmp_path):
    from riskdesk.book.models import CashEntry

    page = login("officer")
    page.locator("nav.menu").get_by_role("link", name="Cash ledger", exact=True).click()
    count = page.get_by_test_id("row-count")
    # M1: 2 deposits, 3 trades, 1 fee; K1: 1 deposit.
    expect(count).to_have_text("7 rows")
    page.locator("form.filters input[name=account]").fill("M1")
    page.locator("form.filters select[name=kind]").select_option(label="Trade")
    expect(count).to_have_text("3 rows")
    expect(page).to_have_url(re.compile(r"account=M1.*kind=trade"))

    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    download = info.value
    assert re.fullmatch(r"ledger-\d{8}-\d{6}\.xlsx", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path).active
    header, *body = list(sheet.iter_rows(values_only=True))
    assert header == (
        "Entry",
        "Time",
        "Account",
        "Kind",
        "Currency",
        "Amount",
        "Note",
        "Event key",
    )
    expected = CashEntry.objects.filter(account__number="M1", kind="trade").order_by("-id")
    assert [row[0] for row in body] == [e.id for e in expected]
    # Newest first: short 1 call @ 5 × 100 = +500 USD; 10 AAPL @ 190 = -1,900 USD;
    # 200 700.HK @ 380 = -76,000 HKD.
    assert [(r[2], r[3], r[4], Decimal(str(r[5]))) for r in body] == [
        ("M1", "Trade", "USD", Decimal("500")),
        ("M1", "Trade", "USD", Decimal("-1900")),
        ("M1", "Trade", "HKD", Decimal("-76000")),
    ]


def test_account_detail_figures(login, live_server):
    page = login("officer")
    page.locator("nav.menu").get_by_role("link", name="Accounts", exact=True).click()
    page.locator("#rows").get_by_role("link", name="M1", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/book/accounts/M1/")
    # HKD cash: 100,000 − 200 × 380 − 50 fee = 23,950.00
    # USD cash: 1,000 − 10 × 190 + 1 × 5 × 100 = −400.00 → × 7.8 = −3,120.00 HKD
    # cash (HKD) = 23,950 − 3,120 = 20,830.00
    # long MV: 200 × 400 = 80,000 + 10 × 200 × 7.8 = 15,600 → 95,600.00
    # short MV: −1 × 5.5 × 100 × 7.8 = −4,290.00
    # equity = 20,830 + 95,600 − 4,290 = 112,140.00
    expect(page.get_by_test_id("cash-base")).to_have_text("20,830.00")
    expect(page.get_by_test_id("equity")).to_have_text("112,140.00")

    def card(label):
        return page.locator(".card", has=page.locator(".label", has_text=label)).locator(".value")

    expect(card("Long market value")).to_have_text("95,600.00")
    expect(card("Short market value")).to_have_text("-4,290.00")
    balances = page.locator(".panel", has_text="Cash by currency").locator("tbody tr")
    expect(balances).to_have_count(2)
    expect(balances.nth(0)).to_contain_text("23,950.00")
    expect(balances.nth(1)).to_contain_text("-3,120.00")
