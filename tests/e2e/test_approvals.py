"""PL-3 / CR-5 in the browser: the maker submits a company-credit change; the approver sees
it waiting, approves; the new value shows with its request link and history row; the maker
has no approve button and the endpoint refuses a maker's approval."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#id_username")).to_be_visible()


def test_company_credit_change_goes_through_approval(login, live_server):
    from riskdesk.approvals.models import ChangeRequest
    from riskdesk.credit.models import CompanyCredit

    # The maker proposes a total of 900,000,000 with a warning at 800,000,000.
    page = login("officer")
    page.locator("nav.menu summary", has_text="Credit").first.click()
    page.get_by_role("link", name="Company credit", exact=True).click()
    page.get_by_test_id("edit").click()
    page.get_by_label("Total financing credit").fill("900000000")
    page.get_by_label("Approved-credit warning threshold").fill("800000000")
    page.get_by_label("Note for the approver").fill("Board approval 2026-11")
    page.get_by_test_id("submit").click()
    expect(page).to_have_url(re.compile(r"/approvals/requests/\d+/$"))
    request_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    expect(page.get_by_test_id("status")).to_have_text("Pending")
    # The maker has no approve button; the endpoint refuses the maker anyway.
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("cannot-approve")).to_contain_text("maker")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/approvals/requests/{request_id}/approve/",
        headers={"X-CSRFToken": csrf},
        form={"comment": "self"},
    )
    assert response.ok  # redirected back to the request, which says why
    expect(page.locator("main")).to_be_visible()
    assert ChangeRequest.objects.get(pk=request_id).status == "pending"
    assert CompanyCredit.objects.get().total_credit == 0
    # The record shows the pending change.
    page.goto("/credit/company/")
    expect(page.get_by_test_id("pending-change")).to_contain_text(f"#{request_id}")
    log_out(page)

    # The approver sees one request waiting, opens it, approves.
    login("approver")
    expect(page.get_by_test_id("approvals-waiting")).to_contain_text("1")
    page.get_by_test_id("approvals-waiting").click()
    page.get_by_role("link", name=str(request_id), exact=True).click()
    expect(page.locator("main [data-field=total_credit]")).to_have_text("900,000,000.00")
    page.get_by_label("Comment").fill("Checked against the minute")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_text("Applied")

    # The new value shows with its request link and a history row stamped with the request.
    page.get_by_role("link", name="Open the record").click()
    expect(page.get_by_test_id("total-credit")).to_have_text("900,000,000.00")
    expect(page.get_by_test_id("last-request")).to_have_text(f"#{request_id}")
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr").first).to_contain_text(f"#{request_id}")
    expect(history.locator("tbody tr").first).to_contain_text(
        "total financing credit: 0.00 → 900,000,000.00"
    )
    expect(page.get_by_test_id("approvals-waiting")).to_contain_text("0")
