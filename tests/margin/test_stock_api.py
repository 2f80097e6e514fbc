"""MR-1 / MR-2 / MR-3 API: read, submit a change request, approve, sync or revoke the setting
record; errors name the field; the auditor reads and writes nothing."""

import json
from decimal import Decimal

import pytest

from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest
from riskdesk.margin.models import MarginSetting, StockMargin

pytestmark = pytest.mark.django_db
RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def ratios(book):
    with seeding("test"):
        StockMargin.objects.create(
            instrument=book["tencent"],
            im=Decimal("0.4"),
            mcm=Decimal("0.35"),
            mm=Decimal("0.3"),
            fm=Decimal("0.25"),
        )
        StockMargin.objects.create(
            instrument=book["dead"],
            im=Decimal("0.8"),
            mcm=Decimal("0.7"),
            mm=Decimal("0.6"),
            fm=Decimal("0.5"),
        )
    return book


def test_list_and_read(api, ratios):
    auditor = api("auditor")
    rows = auditor.get("/api/v1/margin/stocks").json()
    assert rows == [
        {
            "code": "1234.HK",
            "name": "Gone Ltd",
            "market": "HK",
            "status": "delisted",
            "im": "0.8000",
            "mcm": "0.7000",
            "mm": "0.6000",
            "fm": "0.5000",
            "pending_settings": 0,
        },
        {
            "code": "700.HK",
            "name": "Tencent",
            "market": "HK",
            "status": "normal",
            "im": "0.4000",
            "mcm": "0.3500",
            "mm": "0.3000",
            "fm": "0.2500",
            "pending_settings": 0,
        },
    ]
    assert [r["code"] for r in auditor.get("/api/v1/margin/stocks", {"im_max": "0.5"}).json()] == [
        "700.HK"
    ]
    assert [
        r["code"] for r in auditor.get("/api/v1/margin/stocks", {"status": "delisted"}).json()
    ] == ["1234.HK"]
    one = auditor.get("/api/v1/margin/stocks/700.HK").json()
    assert one["marginable"] is True and one["ratio"]["mm"] == "0.3000"
    assert auditor.get("/api/v1/margin/stocks/1234.HK").json()["marginable"] is False  # delisted
    apple = auditor.get("/api/v1/margin/stocks/AAPL.US").json()
    assert apple["ratio"] is None and apple["marginable"] is False
    r = auditor.get("/api/v1/margin/stocks/NOPE.HK")
    assert r.status_code == 404 and r.json()["field"] == "code"


def test_submit_approve_sync(api, users, ratios, approve):
    officer = api("officer")
    r = post(officer, "/api/v1/margin/stocks/700.HK", {**RATIO, "note": "review"})
    assert r.status_code == 201
    request_id = r.json()["id"]
    assert r.json()["flow"] == "margin.stock_long" and r.json()["waiting_for"] == "risk_approver"
    # A second request for the same stock: 409 naming the pending one.
    r = post(officer, "/api/v1/margin/stocks/700.HK", RATIO)
    assert r.status_code == 409 and r.json()["request_id"] == request_id
    approve(ChangeRequest.objects.get(pk=request_id))
    settings = officer.get("/api/v1/margin/settings", {"request_id": request_id}).json()
    assert [(s["code"], s["status"], s["after"]["im"]) for s in settings] == [
        ("700.HK", "pending", "0.5000")
    ]
    detail = officer.get("/api/v1/margin/stocks/700.HK").json()
    assert detail["ratio"]["im"] == "0.4000" and len(detail["pending_settings"]) == 1
    setting_id = settings[0]["id"]
    r = post(officer, f"/api/v1/margin/settings/{setting_id}/sync")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["acted_by"]) == ("triggered", "officer")
    assert r.json()["before"] == {"im": "0.4000", "mcm": "0.3500", "mm": "0.3000", "fm": "0.2500"}
    assert officer.get("/api/v1/margin/stocks/700.HK").json()["ratio"]["im"] == "0.5000"
    # Not pending any more: 409.
    r = post(officer, f"/api/v1/margin/settings/{setting_id}/revoke")
    assert r.status_code == 409 and "is triggered" in r.json()["reason"]
    assert post(officer, "/api/v1/margin/settings/999999/sync").status_code == 404


