"""/api/v1/margin-calls: open calls with totals, one call with events and snapshot ids, a
snapshot's scenario and figures, and annotate (officer yes, auditor 403)."""

from datetime import timedelta

import pytest

from riskdesk.book.models import Account
from riskdesk.margincall.models import MarginCallSnapshot
from tests.margincall.test_pages import make_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(book):
    client = book["client"]
    d1 = Account.objects.create(number="D1", client=client, type="intraday")
    m4 = Account.objects.create(number="M4", client=client, type="margin")
    return {
        "m1": make_call(book["margin"], amount="100.00"),
        "m4": make_call(m4, amount="1000.00", ago=timedelta(days=91), alert="force_close"),
        "d1": make_call(d1, amount="777.00", ago=timedelta(minutes=30)),
    }


def test_list_open_calls_with_totals_and_filters(api, calls):
    officer = api("officer")
    body = officer.get("/api/v1/margin-calls").json()
    assert body["count"] == 3
    assert body["total_call_amount"] == "1877.00"
    assert body["long_outstanding_call_amount"] == "1000.00"
    assert [c["account"] for c in body["items"]] == ["D1", "M1", "M4"]  # newest first
    assert body["items"][0]["triggered_hours"] == 1
    body = officer.get("/api/v1/margin-calls", {"type": "margin", "alert": "force_close"}).json()
    assert [c["account"] for c in body["items"]] == ["M4"]
    assert body["total_call_amount"] == "1000.00"
    assert officer.get("/api/v1/margin-calls", {"alert": "bogus"}).status_code == 422


def test_call_detail_and_snapshot(api, calls):
    call = calls["m1"]
    snap = MarginCallSnapshot.objects.create(
        call=call, reason="triggered", scenario={"accounts": []}, figures={"M1": {"x": "1"}}
    )
    officer = api("auditor")
    body = officer.get(f"/api/v1/margin-calls/{call.pk}").json()
    assert body["call_amount"] == "100.00" and body["snapshots"] == [snap.pk]
    assert [e["kind"] for e in body["events"]] == ["open"]
    snap_body = officer.get(f"/api/v1/margin-calls/snapshots/{snap.pk}").json()
    assert snap_body["scenario"] == {"accounts": []} and snap_body["call"] == call.pk
    assert officer.get("/api/v1/margin-calls/99999").status_code == 404


def test_annotate_officer_records_note_auditor_forbidden(api, calls):
    call = calls["m1"]
    r = api("auditor").post(
        f"/api/v1/margin-calls/{call.pk}/annotate",
        {"note": "x", "exception": True},
        content_type="application/json",
    )
    assert r.status_code == 403 and "annotate_margincall" in r.json()["reason"]
    r = api("officer").post(
        f"/api/v1/margin-calls/{call.pk}/annotate",
        {"note": "called client", "exception": True},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["note"] == "called client" and body["exception"] is True
    note = body["events"][-1]
    assert note["kind"] == "note" and note["actor"] == "officer"
    assert note["after"] == {"note": "called client", "exception": True}
    listed = api("officer").get("/api/v1/margin-calls", {"exception": True}).json()
    assert [c["account"] for c in listed["items"]] == ["M1"]
