"""MC-9 short-stock recall: the daily list (why each stock is recalled, quantities and market
values), idempotent per run date, run by the scheduler on HK trading days; the list page with
its latest-date default, filters, export, close links and the bulk recall notice.

Book (``book`` fixture: HKD base, USD 7.8; 700.HK at 400, AAPL.US at 200) plus 5.HK at 60 and
388.HK at 300:
  M1 (C1) short 1,000 700.HK and 2,000 5.HK
  M2 (C2, English) short 500 700.HK, 50 AAPL.US and 100 388.HK
  700.HK: allowed, pool 1,200 < 1,500 short by all  → pool_short
  5.HK:   forbidden by hand                          → not_shortable
  AAPL.US: no short margin                           → no_short_margin
  388.HK: allowed, pool not reported                 → stays
"""

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from riskdesk.book.models import Instrument, Price
from riskdesk.margincall import recalls
from riskdesk.margincall.models import ShortRecall
from riskdesk.notices.models import Message
from tests.margincall.test_overviews import margin_account, short_margin, table_rows, text

pytestmark = pytest.mark.django_db
D = Decimal
HK = ZoneInfo("Asia/Hong_Kong")
DAY = date(2026, 12, 23)

FIELDS = (
    "run_date",
    "account__number",
    "instrument__code",
    "quantity",
    "market_value",
    "reason",
    "shortable",
    "pool_qty",
    "total_short",
)


def recall_rows(run_date=DAY):
    return list(ShortRecall.objects.filter(run_date=run_date).order_by("id").values_list(*FIELDS))


@pytest.fixture
def short_book(book, post):
    margin_account("M2", "C2", "Lee Siu Ming", language="en", email="c2@example.com")
    now = timezone.now()
    hsbc = Instrument.objects.create(code="5.HK", name="HSBC", market="HK", currency="HKD")
    hkex = Instrument.objects.create(code="388.HK", name="HKEX", market="HK", currency="HKD")
    Price.objects.create(instrument=hsbc, last=D("60"), as_of=now)
    Price.objects.create(instrument=hkex, last=D("300"), as_of=now)
    short_margin(book["tencent"], pool=1200)
    short_margin(hsbc, shortable="forbidden", why="lender recall")
    short_margin(hkex)
    for number in ("M1", "M2"):
        post("deposit", account=number, currency="HKD", amount="500000")
    for account, code, qty, price in [
        ("M1", "700.HK", 1000, "400"),
        ("M1", "5.HK", 2000, "60"),
        ("M2", "700.HK", 500, "400"),
        ("M2", "AAPL.US", 50, "200"),
        ("M2", "388.HK", 100, "300"),
    ]:
        post("trade_fill", account=account, instrument=code, side="sell", quantity=qty, price=price)
    return {**book, "hsbc": hsbc, "hkex": hkex}


EXPECTED = [
    # by stock code, then account; market value = quantity × last × FX, base currency
    (DAY, "M1", "5.HK", 2000, D("120000.00"), "not_shortable", "forbidden", None, 2000),
    (DAY, "M1", "700.HK", 1000, D("400000.00"), "pool_short", "allowed", 1200, 1500),
    (DAY, "M2", "700.HK", 500, D("200000.00"), "pool_short", "allowed", 1200, 1500),
    (DAY, "M2", "AAPL.US", 50, D("78000.00"), "no_short_margin", "", None, 50),
]


def test_the_day_list_with_reasons_and_figures(short_book):
    result = recalls.run(DAY)
    assert result == {"run_date": "2026-12-23", "rows": 4, "replaced": 0}
    assert recall_rows() == EXPECTED


def test_rerunning_a_date_replaces_its_rows(short_book, post):
    recalls.run(DAY)
    first_ids = set(ShortRecall.objects.values_list("id", flat=True))
    result = recalls.run(DAY)
    assert result["rows"] == 4 and result["replaced"] == 4
    assert recall_rows() == EXPECTED  # the same rows, once
    assert ShortRecall.objects.count() == 4
    assert not first_ids & set(ShortRecall.objects.values_list("id", flat=True))
    # the next day is a list of its own; the client who bought back leaves it
    post("trade_fill", account="M2", instrument="AAPL.US", side="buy", quantity=50, price="200")
    recalls.run(DAY + timedelta(days=1))
    assert recall_rows() == EXPECTED
    assert [r[2] for r in recall_rows(DAY + timedelta(days=1))] == ["5.HK", "700.HK", "700.HK"]
    # re-running the first date now reflects the book as it is now
    recalls.run(DAY)
    assert [r[2] for r in recall_rows()] == ["5.HK", "700.HK", "700.HK"]


def test_a_stock_back_in_the_pool_is_not_recalled(short_book):
    from riskdesk.approvals.governed import seeding

    margin = short_book["tencent"].short_margin
    with seeding("test"):
        margin.pool_qty = 1500  # exactly what all clients are short: enough
        margin.save()
    recalls.run(DAY)
    assert [r[2] for r in recall_rows()] == ["5.HK", "AAPL.US"]


