"""PL-1 API: post each event, read an account; 4xx with a JSON body naming the field."""

import json
from decimal import Decimal

import pytest

from riskdesk.book.models import BookEvent, CashBalance

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_deposit_through_the_api_then_read_the_account(book, api):
    clearing = api("clearing")
    r = post_json(
        clearing,
        "/api/v1/events/deposit",
        {"key": "dep-1", "payload": {"account": "M1", "currency": "USD", "amount": "1000.00"}},
    )
    assert r.status_code == 201, r.content
    assert r.json()["result"]["balance"] == "1000.00"
    again = post_json(
        clearing,
        "/api/v1/events/deposit",
        {"key": "dep-1", "payload": {"account": "M1", "currency": "USD", "amount": "1000.00"}},
    )
    assert again.status_code == 200 and again.json()["replayed"] is True
    r = post_json(
        clearing,
        "/api/v1/events/transfer-in",
        {"key": "tin-1", "payload": {"account": "M1", "instrument": "700.HK", "quantity": 500}},
    )
    assert r.status_code == 201
    account = api("auditor").get("/api/v1/accounts/M1").json()
    # 1,000 USD × 7.8 = 7,800 HKD; 500 × 400 = 200,000 → equity 207,800
    assert account["cash_base"] == "7800.00"
    assert account["long_mv_base"] == "200000.00"
    assert account["equity_base"] == "207800.00"
    assert account["positions"][0] == {
        "instrument": "700.HK",
        "name": "Tencent",
        "kind": "stock",
        "status": "normal",
        "currency": "HKD",
        "quantity": 500,
        "multiplier": 1,
        "price": "400.000000",
        "price_as_of": account["positions"][0]["price_as_of"],
        "market_value": "200000.00",
        "market_value_base": "200000.00",
    }


def test_bad_input_is_422_naming_the_field_and_nothing_is_written(book, api):
    r = post_json(
        api("clearing"),
        "/api/v1/events/trade-fill",
        {
            "key": "f-1",
            "payload": {
                "account": "M1",
                "instrument": "700.HK",
                "side": "buy",
                "quantity": 100,
                "price": "abc",
            },
        },
    )
    assert r.status_code == 422
    assert r.json()["field"] == "price" and r.json()["reason"] == "not a decimal"
    assert not BookEvent.objects.exists()


def test_missing_key_is_422(book, api):
    r = post_json(
        api("clearing"),
        "/api/v1/events/deposit",
        {"payload": {"account": "M1", "currency": "HKD", "amount": "1"}},
    )
    assert r.status_code == 422 and r.json()["field"] == "key"


def test_reused_key_with_other_payload_is_409(book, api):
    c = api("clearing")
    post_json(
        c,
        "/api/v1/events/deposit",
        {"key": "k", "payload": {"account": "M1", "currency": "HKD", "amount": "1"}},
    )
    r = post_json(
        c,
        "/api/v1/events/deposit",
        {"key": "k", "payload": {"account": "M1", "currency": "HKD", "amount": "2"}},
    )
    assert r.status_code == 409 and r.json()["field"] == "key"
    assert CashBalance.objects.get(account=book["margin"], currency="HKD").balance == Decimal("1")


def test_unknown_account_is_404(book, api):
    assert api("auditor").get("/api/v1/accounts/NOPE").status_code == 404


@pytest.mark.parametrize(
    "kind",
    [
        "deposit",
        "withdrawal",
        "transfer-in",
        "trade-fill",
        "interest-accrual",
        "fx-conversion",
        "price-update",
        "fx-update",
    ],
)
def test_every_event_endpoint_refuses_auditor_and_anonymous(book, api, client, kind):
    body = {"key": f"x-{kind}", "payload": {}}
    assert post_json(client, f"/api/v1/events/{kind}", body).status_code == 401
    r = post_json(api("auditor"), f"/api/v1/events/{kind}", body)
    assert r.status_code == 403 and r.json()["field"] == "authorization"
    r = post_json(api("officer"), f"/api/v1/events/{kind}", body)
    assert r.status_code == 403
    assert not BookEvent.objects.exists()


def test_openapi_docs_list_every_event(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/v1/events/deposit",
        "/api/v1/events/trade-fill",
        "/api/v1/events/fx-update",
        "/api/v1/accounts/{number}",
    } <= paths
    assert client.get("/api/v1/docs").status_code == 200


def test_revoked_token_is_refused(book, users, client):
    from riskdesk.users.models import ApiToken

    token, raw = ApiToken.objects.issue(user=users["auditor"], name="t")
    token.revoked = True
    token.save()
    assert client.get("/api/v1/accounts/M1", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
