"""MR-1 / MR-3 pages: the list with the ratio in force, the stock page, the new / edit / delete
forms that submit requests, 拉取个股状态, the setting records with 同步 / 取消同步, and the
auditor refused on every write page."""

from decimal import Decimal

import pytest

from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest
from riskdesk.book.models import Instrument
from riskdesk.margin.models import MarginSetting, StockMargin

pytestmark = pytest.mark.django_db
FORM = {
    "im": "0.5",
    "mcm": "0.45",
    "mm": "0.4",
    "fm": "0.3",
    "effective_date": "",
    "note": "review",
}


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


@pytest.fixture
def officer(client, users):
    client.force_login(users["officer"])
    return client


def test_list_shows_ratios_and_filters_by_factor_range(officer, ratios):
    page = officer.get("/margin/stock/").content.decode()
    assert "2 rows" in page and "Delisted" in page
    assert f'href="/margin/stock/{ratios["tencent"].pk}/"' in page
    for action in ("/margin/stock/new/", "/margin/stock/import/", "/margin/stock/pull-status/"):
        assert f'href="{action}"' in page
    narrowed = officer.get("/margin/stock/", {"im_min": "0.5", "im_max": "0.9"}).content.decode()
    assert "1 row" in narrowed and "1234.HK" in narrowed and "700.HK" not in narrowed
    assert "1 row" in officer.get("/margin/stock/", {"mm_max": "0.3"}).content.decode()
    assert (
        "IM from: not a number" in officer.get("/margin/stock/", {"im_min": "x"}).content.decode()
    )
    export = officer.get("/margin/stock/export.xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith(
        "application/vnd.openxml"
    )


def test_new_form_names_the_factor_then_submits(officer, ratios):
    r = officer.post("/margin/stock/new/", {**FORM, "code": "AAPL.US", "mm": "0.46"})
    assert r.status_code == 200
    assert (
        "must not exceed mcm (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got mm 0.46 &gt; mcm 0.45"
        in r.content.decode()
    )
    assert (
        "no instrument NOPE"
        in officer.post("/margin/stock/new/", {**FORM, "code": "NOPE"}).content.decode()
    )
    r = officer.post("/margin/stock/new/", {**FORM, "code": "AAPL.US"})
    change = ChangeRequest.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/approvals/requests/{change.pk}/"
    assert (change.flow, change.target_key, change.note) == (
        "margin.stock_long",
        "AAPL.US",
        "review",
    )
    assert not MarginSetting.objects.exists()


def test_new_on_a_stock_with_a_ratio_says_it_will_be_replaced(officer, ratios):
    page = officer.get("/margin/stock/new/", {"code": "700.HK"}).content.decode()
    assert (
        "700.HK already has a ratio (0.4000 / 0.3500 / 0.3000 / 0.2500); this one replaces it"
        in page
    )


def test_detail_edit_and_delete(officer, ratios, approve):
    pk = ratios["tencent"].pk
    page = officer.get(f"/margin/stock/{pk}/").content.decode()
    assert 'data-field="im">0.4000' in page and 'data-testid="edit"' in page
    edit = officer.get(f"/margin/stock/{pk}/edit/").content.decode()
    assert 'value="0.4000"' in edit and "disabled" in edit
    r = officer.post(f"/margin/stock/{pk}/edit/", {**FORM, "code": "ignored"})
    change = ChangeRequest.objects.get()
    assert r.status_code == 302 and change.target_key == "700.HK"
    page = officer.get(f"/margin/stock/{pk}/").content.decode()
    assert f"request #{change.pk}" in page and 'data-testid="edit"' not in page
    approve(change)
    page = officer.get(f"/margin/stock/{pk}/").content.decode()
    setting = MarginSetting.objects.get()
    assert (
        f'href="/margin/settings/{setting.pk}/"' in page
        and "0.5000 / 0.4500 / 0.4000 / 0.3000" in page
    )
    r = officer.post(
        f"/margin/stock/{pk}/delete/", {"effective_date": "", "note": "no longer marginable"}
    )
    delete = ChangeRequest.objects.get(payload__action="delete")
    assert r["Location"] == f"/approvals/requests/{delete.pk}/"


def test_pull_status_reports_changes_since_the_last_pull(officer, ratios):
    r = officer.get("/margin/stock/pull-status/", follow=True)
    text = r.content.decode()
    assert r.redirect_chain[-1][0] == "/margin/stock/"
    assert "2 stocks with a ratio. Statuses recorded" in text
    assert "Not marginable now, 100% whatever their ratio: 1234.HK (Delisted)" in text
    Instrument.objects.filter(code="700.HK").update(status="suspended")
    text = officer.get("/margin/stock/pull-status/", follow=True).content.decode()
    assert "Changed since your pull at" in text and "700.HK Normal → Suspended" in text
    assert "Suspended" in officer.get("/margin/stock/", {"status": "suspended"}).content.decode()
    text = officer.get("/margin/stock/pull-status/", follow=True).content.decode()
    assert "No change since your pull at" in text