def test_the_scheduler_runs_it_on_hk_trading_days(short_book, django_capture_on_commit_callbacks):
    from riskdesk.jobs.models import JobRun
    from riskdesk.jobs.scheduler import JOBS, run_due

    job = next(j for j in JOBS if j.name == "short-recall")
    assert run_due(datetime(2026, 12, 23, 8, 30, tzinfo=HK), [job]) == []  # not yet 08:45
    assert run_due(datetime(2026, 12, 25, 9, 0, tzinfo=HK), [job]) == []  # Christmas
    with django_capture_on_commit_callbacks(execute=True):
        run_due(datetime(2026, 12, 23, 8, 45, tzinfo=HK), [job])
    run = JobRun.objects.get(job="short-recall")
    assert run.status == "done" and run.result["rows"] == 4
    assert recall_rows() == EXPECTED
    with django_capture_on_commit_callbacks(execute=True):  # once per day
        assert run_due(datetime(2026, 12, 23, 9, 0, tzinfo=HK), [job]) == []
    assert ShortRecall.objects.count() == 4


@pytest.fixture
def officer(client, users):
    client.force_login(users["officer"])
    return client


def test_page_shows_the_latest_run_and_filters(officer, short_book, post):
    recalls.run(DAY)
    post("trade_fill", account="M1", instrument="5.HK", side="buy", quantity=2000, price="60")
    recalls.run(DAY + timedelta(days=1))
    page = text(officer.get("/margincall/short-recalls/"))
    rows = table_rows(page)
    # [tick, run date, account, client, name, stock, name, qty, mv, reason, …]
    assert [(r[1], r[2], r[5], r[7], r[8]) for r in rows] == [
        ("2026-12-24", "M1", "700.HK", "1,000", "400,000.00HKD"),
        ("2026-12-24", "M2", "700.HK", "500", "200,000.00HKD"),
        ("2026-12-24", "M2", "AAPL.US", "50", "78,000.00HKD"),
    ]
    assert rows[0][9] == "Lending pool below the short quantity"
    assert 'data-testid="total-recall-mv">678,000.00<' in page
    assert 'href="/liquidation/accounts/M1/?instrument=700.HK&amp;quantity=1000"' in page
    assert 'href="/book/accounts/M1/"' in page  # no open call: the account's page
    assert 'action="/notices/recall/short-recalls/"' in page
    rows = table_rows(text(officer.get("/margincall/short-recalls/", {"run_date": "2026-12-23"})))
    assert [(r[2], r[5]) for r in rows] == [
        ("M1", "5.HK"),
        ("M1", "700.HK"),
        ("M2", "700.HK"),
        ("M2", "AAPL.US"),
    ]
    rows = table_rows(
        text(
            officer.get(
                "/margincall/short-recalls/",
                {"run_date": "2026-12-23", "reason": "not_shortable", "account": "M1"},
            )
        )
    )
    assert [(r[2], r[5], r[9]) for r in rows] == [("M1", "5.HK", "Short selling not allowed")]
    page = text(officer.get("/margincall/short-recalls/", {"run_date": "23/12/2026"}))
    assert "not a date" in page
    response = officer.get("/margincall/short-recalls/export.xlsx", {"stock": "700"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    exported = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    assert [
        (r["Run date"], r["Account"], r["Quantity short"], r["Market value"]) for r in exported
    ] == [
        (datetime(2026, 12, 24), "M1", 1000, D("400000.00")),
        (datetime(2026, 12, 24), "M2", 500, D("200000.00")),
    ]
    assert "Close" not in values[0]


def test_empty_until_the_first_run(officer, short_book):
    rows = table_rows(text(officer.get("/margincall/short-recalls/")))
    assert rows == [["No rows match these filters."]]


def test_recall_notice_from_the_list_asks_for_what_is_short_now(
    officer, short_book, post, mailoutbox, django_capture_on_commit_callbacks
):
    recalls.run(DAY)
    ids = {
        f"{a}/{c}": pk
        for pk, a, c in ShortRecall.objects.values_list("pk", "account__number", "instrument__code")
    }
    # M1 covered 400 of its 1,000 700.HK since the run; M2 bought back all its AAPL
    post("trade_fill", account="M1", instrument="700.HK", side="buy", quantity=400, price="400")
    post("trade_fill", account="M2", instrument="AAPL.US", side="buy", quantity=50, price="200")
    with django_capture_on_commit_callbacks(execute=True):
        r = officer.post(
            "/notices/recall/short-recalls/",
            {"ids": [ids["M1/700.HK"], ids["M2/700.HK"], ids["M2/AAPL.US"]]},
        )
    page = text(r)
    assert re.search(r'data-account="M1" data-stock="700.HK" data-ok="1".*?>600<', page, re.S)
    assert 'data-account="M2" data-stock="AAPL.US" data-ok="0"' in page
    assert "no longer short" in page
    sent = Message.objects.filter(kind="stock_recall", channel="email").order_by("account__number")
    assert [(m.account.number, m.instrument.code, m.quantity) for m in sent] == [
        ("M1", "700.HK", 600),
        ("M2", "700.HK", 500),
    ]
    assert sorted(m.to[0] for m in mailoutbox) == ["c1@example.com", "c2@example.com"]
