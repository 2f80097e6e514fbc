"""Liquidation API (MC-1, MC-2, MC-10) on ``liq_book`` after the crash (call 17,500)."""

import json

import pytest

from riskdesk.book.models import Position
from riskdesk.liquidation.models import LiquidationOrder


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST JSON; the simulated exchange's answer (on commit) runs before it returns."""

    def _post(client, url, body, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, json.dumps(body), content_type="application/json", **headers)

    return _post


def test_proposal_then_place_idempotently(api, crash, send):
    crash()
    officer = api("officer")
    got = officer.get("/api/v1/liquidation/accounts/M1/proposal").json()
    assert got["lines"] == [
        {
            "instrument": "700.HK",
            "side": "sell",
            "quantity": 300,
            "price": "150.000000",
            "consideration": "45000.00",
            "currency": "HKD",
        }
    ]
    assert got["before"]["call_amount"] == "17500.00" and got["after"]["req_mcm"] == "47250.00"
    assert got["cured"] is True and got["after"]["alert"] == "none"
    body = {"account": "M1", "lines": [{"instrument": "700.HK", "quantity": 300}]}
    first = send(officer, "/api/v1/liquidation/orders", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = send(officer, "/api/v1/liquidation/orders", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()[0]["order_id"] == again.json()[0]["order_id"]
    assert LiquidationOrder.objects.count() == 1
    assert Position.objects.get(account__number="M1").quantity == 700
    listed = officer.get("/api/v1/liquidation/orders?account=M1").json()
    assert [(o["status"], o["filled_quantity"], o["average_price"]) for o in listed] == [
        ("filled", 300, "150.000000")
    ]


def test_refusals_are_422_or_403(api, crash, send):
    crash()
    body = {"account": "M1", "lines": [{"instrument": "700.HK", "quantity": 5000}]}
    refused = send(api("officer"), "/api/v1/liquidation/orders", body)
    assert refused.status_code == 422
    assert refused.json() == {
        "field": "lines.0",
        "reason": "700.HK: 5000 exceeds the 1000 not already being closed by live orders",
    }
    body["lines"][0]["quantity"] = 100
    assert send(api("auditor"), "/api/v1/liquidation/orders", body).status_code == 403
    call_id = crash().pk
    batch = send(api("officer"), "/api/v1/liquidation/batch", {"calls": [call_id]})
    assert batch.status_code == 422 and batch.json()["field"] == "switch"
    assert not LiquidationOrder.objects.exists()
