"""MR-1 / MR-2 batch import on the shared flow (PL-5): a bad row names the factor and nothing is
submitted; a good file is ONE change request whose approval creates one setting record per row."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from riskdesk.approvals.models import ChangeRequest
from riskdesk.console.models import ImportBatch
from riskdesk.margin.models import IntradayMargin, MarginSetting, StockMargin

pytestmark = pytest.mark.django_db
HEADER = "code,im,mcm,mm,fm,effective_date"


def upload(client, key: str, lines: list[str]):
    content = "\n".join([HEADER, *lines]).encode()
    r = client.post(f"/imports/{key}/", {"file": SimpleUploadedFile("ratios.csv", content)})
    assert r.status_code == 302, r.content.decode()[:500]
    return ImportBatch.objects.get(pk=int(r["Location"].rstrip("/").rsplit("/", 1)[1]))


def errors(batch) -> dict[int, list[str]]:
    return {row["line"]: row["errors"] for row in batch.rows}


@pytest.fixture
def officer(client, users, book):
    client.force_login(users["officer"])
    return client


def test_the_list_offers_the_import(officer):
    page = officer.get("/margin/stock/").content.decode()
    assert 'href="/margin/stock/import/"' in page
    r = officer.get("/margin/stock/import/")
    assert r.status_code == 200 and "Batch import: Long stock margin" in r.content.decode()


def test_bad_rows_name_the_factor_and_nothing_is_submitted(officer):
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    batch = upload(
        officer,
        "margin.stock_long",
        [
            "700.HK,0.5,0.45,0.4,0.3,",
            "AAPL.US,0.5,0.45,0.46,0.3,",
            "9999.HK,0.5,0.45,0.4,0.3,",
            "AAPL 261218C200,0.5,0.45,0.4,0.3,",
            "700.HK,0.6,0.45,0.4,0.3,",
            f"1234.HK,0.5,0.45,0.4,0.3,{past}",
            "1234.HK,1.5,0.45,0.4,0.3,",
        ],
    )
    found = errors(batch)
    assert found[2] == []
    assert found[3] == [
        "mm: must not exceed mcm (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got mm 0.46 > mcm 0.45"
    ]
    assert found[4] == ["code: no instrument 9999.HK"]
    assert found[5] == ["code: AAPL 261218C200 is option; margin ratios are for stocks and ETFs"]
    assert found[6] == ["duplicate of line 2"]
    assert found[7][0].startswith("effective_date: must not be in the past")
    assert found[8] == [
        "im: must be at most 1 (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got 1.5",
        "duplicate of line 7",
    ]
    page = officer.get(f"/imports/batch/{batch.pk}/").content.decode()
    assert "mm: must not exceed mcm" in page and 'data-testid="confirm"' not in page
    # Confirming anyway applies nothing.
    officer.post(f"/imports/batch/{batch.pk}/", {"action": "confirm"})
    assert not ChangeRequest.objects.exists() and not MarginSetting.objects.exists()


def test_a_good_file_is_one_request_then_one_record_per_row(officer, users, approve):
    later = (timezone.localdate() + timedelta(days=7)).isoformat()
    batch = upload(
        officer,
        "margin.stock_long",
        ["700.HK,0.5,0.45,0.4,0.3,", f"AAPL.US,0.7,0.65,0.6,0.5,{later}", "1234.HK,1,1,1,1,"],
    )
    assert all(not e for e in errors(batch).values())
    r = officer.post(f"/imports/batch/{batch.pk}/", {"action": "confirm"}, follow=True)
    change = ChangeRequest.objects.get()
    assert r.redirect_chain[-1][0] == f"/approvals/requests/{change.pk}/"
    assert f"Request #{change.pk} submitted for approval: 3 rows." in r.content.decode()
    assert (change.flow, change.maker, change.status) == (
        "margin.stock_long_batch",
        users["officer"],
        "pending",
    )
    assert [row["code"] for row in change.payload["rows"]] == ["700.HK", "AAPL.US", "1234.HK"]
    assert change.payload["rows"][1]["effective_date"] == later
    batch.refresh_from_db()
    assert batch.status == "applied" and batch.result["requests"] == [change.pk]
    assert not MarginSetting.objects.exists()

    approve(change)
    records = list(MarginSetting.objects.order_by("id").select_related("instrument"))
    assert [(s.instrument.code, s.book, s.status, s.request_id) for s in records] == [
        ("700.HK", "long", "pending", change.pk),
        ("AAPL.US", "long", "pending", change.pk),
        ("1234.HK", "long", "pending", change.pk),
    ]
    assert records[0].effective_date == timezone.localdate()
    assert records[1].effective_date.isoformat() == later
    assert not StockMargin.objects.exists()
    # The request links to its records.
    change.refresh_from_db()
    assert change.record_url == f"/margin/settings/?request={change.pk}"
    page = officer.get(change.record_url).content.decode()
    assert page.count(f'href="/approvals/requests/{change.pk}/"') == 3


def test_the_same_file_twice_while_pending_is_refused_on_confirmation(officer):
    rows = ["700.HK,0.5,0.45,0.4,0.3,"]
    first = upload(officer, "margin.stock_long", rows)
    officer.post(f"/imports/batch/{first.pk}/", {"action": "confirm"})
    change = ChangeRequest.objects.get()
    second = upload(officer, "margin.stock_long", rows)
    r = officer.post(f"/imports/batch/{second.pk}/", {"action": "confirm"}, follow=True)
    assert f"request #{change.pk} already proposes a change of this record" in r.content.decode()
    second.refresh_from_db()
    assert second.status == "preview" and ChangeRequest.objects.count() == 1


def test_intraday_import_submits_an_intraday_batch(officer, approve, users):
    batch = upload(officer, "margin.intraday", ["700.HK,0.25,0.2,0.15,0.1,"])
    officer.post(f"/imports/batch/{batch.pk}/", {"action": "confirm"})
    change = ChangeRequest.objects.get()
    assert change.flow == "margin.intraday_batch"
    approve(change)
    setting = MarginSetting.objects.get()
    assert setting.book == "intraday"
    from riskdesk.margin import settings_records

    settings_records.sync(setting, users["officer"])
    assert IntradayMargin.objects.get().im.to_eng_string() == "0.2500"


def test_the_auditor_cannot_import(client, users, book):
    client.force_login(users["auditor"])
    for key in ("margin.stock_long", "margin.intraday"):
        assert client.get(f"/imports/{key}/").status_code == 403
        assert client.get(f"/imports/{key}/template.xlsx").status_code == 403
    assert client.get("/margin/stock/import/").status_code == 403
    assert client.get("/margin/intraday/import/").status_code == 403
