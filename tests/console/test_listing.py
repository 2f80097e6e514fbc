"""PL-5/PL-6: the one list page — filters, sort, key pagination, capped count, .xlsx export."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from riskdesk.book.models import Account, CashEntry, Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_accounts(db):
    clients = Client.objects.bulk_create(
        [Client(code=f"C{i:04d}", name=f"Client {i}") for i in range(1, 131)]
    )
    Account.objects.bulk_create(
        [
            Account(
                number=f"A{i:04d}",
                client=c,
                type="margin" if i % 3 == 0 else "cash",
                interest_receivable=Decimal(i % 7),
            )
            for i, c in enumerate(clients, start=1)
        ]
    )


def walk(client, url):
    """Follow 'next' links to the end; return the account numbers in the order shown."""
    from riskdesk.book.pages import accounts

    seen = []
    params = {}
    while True:
        page = accounts.page({**dict(client_params(url)), **params})
        seen += [r["number"] for r in page["rows"]]
        if not page["next"]:
            return seen
        params = {"after": page["next"]}


def client_params(url):
    from urllib.parse import parse_qsl, urlparse

    return parse_qsl(urlparse(url).query)


def test_key_pagination_visits_every_row_once_in_order(many_accounts, client):
    numbers = walk(client, "/book/accounts/")
    assert numbers == [f"A{i:04d}" for i in range(1, 131)]


def test_sort_by_a_non_unique_column_breaks_ties_by_id(many_accounts, client):
    numbers = walk(client, "/book/accounts/?sort=-interest_receivable")
    expected = sorted(Account.objects.all(), key=lambda a: (-a.interest_receivable, -a.id))
    assert numbers == [a.number for a in expected]
    assert len(set(numbers)) == 130


def test_previous_page_returns_the_page_before(many_accounts):
    from riskdesk.book.pages import accounts

    first = accounts.page({})
    second = accounts.page({"after": first["next"]})
    back = accounts.page({"before": second["prev"]})
    assert [r["number"] for r in back["rows"]] == [r["number"] for r in first["rows"]]
    assert back["prev"] is None


def test_filters_narrow_rows_and_count(many_accounts, users, client):
    client.force_login(users["officer"])
    r = client.get("/book/accounts/", {"type": "margin", "number": "A00"})
    # margin = every third of A0001..A0099 → 33 accounts (A0003 … A0099)
    assert r.context["result"]["count"] == 33
    assert all(row[3]["value"] == "margin" for row in r.context["rows"])


def test_a_bad_filter_is_reported_not_ignored(many_accounts, users, client):
    client.force_login(users["officer"])
    r = client.get("/book/ledger/", {"amount_min": "lots"})
    assert r.status_code == 200
    assert r.context["result"]["errors"] == ["Amount from: not a number"]


def test_count_is_capped(monkeypatch, many_accounts):
    from riskdesk.book.pages import accounts
    from riskdesk.console import listing

    monkeypatch.setattr(listing, "COUNT_CAP", 100)
    assert accounts.page({})["count"] == 101  # "more than 100"


def test_htmx_request_gets_the_table_only(many_accounts, users, client):
    client.force_login(users["officer"])
    r = client.get("/book/accounts/", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "<table" in body and "<nav" not in body


def test_export_writes_the_filtered_rows_with_decimal_amounts(book, post, users, client):
    post("deposit", account="M1", currency="HKD", amount="1234.56")
    post("deposit", account="M1", currency="USD", amount="10.01")
    post("withdrawal", account="M1", currency="HKD", amount="0.56")
    client.force_login(users["auditor"])
    r = client.get("/book/ledger/export.xlsx", {"currency": "HKD"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Entry", "Time", "Account", "Kind", "Currency", "Amount")
    body = rows[1:]
    assert [(r[2], r[3], r[4], r[5]) for r in body] == [
        ("M1", "Withdrawal", "HKD", -0.56),
        ("M1", "Deposit", "HKD", 1234.56),
    ]
    assert CashEntry.objects.count() == 3


def test_export_refuses_more_rows_than_the_limit(many_accounts, users, client, settings):
    settings.RISKDESK_EXPORT_MAX_ROWS = 100
    client.force_login(users["officer"])
    r = client.get("/book/accounts/export.xlsx")
    assert r.status_code == 302
    r = client.get("/book/accounts/export.xlsx", {"type": "margin"})  # 43 rows
    assert r.status_code == 200
