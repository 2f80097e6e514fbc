"""MR-1 / MR-3 in the browser: the officer batch-imports ratios with one bad row and sees why,
fixes the file and confirms (one request); the approver approves; the officer opens the
setting records, synchronises one and sees its ratio in force on the stock list."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#id_username")).to_be_visible()


def open_menu(page, entry: str):
    page.locator("nav.menu summary").filter(has_text=re.compile(r"^Margin$")).click()
    page.locator("nav.menu").get_by_role("link", name=entry, exact=True).click()


def test_batch_import_approve_then_sync(login, live_server, tmp_path):
    from riskdesk.approvals.models import ChangeRequest
    from riskdesk.margin.models import MarginSetting, StockMargin

    page = login("officer")
    open_menu(page, "Long stock margin")
    expect(page.locator("h1")).to_have_text("Long stock margin")
    expect(page.get_by_test_id("row-count")).to_have_text("0 rows")
    page.get_by_role("link", name="Batch import").click()
    expect(page.locator("h1")).to_have_text("Batch import: Long stock margin")

    def upload(name: str, apple_mm: str):
        path = tmp_path / name
        path.write_text(
            "code,im,mcm,mm,fm,effective_date\n"
            "700.HK,0.5,0.45,0.4,0.3,\n"
            f"AAPL.US,0.7,0.65,{apple_mm},0.5,\n"
        )
        page.locator("input[type=file]").set_input_files(path)
        page.get_by_role("button", name="Upload and preview").click()
        expect(page).to_have_url(re.compile(r"/imports/batch/\d+/$"))

    # One bad row: the maintenance margin above the margin-call margin, named in the error.
    upload("bad.csv", "0.66")
    expect(page.get_by_test_id("preview-summary")).to_have_text("2 rows, 1 with errors")
    expect(page.locator('tr[data-line="3"] td.errors')).to_have_text(
        "mm: must not exceed mcm (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got mm 0.66 > mcm 0.65"
    )
    expect(page.get_by_role("button", name="Confirm and apply")).to_have_count(0)
    assert not ChangeRequest.objects.exists()

    # Fixed: confirm → one request for the batch, waiting for the approver.
    page.get_by_role("link", name="Upload a corrected file").click()
    upload("fixed.csv", "0.6")
    expect(page.get_by_test_id("preview-summary")).to_have_text("2 rows, 0 with errors")
    page.get_by_role("button", name="Confirm and apply").click()
    expect(page).to_have_url(re.compile(r"/approvals/requests/\d+/$"))
    request_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    expect(page.locator(".messages .success")).to_have_text(
        f"Request #{request_id} submitted for approval: 2 rows."
    )
    expect(page.get_by_test_id("status")).to_have_text("Pending")
    assert ChangeRequest.objects.get().flow == "margin.stock_long_batch"
    log_out(page)

    # The approver approves: two setting records, not yet triggered; no ratio in force yet.
    login("approver")
    page.get_by_test_id("approvals-waiting").click()
    page.get_by_role("link", name=str(request_id), exact=True).click()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_text("Applied")
    assert MarginSetting.objects.filter(status="pending").count() == 2
    assert not StockMargin.objects.exists()
    log_out(page)

    # The officer synchronises the 700.HK record; its ratio is in force on the list.
    login("officer")
    open_menu(page, "Setting records")
    expect(page.get_by_test_id("row-count")).to_have_text("2 rows")
    tencent = MarginSetting.objects.get(instrument__code="700.HK")
    record = page.locator("table.grid tbody tr", has_text="700.HK")
    expect(record).to_contain_text("Not triggered")
    record.locator(f'a[href="/margin/settings/{tencent.pk}/"]').click()
    expect(page.get_by_test_id("setting-status")).to_have_text("Not triggered")
    expect(page.get_by_test_id("request")).to_have_text(f"#{request_id}")
    page.get_by_test_id("sync").click()
    expect(page.locator(".messages .success")).to_have_text(
        f"Setting record #{tencent.pk} synchronised: 700.HK now uses the new ratio."
    )
    expect(page.get_by_test_id("setting-status")).to_have_text("Triggered")
    expect(page.get_by_test_id("acted")).to_contain_text("Olivia Chan")

    page.locator("nav.menu").get_by_role("link", name="Long stock margin", exact=True).click()
    expect(page.get_by_test_id("row-count")).to_have_text("1 row")
    row = page.locator("table.grid tbody tr").first
    expect(row).to_contain_text("700.HK")
    expect(row.locator("td").nth(4)).to_have_text("0.50")  # IM
    expect(row.locator("td").nth(6)).to_have_text("0.40")  # MM
    # The stock page: the ratio in force and its change record stamped with the request.
    row.get_by_role("link", name="700.HK").click()
    expect(page.locator("[data-field=im]")).to_have_text("0.5000")
    expect(page.get_by_test_id("history").locator("tbody tr").first).to_contain_text(
        f"#{request_id}"
    )
