"""MC-6 securities-lending overview, MC-7 bad credit, MC-8 covered-option recall: the figures
on the pages and in their exports, on books built through book events.

``shorts`` (on the ``book`` fixture; HKD base, USD 7.8; 700.HK at 400, AAPL.US at 200, the
AAPL Dec-26 200 call at 5.5, multiplier 100):
  M1 (C1) sells short 1,000 700.HK
  M2 (C2) sells short 500 700.HK and 50 AAPL.US, and writes 1 AAPL Dec-26 call (no AAPL held)
  M3 (C3) holds 150 AAPL.US, writes 2 Dec-26 calls and 1 AAPL Jan-27 210 call
  M4 (C4) holds 300 AAPL.US, writes 2 Dec-26 calls (covered)
  700.HK short margin: allowed, lending pool 1,200; AAPL.US: no short margin.
"""

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from riskdesk.book.models import Account, Client, Instrument, Price
from riskdesk.margincall.models import MarginCall

pytestmark = pytest.mark.django_db
D = Decimal


def short_margin(instrument, *, shortable="allowed", pool=None, why=""):
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import ShortMargin

    with seeding("test"):
        return ShortMargin.objects.create(
            instrument=instrument,
            im=D("0.5"),
            mcm=D("0.45"),
            mm=D("0.4"),
            fm=D("0.35"),
            shortable=shortable,
            pool_qty=pool,
            status_reason=why,
        )


def margin_account(number, code, name, **client):
    c = Client.objects.create(code=code, name=name, **client)
    return Account.objects.create(number=number, client=c, type="margin")


@pytest.fixture
def shorts(book, post):
    m2 = margin_account("M2", "C2", "Lee Siu Ming")
    m3 = margin_account("M3", "C3", "Wong Ka Yan")
    m4 = margin_account("M4", "C4", "Ho Wai")
    call2 = Instrument.objects.create(
        code="AAPL 270115C210",
        name="AAPL Jan27 210 C",
        market="US",
        kind="option",
        currency="USD",
        multiplier=100,
        underlying=book["apple"],
        strike=D("210"),
        expiry=date(2027, 1, 15),
        option_type="call",
    )
    Price.objects.create(instrument=call2, last=D("3.2"), as_of=timezone.now())
    short_margin(book["tencent"], pool=1200)

    def fill(account, code, side, quantity, price):
        post(
            "trade_fill",
            account=account,
            instrument=code,
            side=side,
            quantity=quantity,
            price=price,
        )

    for number in ("M1", "M2"):
        post("deposit", account=number, currency="HKD", amount="500000")
    for number in ("M3", "M4"):
        post("deposit", account=number, currency="USD", amount="100000")
    fill("M1", "700.HK", "sell", 1000, "400")
    fill("M2", "700.HK", "sell", 500, "400")
    fill("M2", "AAPL.US", "sell", 50, "200")
    fill("M2", "AAPL 261218C200", "sell", 1, "5.5")
    fill("M3", "AAPL.US", "buy", 150, "200")
    fill("M3", "AAPL 261218C200", "sell", 2, "5.5")
    fill("M3", "AAPL 270115C210", "sell", 1, "3.2")
    fill("M4", "AAPL.US", "buy", 300, "200")
    fill("M4", "AAPL 261218C200", "sell", 2, "5.5")
    return {**book, "m2": m2, "m3": m3, "m4": m4, "call2": call2}


