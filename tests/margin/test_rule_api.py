"""MR-5 over the API: read rules, submit new rules, edits and invalidations as change requests."""

import pytest

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db

OK = {"im": "0.5", "mcm": "0.4", "mm": "0.3", "fm": "0.2"}


@pytest.fixture
def rule(users, book):
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        created = ClientMarginRule.objects.create(
            side="long", client=book["client"], instrument=book["tencent"], **OK
        )
    return ClientMarginRule.objects.get(pk=created.pk)


def test_list_and_read_rules(api, rule):
    # Arrange
    auditor = api("auditor")

    # Act
    listed = auditor.get("/api/v1/margin/client-rules", {"client": "C1", "side": "long"})
    none = auditor.get("/api/v1/margin/client-rules", {"side": "short"})
    read = auditor.get(f"/api/v1/margin/client-rules/{rule.pk}")

    # Assert
    assert listed.status_code == 200
    assert [(r["id"], r["stock"], r["im"], r["status"]) for r in listed.json()] == [
        (rule.pk, "700.HK", "0.5000", "active")
    ]
    assert none.json() == []
    assert read.json()["client"] == "C1" and read.json()["pending_request"] is None


def test_submit_a_new_rule(api, users, book):
    # Act
    response = api("officer").post(
        "/api/v1/margin/client-rules",
        {
            "side": "short",
            "client": "C1",
            "stock": "700.HK",
            **OK,
            "auto_close_qty": 10,
            "auto_restore_qty": 20,
            "note": "from the desk",
        },
        content_type="application/json",
    )

    # Assert
    assert response.status_code == 201
    body = response.json()
    assert (
        body["flow"] == "margin.client_rule"
        and body["status"] == "pending"
        and body["note"] == "from the desk"
    )
    assert body["after"]["auto_restore_qty"] == 20 and body["after"]["shortable"] == "allowed"
    assert ChangeRequest.objects.get().target_key == "short:C:C1:S:700.HK"


def test_a_refused_payload_is_422_naming_the_field(api, users, book):
    # Act
    response = api("officer").post(
        "/api/v1/margin/client-rules",
        {"side": "long", "client": "C1", "stock": "700.HK", **OK, "mm": "0.5"},
        content_type="application/json",
    )

    # Assert
    assert response.status_code == 422
    assert response.json()["field"] == "mm" and "must not exceed mcm" in response.json()["reason"]


def test_edit_and_invalidate_and_the_pending_lock(api, users, rule):
    # Arrange
    officer = api("officer")

    # Act
    edit = officer.post(
        f"/api/v1/margin/client-rules/{rule.pk}", {"im": "0.6"}, content_type="application/json"
    )
    second = officer.post(
        f"/api/v1/margin/client-rules/{rule.pk}/invalidate", {}, content_type="application/json"
    )
    read = officer.get(f"/api/v1/margin/client-rules/{rule.pk}")

    # Assert
    assert edit.status_code == 201 and edit.json()["after"]["im"] == "0.6000"
    assert second.status_code == 409 and "already proposes" in second.json()["reason"]
    assert read.json()["pending_request"] == edit.json()["id"]

    # Act: approve the edit, then invalidate
    services.approve(request_id=edit.json()["id"], user=users["approver"])
    invalidate = officer.post(
        f"/api/v1/margin/client-rules/{rule.pk}/invalidate",
        {"note": "closed"},
        content_type="application/json",
    )
    services.approve(request_id=invalidate.json()["id"], user=users["approver"])

    # Assert
    assert officer.get(f"/api/v1/margin/client-rules/{rule.pk}").json()["status"] == "invalid"


def test_the_auditor_may_read_but_not_submit(api, rule):
    # Arrange
    auditor = api("auditor")

    # Act
    attempts = [
        auditor.post(
            "/api/v1/margin/client-rules",
            {"side": "long", "client": "C1", "stock": "AAPL.US", **OK},
            content_type="application/json",
        ),
        auditor.post(
            f"/api/v1/margin/client-rules/{rule.pk}", {"im": "0.6"}, content_type="application/json"
        ),
        auditor.post(
            f"/api/v1/margin/client-rules/{rule.pk}/invalidate", {}, content_type="application/json"
        ),
        auditor.post("/api/v1/margin/stock-groups", {"name": "X"}, content_type="application/json"),
        auditor.post(
            "/api/v1/margin/client-groups",
            {"name": "X", "business_type": "margin"},
            content_type="application/json",
        ),
    ]

    # Assert
    assert [r.status_code for r in attempts] == [403] * 5
    assert not ChangeRequest.objects.exists()