def test_setting_records_list_detail_sync_and_revoke(officer, users, ratios, propose, approve):
    approve(
        propose(
            "margin.stock_long",
            ratios["tencent"],
            {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"},
        )
    )
    approve(
        propose(
            "margin.stock_long",
            ratios["apple"],
            {"im": "0.6", "mcm": "0.5", "mm": "0.4", "fm": "0.3"},
        )
    )
    first, second = MarginSetting.objects.order_by("id")
    page = officer.get("/margin/settings/").content.decode()
    assert "0.5000 / 0.4500 / 0.4000 / 0.3000" in page and "Not triggered" in page
    assert 'name="ids"' in page  # the officer may synchronise
    detail = officer.get(f"/margin/settings/{first.pk}/").content.decode()
    assert 'data-testid="sync"' in detail and "In force now" in detail
    r = officer.post(f"/margin/settings/{first.pk}/sync/", follow=True)
    assert (
        f"Setting record #{first.pk} synchronised: 700.HK now uses the new ratio."
        in r.content.decode()
    )
    assert StockMargin.objects.get(instrument=ratios["tencent"]).im == Decimal("0.5")
    detail = officer.get(f"/margin/settings/{first.pk}/").content.decode()
    assert 'data-testid="sync"' not in detail and "Olivia Chan" in detail
    r = officer.post(f"/margin/settings/{first.pk}/revoke/", follow=True)
    assert "is triggered; only a record not yet triggered can be changed" in r.content.decode()
    officer.post(f"/margin/settings/{second.pk}/revoke/")
    second.refresh_from_db()
    assert second.status == "revoked"
    filtered = officer.get("/margin/settings/", {"status": "revoked"}).content.decode()
    assert "1 row" in filtered and "AAPL.US" in filtered
    assert (
        "1 row"
        in officer.get("/margin/settings/", {"request": str(first.request_id)}).content.decode()
    )
    assert "0 rows" in officer.get("/margin/settings/", {"request": "abc"}).content.decode()
    # The stock page shows the change record stamped with the request.
    page = officer.get(f"/margin/stock/{ratios['tencent'].pk}/").content.decode()
    assert f'<a href="/approvals/requests/{first.request_id}/">#{first.request_id}</a>' in page


def test_bulk_sync(officer, ratios, propose, approve):
    approve(
        propose(
            "margin.stock_long",
            ratios["tencent"],
            {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"},
        )
    )
    approve(
        propose(
            "margin.stock_long",
            ratios["apple"],
            {"im": "0.6", "mcm": "0.5", "mm": "0.4", "fm": "0.3"},
        )
    )
    ids = list(MarginSetting.objects.order_by("id").values_list("id", flat=True))
    r = officer.post("/margin/settings/sync/", {"ids": [str(i) for i in ids]}, follow=True)
    assert f"Synchronised: #{ids[0]}, #{ids[1]}." in r.content.decode()
    assert set(MarginSetting.objects.values_list("status", flat=True)) == {"triggered"}
    r = officer.post("/margin/settings/sync/", {"ids": [str(ids[0])]}, follow=True)
    assert "is triggered" in r.content.decode()


WRITE_PAGES = [
    "/margin/stock/new/",
    "/margin/stock/import/",
    "/margin/stock/{pk}/edit/",
    "/margin/stock/{pk}/delete/",
    "/margin/intraday/new/",
    "/margin/intraday/import/",
    "/margin/intraday/{pk}/edit/",
    "/margin/intraday/{pk}/delete/",
    "/margin/intraday/rules/HK/edit/",
]
READ_PAGES = [
    "/margin/stock/",
    "/margin/stock/export.xlsx",
    "/margin/stock/{pk}/",
    "/margin/intraday/",
    "/margin/intraday/{pk}/",
    "/margin/intraday/rules/",
    "/margin/settings/",
    "/margin/settings/{setting}/",
]


def test_the_auditor_reads_every_page_and_is_refused_every_write(
    client, users, ratios, propose, approve
):
    approve(
        propose(
            "margin.stock_long",
            ratios["apple"],
            {"im": "0.6", "mcm": "0.5", "mm": "0.4", "fm": "0.3"},
        )
    )
    setting = MarginSetting.objects.get()
    client.force_login(users["auditor"])
    ids = {"pk": ratios["tencent"].pk, "setting": setting.pk}
    for url in READ_PAGES:
        assert client.get(url.format(**ids)).status_code == 200, url
    assert (
        client.get("/margin/stock/pull-status/").status_code == 302
    )  # a read: reports, writes nothing
    for url in WRITE_PAGES:
        assert client.get(url.format(**ids)).status_code == 403, url
        assert client.post(url.format(**ids), {**FORM, "code": "AAPL.US"}).status_code == 403, url
    for url in (
        "/margin/settings/{setting}/sync/",
        "/margin/settings/{setting}/revoke/",
        "/margin/settings/sync/",
    ):
        assert client.post(url.format(**ids), {"ids": [str(setting.pk)]}).status_code == 403, url
    page = client.get("/margin/settings/").content.decode()
    assert 'name="ids"' not in page  # no bulk sync for the auditor
    assert (
        'data-testid="sync"' not in client.get(f"/margin/settings/{setting.pk}/").content.decode()
    )
    assert (
        'data-testid="edit"'
        not in client.get(f"/margin/stock/{ratios['tencent'].pk}/").content.decode()
    )
    setting.refresh_from_db()
    assert setting.status == "pending" and ChangeRequest.objects.count() == 1