@pytest.fixture
def officer(client, users):
    client.force_login(users["officer"])
    return client


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def table_rows(page: str) -> list[list[str]]:
    """The body rows of the page's table as cell texts (tags stripped)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows


def export(client, url, **params) -> list[dict]:
    response = client.get(url, params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


# --- MC-6 -------------------------------------------------------------------------------------


def test_lending_overview_per_stock(officer, shorts):
    page = text(officer.get("/margincall/lending/"))
    rows = table_rows(page)
    # by short market value, largest first; options are not lent stock
    assert [r[0] for r in rows] == ["700.HK", "AAPL.US"]
    tencent, apple = rows
    # 700.HK: 1,000 + 500 short by two clients; mv 1,500 × 400 = 600,000 HKD
    assert tencent[3:6] == ["1,500", "2", "2"]
    assert tencent[8] == "600,000.00HKD"
    assert tencent[9:12] == ["Short selling allowed", "1,200", "-300"]
    # AAPL.US: 50 × 200 × 7.8 = 78,000 HKD; no short margin at all
    assert apple[3:6] == ["50", "1", "1"]
    assert apple[7] == "200.00USD" and apple[8] == "78,000.00HKD"
    assert apple[9] == "No short margin"
    assert 'data-testid="total-short-mv">678,000.00<' in page
    assert 'href="/margincall/lending-positions/?stock=700.HK"' in page


def test_lending_overview_filters_sort_and_export(officer, shorts):
    rows = table_rows(text(officer.get("/margincall/lending/", {"shortable": "allowed"})))
    assert [r[0] for r in rows] == ["700.HK"]
    rows = table_rows(text(officer.get("/margincall/lending/", {"sort": "short_qty"})))
    assert [r[0] for r in rows] == ["AAPL.US", "700.HK"]
    exported = export(officer, "/margincall/lending/export.xlsx")
    assert [r["Stock"] for r in exported] == ["700.HK", "AAPL.US"]
    assert exported[0]["Short market value"] == D("600000.00")
    assert exported[0]["Short quantity"] == 1500
    assert exported[1]["Shortable"] == "No short margin"
    assert "Clients short" not in exported[0]  # the action column is not exported


def test_lending_overview_pages_by_key_on_market_value(officer, shorts, monkeypatch):
    from riskdesk.margincall import overviews

    monkeypatch.setattr(overviews.lending, "page_size", 1)
    page = text(officer.get("/margincall/lending/"))
    assert [r[0] for r in table_rows(page)] == ["700.HK"]
    after = re.search(r'href="\?[^"]*after=([^"&]+)"', page).group(1)
    page = text(officer.get("/margincall/lending/", {"after": after}))
    assert [r[0] for r in table_rows(page)] == ["AAPL.US"]


def test_clients_short_in_a_stock_with_liquidate_links_and_open_call(officer, shorts):
    call = MarginCall.objects.create(
        account=shorts["margin"],
        status="open",
        alert="margin_call",
        triggered_at=timezone.now(),
        deadline=timezone.localdate() + timedelta(days=3),
        call_amount=D("1234.00"),
        equity=D("0"),
        lna=D("0"),
        nar=D("0"),
        req_im=D("0"),
        req_mcm=D("0"),
        req_mm=D("0"),
        req_fm=D("0"),
        loan=D("0"),
        cash=D("0"),
        market_value=D("0"),
    )
    page = text(officer.get("/margincall/lending-positions/", {"stock": "700.HK"}))
    rows = table_rows(page)
    # [tick, stock, name, account, client, name, qty, ccy, last, mv, call, amount, action]
    assert [(r[3], r[6], r[9]) for r in rows] == [
        ("M1", "1,000", "400,000.00HKD"),
        ("M2", "500", "200,000.00HKD"),
    ]
    assert rows[0][10] == str(call.pk) and rows[0][11] == "1,234.00HKD"
    assert rows[1][10] == ""
    assert f'href="/margincall/calls/{call.pk}/"' in page
    assert 'href="/liquidation/accounts/M1/?instrument=700.HK&amp;quantity=1000"' in page
    assert 'href="/liquidation/accounts/M2/?instrument=700.HK&amp;quantity=500"' in page
    assert 'action="/notices/recall/positions/"' in page
    assert 'data-testid="total-short-mv">600,000.00<' in page
    exported = export(officer, "/margincall/lending-positions/export.xlsx", stock="700.HK")
    assert [(r["Account"], r["Short quantity"], r["Market value"]) for r in exported] == [
        ("M1", 1000, D("400000.00")),
        ("M2", 500, D("200000.00")),
    ]
    assert "Liquidate" not in exported[0]


def test_auditor_sees_the_lists_without_liquidate_or_send(client, users, shorts):
    client.force_login(users["auditor"])
    page = text(client.get("/margincall/lending-positions/", {"stock": "700.HK"}))
    assert "M1" in page and "/liquidation/accounts/" not in page
    assert "/notices/recall/positions/" not in page
    page = text(client.get("/margincall/covered-calls/"))
    assert "M3" in page and "Close option" not in page


# --- MC-8 -------------------------------------------------------------------------------------


def test_covered_option_recall_shortfalls(officer, shorts):
    page = text(officer.get("/margincall/covered-calls/", {"sort": "account"}))
    rows = {(r[0], r[3]): r for r in table_rows(page)}
    # M4 holds 300 AAPL for 2 calls × 100: covered, not listed
    assert set(rows) == {
        ("M2", "AAPL 261218C200"),
        ("M3", "AAPL 261218C200"),
        ("M3", "AAPL 270115C210"),
    }
    # [account, client, name, option, expiry, strike, contracts, mult, underlying,
    #  required, held, covering, shortfall, ccy, last, value, action]
    # M2: short 50 AAPL → holds none; 1 × 100 required, 100 short of it, 100 × 200 = 20,000 USD
    assert rows["M2", "AAPL 261218C200"][6:16] == [
        "1",
        "100",
        "AAPL.US",
        "100",
        "0",
        "0",
        "100",
        "USD",
        "200.00USD",
        "20,000.00USD",
    ]
    # M3: 150 shares cover the nearer expiry first: Dec-26 needs 200 → 50 short (10,000 USD);
    # Jan-27 needs 100, nothing left → 100 short (20,000 USD)
    dec, jan = rows["M3", "AAPL 261218C200"], rows["M3", "AAPL 270115C210"]
    assert dec[6] == "2" and dec[9:13] == ["200", "150", "150", "50"]
    assert dec[15] == "10,000.00USD"
    assert jan[6] == "1" and jan[9:13] == ["100", "150", "0", "100"]
    assert jan[15] == "20,000.00USD"
    # detail: the book account (no open call); close the option from the ticket
    assert 'href="/book/accounts/M3/"' in page
    assert 'href="/liquidation/accounts/M3/?instrument=AAPL+261218C200&amp;quantity=2"' in page
    exported = export(officer, "/margincall/covered-calls/export.xlsx", account="M3")
    assert sorted(
        (r["Option"], r["Shortfall (shares)"], r["Shortfall value"]) for r in exported
    ) == [
        ("AAPL 261218C200", 50, D("10000.00")),
        ("AAPL 270115C210", 100, D("20000.00")),
    ]


def test_covered_option_recall_links_the_open_call_and_follows_the_book(officer, shorts, post):
    post("trade_fill", account="M3", instrument="AAPL.US", side="buy", quantity=150, price="200")
    rows = table_rows(text(officer.get("/margincall/covered-calls/", {"account": "M3"})))
    assert rows == [["No rows match these filters."]]  # 300 shares cover both calls (200 + 100)
    call = MarginCall.objects.create(
        account=shorts["m2"],
        status="open",
        alert="margin_call",
        triggered_at=timezone.now(),
        deadline=timezone.localdate() + timedelta(days=3),
        **{
            k: D("1")
            for k in (
                "call_amount",
                "equity",
                "lna",
                "nar",
                "req_im",
                "req_mcm",
                "req_mm",
                "req_fm",
                "loan",
                "cash",
                "market_value",
            )
        },
    )
    page = text(officer.get("/margincall/covered-calls/", {"account": "M2"}))
    assert f'href="/margincall/calls/{call.pk}/"' in page


# --- MC-7 -------------------------------------------------------------------------------------


def test_bad_credit_after_a_price_crash(officer, call_book, post, run_monitor, drop):
    # M1: 1,000 700.HK, cash −200,000. M3: 1,000 700.HK, cash −100,000.
    m3 = margin_account("M3", "C3", "Wong Ka Yan", language="en")
    post("deposit", account="M3", currency="HKD", amount="300000")
    post("trade_fill", account="M3", instrument="700.HK", side="buy", quantity=1000, price="400")
    run_monitor()
    drop("280")
    assert MarginCall.objects.filter(status="open").count() == 1  # M1, lna 80,000 > 0
    assert table_rows(text(officer.get("/margincall/bad-credit/"))) == [
        ["No rows match these filters."]
    ]
    drop("120")
    # M1: mv 120,000, loan 200,000 → lna −80,000: bad credit; call = 0.35 × 120,000 + 80,000
    # M3: mv 120,000, loan 100,000 → lna 20,000: in force close, but not bad credit
    assert MarginCall.objects.filter(status="open").count() == 2
    page = text(officer.get("/margincall/bad-credit/"))
    (row,) = table_rows(page)
    assert row[0] == "M1" and row[1] == "C1"
    # [account, client, name, type, alert, loan, mv, equity, lna, shortfall, call, ...]
    assert row[5:11] == [
        "200,000.00HKD",
        "120,000.00HKD",
        "-80,000.00HKD",
        "-80,000.00HKD",
        "80,000.00HKD",
        "122,000.00HKD",
    ]
    call = MarginCall.objects.get(account__number="M1", status="open")
    assert f'href="/margincall/calls/{call.pk}/"' in page
    assert 'href="/liquidation/accounts/M1/"' in page
    assert 'data-testid="total-shortfall">80,000.00<' in page
    (exported,) = export(officer, "/margincall/bad-credit/export.xlsx")
    assert (exported["Account"], exported["Shortfall"], exported["Loan"]) == (
        "M1",
        D("80000.00"),
        D("200000.00"),
    )
    assert table_rows(text(officer.get("/margincall/bad-credit/", {"shortfall_min": "90000"}))) == [
        ["No rows match these filters."]
    ]
    drop("400")  # recovered: the call ends and the account leaves the list
    assert "M1" not in text(officer.get("/margincall/bad-credit/")).split("<tbody>")[1]
    assert m3.pk


def test_the_four_pages_are_in_the_menu(officer, book):
    page = text(officer.get("/"))
    for url in (
        "/margincall/lending/",
        "/margincall/bad-credit/",
        "/margincall/covered-calls/",
        "/margincall/short-recalls/",
    ):
        assert f'href="{url}"' in page, url
