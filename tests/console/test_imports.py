"""PL-5: template → upload → preview with every bad row → confirm; nothing applied while any
row is bad (invariant 4)."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from riskdesk.book.models import Instrument
from riskdesk.console.models import ImportBatch

pytestmark = pytest.mark.django_db

HEADER = [
    "code",
    "name",
    "market",
    "kind",
    "currency",
    "lot_size",
    "status",
    "multiplier",
    "underlying",
    "strike",
    "expiry",
    "option_type",
]


def xlsx(rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "instruments.xlsx"
    return out


def upload(client, file):
    return client.post("/imports/book.instruments/", {"file": file})


def test_template_has_every_field_and_its_notes(users, client):
    client.force_login(users["clearing"])
    r = client.get("/imports/book.instruments/template.xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in book["data"][1]] == HEADER
    assert book["data"].max_row == 1  # no sample row that could be imported by mistake
    notes = {row[0]: row for row in book["notes"].iter_rows(min_row=2, values_only=True)}
    assert notes["lot_size"][2] == "yes" and "board lot" in notes["lot_size"][3]
    assert notes["strike"][2] == "no"
    assert book["data"]["A1"].comment is not None


def test_one_bad_row_blocks_the_batch_then_a_fixed_file_applies(book, users, client):
    client.force_login(users["clearing"])
    rows = [
        [
            "5.HK",
            "HSBC Holdings",
            "HK",
            "stock",
            "HKD",
            400,
            "normal",
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "AAPL.US",
            "Apple again",
            "US",
            "stock",
            "USD",
            1,
            None,
            None,
            None,
            None,
            None,
            None,
        ],  # exists
        ["9999.HK", "Bad lot", "HK", "stock", "HKD", 0, None, None, None, None, None, None],
        ["5.HK", "HSBC dup", "HK", "stock", "HKD", 400, None, None, None, None, None, None],
        [
            "AAPL 270115P150",
            "AAPL put",
            "US",
            "option",
            "USD",
            1,
            None,
            100,
            "AAPL.US",
            150,
            "2027-01-15",
            "put",
        ],
    ]
    r = upload(client, xlsx(rows))
    batch = ImportBatch.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/imports/batch/{batch.id}/"
    errors = {row["line"]: row["errors"] for row in batch.rows}
    assert errors[2] == [] and errors[6] == []
    assert errors[3] == ["code: AAPL.US already exists"]
    assert errors[4] == ["lot_size: must be greater than 0"]
    assert errors[5] == ["duplicate of line 2"]
    page = client.get(r["Location"])
    assert b"3 with errors" in page.content and b'data-testid="confirm"' not in page.content
    # Confirming anyway (a crafted POST) applies nothing.
    client.post(r["Location"], {"action": "confirm"})
    assert not Instrument.objects.filter(code__in=["5.HK", "AAPL 270115P150"]).exists()
    # Fix the file and try again.
    r = upload(client, xlsx([rows[0], rows[4]]))
    batch = ImportBatch.objects.order_by("-id").first()
    assert batch.bad_rows == []
    r = client.post(f"/imports/batch/{batch.id}/", {"action": "confirm"})
    assert r.status_code == 302 and r["Location"] == "/book/instruments/"
    put = Instrument.objects.get(code="AAPL 270115P150")
    assert (put.underlying.code, put.strike, str(put.expiry), put.option_type, put.multiplier) == (
        "AAPL.US",
        150,
        "2027-01-15",
        "put",
        100,
    )
    batch.refresh_from_db()
    assert batch.status == "applied" and batch.result["created"] == ["5.HK", "AAPL 270115P150"]


def test_confirm_rechecks_the_book(book, users, client):
    client.force_login(users["clearing"])
    upload(
        client,
        xlsx([["5.HK", "HSBC", "HK", "stock", "HKD", 400, None, None, None, None, None, None]]),
    )
    batch = ImportBatch.objects.get()
    Instrument.objects.create(code="5.HK", name="created meanwhile", market="HK", currency="HKD")
    client.post(f"/imports/batch/{batch.id}/", {"action": "confirm"})
    batch.refresh_from_db()
    assert batch.status == "preview"
    assert batch.rows[0]["errors"] == ["code: 5.HK already exists"]
    assert Instrument.objects.get(code="5.HK").name == "created meanwhile"


def test_csv_with_labels_as_header_is_accepted(book, users, client):
    client.force_login(users["clearing"])
    content = "Code,Name,Market,Kind,Currency,Lot size\n388.HK,HKEX,HK,stock,HKD,100\n".encode(
        "utf-8-sig"
    )
    f = io.BytesIO(content)
    f.name = "list.csv"
    upload(client, f)
    batch = ImportBatch.objects.get()
    assert batch.bad_rows == []
    client.post(f"/imports/batch/{batch.id}/", {"action": "confirm"})
    assert Instrument.objects.get(code="388.HK").lot_size == 100


@pytest.mark.parametrize(
    "header, message",
    [
        (["code", "name", "colour"], b"Unknown column(s): colour"),
        (["code", "name"], b"Missing column(s): market, kind, currency, lot_size"),
    ],
)
def test_a_file_with_wrong_columns_is_refused_whole(book, users, client, header, message):
    client.force_login(users["clearing"])
    r = upload(client, xlsx([["1.HK", "x", "y"]], header=header))
    assert r.status_code == 200 and message in r.content
    assert not ImportBatch.objects.exists()


def test_a_non_spreadsheet_is_refused(users, client):
    client.force_login(users["clearing"])
    f = io.BytesIO(b"not a zip")
    f.name = "x.xlsx"
    r = upload(client, f)
    assert b"Not a readable .xlsx file" in r.content


def test_discard_applies_nothing(book, users, client):
    client.force_login(users["clearing"])
    upload(
        client,
        xlsx([["5.HK", "HSBC", "HK", "stock", "HKD", 400, None, None, None, None, None, None]]),
    )
    batch = ImportBatch.objects.get()
    client.post(f"/imports/batch/{batch.id}/", {"action": "discard"})
    batch.refresh_from_db()
    assert batch.status == "discarded" and not Instrument.objects.filter(code="5.HK").exists()
