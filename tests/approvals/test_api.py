"""PL-3 API: list, read, approve, reject, withdraw; the same rules as the console."""

import json

import pytest

from riskdesk.approvals.models import ChangeRequest
from tests.approvals.conftest import submit_total

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_list_read_approve(api, users, company):
    request = submit_total(users["officer"], company, "123")
    approver = api("approver")
    listed = approver.get("/api/v1/approvals", {"waiting_for_me": "true"}).json()
    assert [r["id"] for r in listed] == [request.pk] and listed[0]["waiting_for"] == "risk_approver"
    read = approver.get(f"/api/v1/approvals/{request.pk}").json()
    assert read["before"]["total_credit"] == "0.00" and read["after"]["total_credit"] == "123.00"
    done = post(approver, f"/api/v1/approvals/{request.pk}/approve", {"comment": "api"}).json()
    assert done["status"] == "applied" and [a["kind"] for a in done["actions"]] == [
        "submit",
        "approve",
        "apply",
    ]


def test_maker_approval_is_refused(api, users, company):
    request = submit_total(users["officer"], company, "123")
    r = post(api("officer"), f"/api/v1/approvals/{request.pk}/approve")
    assert r.status_code == 403 and "maker of a request cannot approve" in r.json()["reason"]
    r = post(api("officer"), f"/api/v1/approvals/{request.pk}/withdraw", {"comment": "later"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_reject_without_comment_is_refused_then_with_one(api, users, company):
    request = submit_total(users["officer"], company, "123")
    assert post(api("approver"), f"/api/v1/approvals/{request.pk}/reject").status_code == 403
    r = post(api("approver"), f"/api/v1/approvals/{request.pk}/reject", {"comment": "no basis"})
    assert r.json()["status"] == "rejected"
    assert ChangeRequest.objects.get().status == "rejected"


def test_auditor_may_read_not_act(api, users, company):
    request = submit_total(users["officer"], company, "123")
    auditor = api("auditor")
    assert auditor.get(f"/api/v1/approvals/{request.pk}").status_code == 200
    assert post(auditor, f"/api/v1/approvals/{request.pk}/approve").status_code == 403
    assert api("officer").get("/api/v1/approvals/999999").status_code == 404
