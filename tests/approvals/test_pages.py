"""PL-3 pages: waiting count, lists, detail with before → after, approve / reject / withdraw,
bulk approval, and the record showing its pending change, request link and history."""

import pytest

from riskdesk.approvals.models import ChangeRequest
from riskdesk.credit.models import CompanyCredit

pytestmark = pytest.mark.django_db

FORM = {
    "total_credit": "800000000",
    "approved_warning": "700000000",
    "HKD.max_financing": "600000000",
    "HKD.financing_warning": "500000000",
    "HKD.advance_warning": "1000000",
    "USD.max_financing": "50000000",
    "USD.financing_warning": "40000000",
    "USD.advance_warning": "100000",
    "note": "annual review",
}


def login(client, users, name):
    client.force_login(users[name])
    return client


def test_edit_form_submits_a_request_and_changes_nothing(client, users):
    login(client, users, "officer")
    r = client.post("/credit/company/edit/", FORM)
    change = ChangeRequest.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/approvals/requests/{change.pk}/"
    assert CompanyCredit.objects.get().total_credit == 0
    page = client.get("/credit/company/").content.decode()
    assert (
        f"request #{change.pk}" in page and 'data-testid="edit"' not in page
    )  # pending shown, no second edit


def test_edit_form_shows_the_field_error(client, users):
    login(client, users, "officer")
    r = client.post("/credit/company/edit/", {**FORM, "approved_warning": "900000000"})
    assert (
        r.status_code == 200 and "must not exceed the total financing credit" in r.content.decode()
    )
    assert not ChangeRequest.objects.exists()


def test_approver_sees_count_and_detail_then_approves(client, users):
    login(client, users, "officer").post("/credit/company/edit/", FORM)
    change = ChangeRequest.objects.get()
    login(client, users, "approver")
    page = client.get("/").content.decode()
    assert 'data-testid="approvals-waiting"' in page and '<span class="badge warn">1</span>' in page
    detail = client.get(f"/approvals/requests/{change.pk}/").content.decode()
    assert (
        "Total financing credit" in detail
        and "800,000,000.00" in detail
        and 'data-testid="approve"' in detail
    )
    client.post(f"/approvals/requests/{change.pk}/approve/", {"comment": "ok"})
    change.refresh_from_db()
    assert change.status == "applied"
    company = client.get("/credit/company/").content.decode()
    assert "800,000,000.00" in company and f'href="/approvals/requests/{change.pk}/"' in company


def test_the_maker_sees_no_approve_button_and_the_post_is_refused(client, users):
    login(client, users, "officer").post("/credit/company/edit/", FORM)
    change = ChangeRequest.objects.get()
    detail = client.get(f"/approvals/requests/{change.pk}/").content.decode()
    assert 'data-testid="approve"' not in detail and 'data-testid="withdraw"' in detail
    client.post(f"/approvals/requests/{change.pk}/approve/")
    change.refresh_from_db()
    assert change.status == "pending"


def test_auditor_reads_everything_and_changes_nothing(client, users):
    login(client, users, "officer").post("/credit/company/edit/", FORM)
    change = ChangeRequest.objects.get()
    login(client, users, "auditor")
    for url in (
        "/approvals/all/",
        f"/approvals/requests/{change.pk}/",
        "/credit/company/",
        "/approvals/flows/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/credit/company/edit/").status_code == 403
    client.post(f"/approvals/requests/{change.pk}/approve/")
    client.post(f"/approvals/requests/{change.pk}/reject/", {"comment": "no"})
    client.post("/approvals/bulk-approve/", {"ids": [change.pk]})
    change.refresh_from_db()
    assert change.status == "pending"
    assert (
        client.post(
            "/approvals/flows/credit.company_limit/", {"routes": "default: auditor x1"}
        ).status_code
        == 403
    )


def test_waiting_list_and_bulk_approve(client, users):
    login(client, users, "officer").post("/credit/company/edit/", FORM)
    change = ChangeRequest.objects.get()
    login(client, users, "approver")
    listing = client.get("/approvals/waiting/")
    assert [row[0]["value"] for row in listing.context["rows"]] == [change.pk]
    r = client.post("/approvals/bulk-approve/", {"ids": [str(change.pk)], "comment": "batch"})
    assert r.status_code == 200 and f'data-request="{change.pk}"' in r.content.decode()
    change.refresh_from_db()
    assert change.status == "applied"
    assert client.get("/approvals/waiting/").context["rows"] == []


def test_list_filters_by_flow_status_and_maker(client, users):
    login(client, users, "officer").post("/credit/company/edit/", FORM)
    login(client, users, "auditor")
    assert (
        client.get("/approvals/all/", {"status": "pending", "maker": "officer"}).context["result"][
            "count"
        ]
        == 1
    )
    assert client.get("/approvals/all/", {"status": "applied"}).context["result"]["count"] == 0


def test_administrator_edits_a_flow_and_the_edit_is_history(client, users):
    from riskdesk.approvals.models import FlowRoute

    login(client, users, "admin")
    r = client.post(
        "/approvals/flows/credit.company_limit/",
        {"routes": "total_credit_change > 1,000,000: risk_approver x2\ndefault: risk_approver x1"},
    )
    assert r.status_code == 302
    routes = list(
        FlowRoute.objects.filter(flow__key="credit.company_limit").values_list(
            "condition_field", "condition_op", "condition_value"
        )
    )
    assert (
        routes[0][:2] == ("total_credit_change", ">")
        and routes[0][2] == 1000000
        and routes[1][0] == ""
    )
    page = client.get("/approvals/flows/").content.decode()
    assert "administrator admin" in page  # the change record names the editor
    bad = client.post("/approvals/flows/credit.company_limit/", {"routes": "default: pilot x1"})
    assert "unknown role pilot" in bad.content.decode()


@pytest.mark.parametrize(
    "text, error",
    [
        ("", "at least the default route"),
        (
            "default: risk_approver x1\namount > 5: risk_approver x2",
            "default route must be the last line",
        ),
        ("amount > 5: risk_approver x2", "last line must be the default"),
        ("amount ~ 5: risk_approver x1\ndefault: risk_approver x1", "a condition is"),
        ("default: risk_approver x0", "at least one approval"),
    ],
)
def test_flow_syntax_errors_are_named(text, error):
    from django import forms

    from riskdesk.approvals.flow_admin import parse_routes

    with pytest.raises(forms.ValidationError, match=error):
        parse_routes(text)
