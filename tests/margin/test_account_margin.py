"""MR-6 on the book: the ratio each position uses and why, the account's requirements and its
buying power (equity − IM requirement + trading credit). Figures worked by hand."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from riskdesk.approvals.governed import seeding
from riskdesk.book.models import Account
from riskdesk.margin.figures import account_risk
from riskdesk.margin.models import IntradayMargin, IntradayRule, ShortMargin, StockMargin

pytestmark = pytest.mark.django_db
HK = ZoneInfo("Asia/Hong_Kong")
D = Decimal


def ratio(instrument, model, im, mcm, mm, fm):
    with seeding("test"):
        model.objects.create(instrument=instrument, im=D(im), mcm=D(mcm), mm=D(mm), fm=D(fm))


@pytest.fixture
def margin_book(book, post):
    """M1: 2,000 700.HK (ratio 40/35/30/25), 100 AAPL bought at 200 USD (no ratio), 5,000
    1234.HK (delisted, has a ratio that must not be used)."""
    ratio(book["tencent"], StockMargin, "0.40", "0.35", "0.30", "0.25")
    ratio(book["dead"], StockMargin, "0.50", "0.45", "0.40", "0.35")
    post("transfer_in", account="M1", instrument="700.HK", quantity=2000)
    post("trade_fill", account="M1", instrument="AAPL.US", side="buy", quantity=100, price="200")
    post("transfer_in", account="M1", instrument="1234.HK", quantity=5000)
    return book


def by_code(risk):
    return {line.code: line for line in risk.lines}


def test_margin_account_ratios_requirements_and_buying_power(margin_book):
    risk = account_risk(margin_book["margin"])
    lines = by_code(risk)
    # Ratio used and why, per position
    assert (lines["700.HK"].resolved.source, lines["700.HK"].resolved.factors.im) == (
        "stock",
        D("0.40"),
    )
    assert lines["AAPL.US"].resolved.source == "none" and lines["AAPL.US"].resolved.factors.im == 1
    assert (
        lines["1234.HK"].resolved.source == "excluded" and lines["1234.HK"].resolved.factors.im == 1
    )
    assert "Delisted" in lines["1234.HK"].resolved.reason
    # cash = −100 × 200 × 7.8 = −156,000; long = 800,000 + 156,000 + 50,000 = 1,006,000
    f = risk.figures
    assert (f.cash, f.long_mv, f.equity) == (D("-156000.00"), D("1006000.00"), D("850000.00"))
    # IM = 800,000 × 0.40 + 156,000 × 1 + 50,000 × 1 = 526,000
    assert f.req.im == D("526000.00") and lines["700.HK"].im_requirement == D("320000.00")
    # MM = 800,000 × 0.30 + 206,000 = 446,000; lna = 850,000 − 50,000 = 800,000 → no alert
    assert (f.req.mm, f.lna, f.alert) == (D("446000.00"), D("800000.00"), "none")
    # buying power = 850,000 − 526,000 + 0 = 324,000
    assert risk.buying_power == D("324000.00")


def test_short_position_uses_the_short_ratio(book, post):
    ratio(book["apple"], ShortMargin, "0.50", "0.45", "0.40", "0.35")
    Account.objects.create(number="M2", client=book["client"], type="margin")
    post("trade_fill", account="M2", instrument="AAPL.US", side="sell", quantity=50, price="200")
    risk = account_risk(Account.objects.get(number="M2"))
    line = by_code(risk)["AAPL.US"]
    assert line.resolved.source == "short" and line.resolved.factors.im == D("0.50")
    # proceeds 50 × 200 × 7.8 = +78,000 cash; short mv −78,000 → equity 0; IM 78,000 × 0.5 = 39,000
    assert (risk.figures.equity, risk.im_requirement, risk.buying_power) == (
        D("0.00"),
        D("39000.00"),
        D("-39000.00"),
    )


def test_cash_account_is_never_margined(book, post):
    ratio(book["tencent"], StockMargin, "0.40", "0.35", "0.30", "0.25")
    post("deposit", account="K1", currency="HKD", amount="10000")
    post("transfer_in", account="K1", instrument="700.HK", quantity=100)
    risk = account_risk(book["cash"])
    assert by_code(risk)["700.HK"].resolved.source == "cash_account"
    # buying power of a cash account is its cash: 10,000 + 40,000 − 40,000
    assert risk.buying_power == D("10000.00")


@pytest.mark.parametrize(
    "at, source, im",
    [
        (datetime(2026, 11, 24, 10, 0, tzinfo=HK), "intraday", D("80000.00")),  # in session
        (
            datetime(2026, 11, 24, 15, 29, tzinfo=HK),
            "intraday",
            D("80000.00"),
        ),  # 31 min before 16:00
        (
            datetime(2026, 11, 24, 15, 30, tzinfo=HK),
            "intraday_inactive",
            D("400000.00"),
        ),  # 30 min before close
        (
            datetime(2026, 11, 24, 9, 0, tzinfo=HK),
            "intraday_inactive",
            D("400000.00"),
        ),  # before the open
        # Christmas Eve is a half day closing 12:00: active until 11:30
        (datetime(2026, 12, 24, 11, 29, tzinfo=HK), "intraday", D("80000.00")),
        (datetime(2026, 12, 24, 11, 30, tzinfo=HK), "intraday_inactive", D("400000.00")),
        (
            datetime(2026, 12, 25, 11, 0, tzinfo=HK),
            "intraday_inactive",
            D("400000.00"),
        ),  # Christmas: closed
    ],
)
def test_intraday_ratio_only_in_its_session(book, post, at, source, im):
    # 1,000 700.HK × 400 = 400,000; intraday IM 20% → 80,000 in session, 100% → 400,000 outside
    ratio(book["tencent"], IntradayMargin, "0.20", "0.15", "0.12", "0.10")
    ratio(book["tencent"], StockMargin, "0.40", "0.35", "0.30", "0.25")  # never used for intraday
    with seeding("test"):
        IntradayRule.objects.create(market="HK", starts_after_open=0, ends_before_close=30)
    intraday = Account.objects.create(number="I1", client=book["client"], type="intraday")
    post("transfer_in", account="I1", instrument="700.HK", quantity=1000)
    risk = account_risk(intraday, at=at)
    assert (by_code(risk)["700.HK"].resolved.source, risk.im_requirement) == (source, im)


def test_disabled_intraday_rule_means_100_percent(book, post):
    ratio(book["tencent"], IntradayMargin, "0.20", "0.15", "0.12", "0.10")
    with seeding("test"):
        IntradayRule.objects.create(market="HK", enabled=False)
    intraday = Account.objects.create(number="I1", client=book["client"], type="intraday")
    post("transfer_in", account="I1", instrument="700.HK", quantity=1000)
    risk = account_risk(intraday, at=datetime(2026, 11, 24, 10, 0, tzinfo=HK))
    assert risk.im_requirement == D("400000.00")


def test_account_page_and_api_show_ratio_why_and_buying_power(margin_book, users, client, api):
    client.force_login(users["auditor"])
    page = client.get("/book/accounts/M1/").content.decode()
    assert 'data-testid="margin-panel"' in page and "324,000.00" in page
    assert "long margin ratio of the stock" in page and "not marginable" in page
    body = api("auditor").get("/api/v1/accounts/M1").json()
    margin = body["margin"]
    assert (margin["im_requirement"], margin["buying_power"]) == ("526000.00", "324000.00")
    tencent = next(p for p in margin["positions"] if p["instrument"] == "700.HK")
    assert (
        tencent["ratio"]["im"] == "0.4000"
        and tencent["source"] == "stock"
        and tencent["im_requirement"] == "320000.00"
    )