def test_errors_name_the_field(api, ratios):
    officer = api("officer")
    r = post(officer, "/api/v1/margin/stocks/700.HK", {**RATIO, "mm": "0.5"})
    assert r.status_code == 422
    assert r.json()["field"] == "mm" and r.json()["reason"].startswith("must not exceed mcm")
    r = post(officer, "/api/v1/margin/stocks/AAPL.US", {"action": "delete"})
    assert r.status_code == 422 and r.json() == {
        "field": "action",
        "reason": "AAPL.US has no ratio to delete",
        "request_id": None,
    }
    r = post(officer, "/api/v1/margin/stocks/NOPE.HK", RATIO)
    assert r.status_code == 404
    r = post(
        officer,
        "/api/v1/margin/stocks-batch",
        {"rows": [{"code": "700.HK", **RATIO, "fm": "0.41"}]},
    )
    assert r.status_code == 422 and r.json()["reason"].startswith(
        "row 1 (700.HK) fm: must not exceed mm"
    )
    assert not ChangeRequest.objects.exists()


def test_delete_revoke_and_batch(api, users, ratios, approve):
    officer = api("officer")
    r = post(officer, "/api/v1/margin/stocks/700.HK", {"action": "delete"})
    approve(ChangeRequest.objects.get(pk=r.json()["id"]))
    setting = MarginSetting.objects.get()
    r = post(officer, f"/api/v1/margin/settings/{setting.pk}/revoke")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert StockMargin.objects.filter(instrument=ratios["tencent"]).exists()
    r = post(
        officer,
        "/api/v1/margin/intraday-batch",
        {"rows": [{"code": "700.HK", **RATIO}, {"code": "AAPL.US", **RATIO}]},
    )
    assert r.status_code == 201
    approve(ChangeRequest.objects.get(pk=r.json()["id"]))
    assert MarginSetting.objects.filter(book="intraday", status="pending").count() == 2


def test_intraday_and_rules(api, book, approve):
    officer = api("officer")
    r = post(
        officer,
        "/api/v1/margin/intraday/700.HK",
        {"im": "0.25", "mcm": "0.2", "mm": "0.15", "fm": "0.1"},
    )
    assert r.status_code == 201 and r.json()["flow"] == "margin.intraday"
    rules = officer.get("/api/v1/margin/intraday-rules").json()
    assert [(x["market"], x["exists"], x["active_now"]) for x in rules] == [
        ("HK", False, False),
        ("US", False, False),
    ]
    r = post(
        officer,
        "/api/v1/margin/intraday-rules/HK",
        {"starts_after_open": 0, "ends_before_close": 500},
    )
    assert r.status_code == 422 and r.json()["field"] == "ends_before_close"
    r = post(
        officer,
        "/api/v1/margin/intraday-rules/HK",
        {"starts_after_open": 0, "ends_before_close": 30},
    )
    assert r.status_code == 201
    approve(ChangeRequest.objects.get(pk=r.json()["id"]))
    rules = officer.get("/api/v1/margin/intraday-rules").json()
    assert (rules[0]["exists"], rules[0]["ends_before_close"]) == (True, 30)
    assert (
        post(
            officer,
            "/api/v1/margin/intraday-rules/XX",
            {"starts_after_open": 0, "ends_before_close": 3},
        ).status_code
        == 404
    )
    assert officer.get("/api/v1/margin/intraday").json() == []  # nothing synchronised yet


def test_the_auditor_and_the_approver_read_but_write_nothing(api, ratios, propose, approve):
    approve(propose("margin.stock_long", ratios["tencent"], RATIO))
    setting = MarginSetting.objects.get()
    for name in ("auditor", "approver"):
        client = api(name)
        assert client.get("/api/v1/margin/settings").status_code == 200
        assert client.get(f"/api/v1/margin/settings/{setting.pk}").status_code == 200
        assert client.get("/api/v1/margin/intraday-rules").status_code == 200
        for url, body in [
            ("/api/v1/margin/stocks/AAPL.US", RATIO),
            ("/api/v1/margin/stocks-batch", {"rows": [{"code": "AAPL.US", **RATIO}]}),
            ("/api/v1/margin/intraday/700.HK", RATIO),
            ("/api/v1/margin/intraday-batch", {"rows": [{"code": "AAPL.US", **RATIO}]}),
            ("/api/v1/margin/intraday-rules/HK", {"starts_after_open": 0, "ends_before_close": 30}),
            (f"/api/v1/margin/settings/{setting.pk}/sync", {}),
            (f"/api/v1/margin/settings/{setting.pk}/revoke", {}),
        ]:
            r = post(client, url, body)
            assert r.status_code == 403, (name, url, r.status_code)
            assert r.json()["field"] == "authorization"
    setting.refresh_from_db()
    assert setting.status == "pending" and ChangeRequest.objects.count() == 1
