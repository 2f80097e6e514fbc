"""MR-4 short margin: the pages (list, detail, form, change records, batch import) and the API."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from riskdesk.approvals import services
from riskdesk.approvals.models import ChangeRequest
from riskdesk.margin.models import ShortMargin
from riskdesk.margin.short_services import update_pool

pytestmark = pytest.mark.django_db

RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


@pytest.fixture
def tencent_short(book, users):
    """700.HK short 0.5/0.45/0.4/0.3, auto-close 1,000, auto-restore 4,000, approved."""
    request = services.submit(
        flow="margin.short",
        target=None,
        payload={"code": "700.HK", **RATIO, "auto_close_qty": 1000, "auto_restore_qty": 4000},
        maker=users["officer"],
    )
    services.approve(request_id=request.pk, user=users["approver"])
    return ShortMargin.objects.get(instrument__code="700.HK")


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


# --- API -------------------------------------------------------------------------------------


def test_api_reads_the_list_and_a_stock(api, tencent_short):
    auditor = api("auditor")
    listed = auditor.get("/api/v1/margin/short", {"market": "HK"})
    assert listed.status_code == 200
    assert [(r["code"], r["im"], r["shortable"]) for r in listed.json()] == [
        ("700.HK", "0.5000", "allowed")
    ]
    one = auditor.get("/api/v1/margin/short/700.HK").json()
    assert (one["auto_close_qty"], one["auto_restore_qty"], one["pool_qty"]) == (1000, 4000, None)
    assert auditor.get("/api/v1/margin/short/AAPL.US").status_code == 404


def test_api_submits_a_change_request(api, book, users):
    officer = api("officer")
    response = post_json(officer, "/api/v1/margin/short/700.HK", {**RATIO, "note": "new"})
    assert response.status_code == 201
    request_id = response.json()["id"]
    assert ChangeRequest.objects.get(pk=request_id).payload["im"] == "0.5000"
    assert not ShortMargin.objects.exists()

    again = post_json(officer, "/api/v1/margin/short/700.HK", RATIO)
    assert again.status_code == 409 and again.json()["request_id"] == request_id

    bad = post_json(
        officer,
        "/api/v1/margin/short/AAPL.US",
        {**RATIO, "auto_close_qty": 4000, "auto_restore_qty": 1000},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "auto_restore_qty"
    assert post_json(officer, "/api/v1/margin/short/NOPE.HK", RATIO).status_code == 404


def test_api_pool_update_by_the_clearing_operator_not_the_officer(api, tencent_short):
    response = post_json(
        api("clearing"), "/api/v1/margin/short/700.HK/pool", {"quantity": 800, "source": "desk"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "code": "700.HK",
        "pool_qty": 800,
        "shortable": "system_forbidden",
        "status_reason": "lending pool 800 ≤ auto-close 1,000",
    }
    refused = post_json(
        api("officer"), "/api/v1/margin/short/700.HK/pool", {"quantity": 5000, "source": "desk"}
    )
    assert refused.status_code == 403
    assert ShortMargin.objects.get().pool_qty == 800
    unknown = post_json(
        api("clearing"), "/api/v1/margin/short/NOPE.HK/pool", {"quantity": 1, "source": "desk"}
    )
    assert unknown.status_code == 404
    no_row = post_json(
        api("clearing"), "/api/v1/margin/short/AAPL.US/pool", {"quantity": 1, "source": "desk"}
    )
    assert no_row.status_code == 409 and no_row.json()["field"] == "code"


def test_api_batch_is_one_request_and_a_bad_row_refuses_it(api, book):
    officer = api("officer")
    bad = post_json(
        officer,
        "/api/v1/margin/short-batch",
        {"rows": [{"code": "700.HK", **RATIO}, {"code": "AAPL.US", **RATIO, "fm": "0.5"}]},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "rows.2.fm"
    good = post_json(
        officer,
        "/api/v1/margin/short-batch",
        {"rows": [{"code": "700.HK", **RATIO}, {"code": "AAPL.US", **RATIO}]},
    )
    assert good.status_code == 201
    assert ChangeRequest.objects.get().flow == "margin.short_batch"


def test_the_auditor_cannot_write_through_the_api(api, tencent_short):
    auditor = api("auditor")
    assert post_json(auditor, "/api/v1/margin/short/700.HK", {"im": "0.6"}).status_code == 403
    assert (
        post_json(
            auditor, "/api/v1/margin/short/700.HK/pool", {"quantity": 1, "source": "x"}
        ).status_code
        == 403
    )
    assert (
        post_json(auditor, "/api/v1/margin/short-batch", {"rows": [{"code": "700.HK"}]}).status_code
        == 403
    )
    assert not ChangeRequest.objects.filter(maker__username="auditor").exists()


def test_the_openapi_document_lists_the_short_endpoints(api, users):
    paths = api("auditor").get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/margin/short",
        "/api/v1/margin/short/{code}",
        "/api/v1/margin/short/{code}/pool",
    } <= set(paths)


# --- pages -----------------------------------------------------------------------------------


def test_the_list_shows_status_pool_and_why_and_filters(client, users, tencent_short):
    update_pool("700.HK", 800, source="desk")
    client.force_login(users["auditor"])
    response = client.get("/margin/short/", {"shortable": "system_forbidden", "im_min": "0.5"})
    assert response.status_code == 200
    (row,) = response.context["result"]["rows"]
    assert (row["code"], row["short_margin__pool_qty"], row["short_margin__status_reason"]) == (
        "700.HK",
        800,
        "lending pool 800 ≤ auto-close 1,000",
    )
    assert not client.get("/margin/short/", {"im_max": "0.4"}).context["result"]["rows"]
    assert client.get("/margin/short/export.xlsx").status_code == 200


def test_the_detail_shows_ratio_status_why_and_change_records(client, users, tencent_short):
    update_pool("700.HK", 800, source="desk")
    client.force_login(users["auditor"])
    response = client.get(f"/margin/short/{tencent_short.instrument_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "lending pool 800 ≤ auto-close 1,000" in body
    assert 'data-testid="history"' in body and "lending pool 800 (desk)" in body
    assert 'data-testid="edit"' not in body  # the auditor may not edit


def test_the_change_records_page_lists_every_short_margin_change(client, users, tencent_short):
    update_pool("700.HK", 800, source="desk")
    client.force_login(users["auditor"])
    response = client.get("/margin/short/history/")
    rows = response.context["history"]
    assert [r.seed_reason or r.request_id for r in rows][:2] == [
        "lending pool 800 (desk): lending pool 800 ≤ auto-close 1,000",
        ChangeRequest.objects.get().pk,
    ]


def test_the_form_submits_for_approval_and_shows_the_flow_errors(client, users, book):
    client.force_login(users["officer"])
    bad = client.post(
        "/margin/short/new/",
        {
            "code": "700.HK",
            **RATIO,
            "shortable": "allowed",
            "auto_close_qty": 10,
            "auto_restore_qty": 5,
        },
    )
    assert bad.status_code == 200 and "auto_restore_qty" in bad.context["form"].errors
    response = client.post(
        "/margin/short/new/",
        {
            "code": "700.HK",
            **RATIO,
            "shortable": "allowed",
            "auto_close_qty": 10,
            "auto_restore_qty": 50,
        },
    )
    change = ChangeRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/approvals/requests/{change.pk}/"
    detail = client.get(f"/margin/short/{book['tencent'].pk}/")
    assert 'data-testid="pending-change"' in detail.content.decode()


def test_the_edit_form_keeps_the_system_status_unless_changed(client, users, tencent_short):
    update_pool("700.HK", 800, source="desk")
    client.force_login(users["officer"])
    url = f"/margin/short/{tencent_short.instrument_id}/edit/"
    form = client.get(url).context["form"]
    assert form.initial["shortable"] == "system_forbidden"
    response = client.post(
        url,
        {
            **RATIO,
            "im": "0.6",
            "shortable": "system_forbidden",
            "auto_close_qty": 1000,
            "auto_restore_qty": 4000,
        },
    )
    assert response.status_code == 302
    assert ChangeRequest.objects.order_by("-pk").first().payload["shortable"] == "system_forbidden"


def test_the_auditor_cannot_write_through_the_pages(client, users, tencent_short):
    client.force_login(users["auditor"])
    pk = tencent_short.instrument_id
    assert client.get("/margin/short/new/").status_code == 403
    assert client.post("/margin/short/new/", {"code": "AAPL.US", **RATIO}).status_code == 403
    assert client.get(f"/margin/short/{pk}/edit/").status_code == 403
    assert client.post(f"/margin/short/{pk}/edit/", {**RATIO, "im": "0.6"}).status_code == 403
    assert client.get("/margin/short/import/").status_code == 403
    assert client.get("/margin/short/").status_code == 200


def _upload(client, text):
    upload = SimpleUploadedFile("short.csv", text.encode(), content_type="text/csv")
    response = client.post("/margin/short/import/", {"file": upload})
    assert response.status_code == 302, response.content
    return response.url


HEADER = "code,im,mcm,mm,fm,shortable,auto_close_qty,auto_restore_qty\n"


def test_a_batch_import_with_one_bad_row_submits_nothing(client, users, book):
    client.force_login(users["officer"])
    preview_url = _upload(
        client,
        HEADER
        + "700.HK,0.5,0.45,0.4,0.3,allowed,1000,4000\nAAPL.US,0.5,0.45,0.4,0.3,allowed,5000,4000\n",
    )
    preview = client.get(preview_url)
    rows = preview.context["rows"]
    assert rows[0]["errors"] == []
    assert rows[1]["line"] == 3 and "auto_restore_qty" in rows[1]["errors"][0]
    client.post(preview_url, {"action": "confirm"})
    assert not ChangeRequest.objects.exists()


def test_a_good_batch_import_submits_one_request(client, users, book):
    client.force_login(users["officer"])
    preview_url = _upload(
        client,
        HEADER
        + '700.HK,0.5,0.45,0.4,0.3,allowed,"1,000",4000\nAAPL.US,0.6,0.5,0.4,0.3,forbidden,,\n',
    )
    response = client.post(preview_url, {"action": "confirm"})
    change = ChangeRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/approvals/requests/{change.pk}/"
    assert change.flow == "margin.short_batch"
    assert [(r["code"], r["auto_close_qty"]) for r in change.payload["rows"]] == [
        ("700.HK", 1000),
        ("AAPL.US", None),
    ]
    services.approve(request_id=change.pk, user=users["approver"])
    assert ShortMargin.objects.count() == 2
    # Uploading it again: each row now changes nothing, and says so.
    preview = client.get(_upload(client, HEADER + "700.HK,0.5,0.45,0.4,0.3,allowed,1000,4000\n"))
    assert "nothing would change" in preview.context["rows"][0]["errors"][0]
