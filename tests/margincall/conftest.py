"""Fixtures shared by the margin-call tests (monitor, snapshots, pages).

``call_book``: the ``book`` fixture with 700.HK marginable at 40/35/30/25 and M1 holding 1,000
700.HK bought at 400 on 200,000 HKD of its own money (cash −200,000), plus a second margin
account M2 (client C2) holding 100 AAPL.US fully paid. Nothing in call at 400:
  M1 mv 400,000, equity = lna 200,000 ≥ mm 120,000.
``monitor_at``: the moment the tests screen at, Wed 2026-12-23 10:00 Hong Kong (3 HK trading
days later is Tue 2026-12-29: 24th half day, 25th Christmas, 26th/27th weekend, 28th, 29th).
``drop(price)``: posts a 700.HK price and applies the pending events at ``monitor_at``.
"""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

HK = ZoneInfo("Asia/Hong_Kong")


@pytest.fixture(autouse=True)
def no_gap_wait(monkeypatch):
    """Ids left by rolled-back events (PostgreSQL sequences) are not waited for in tests."""
    from datetime import timedelta

    from riskdesk.margincall import monitor

    monkeypatch.setattr(monitor, "GAP_WAIT", timedelta(0))


@pytest.fixture
def stock_ratio(db):
    """``stock_ratio(instrument, im, mcm, mm, fm, model=StockMargin)``: a ratio in force."""
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    def _ratio(instrument, im, mcm, mm, fm, model=StockMargin):
        with seeding("test"):
            return model.objects.create(
                instrument=instrument,
                im=Decimal(im),
                mcm=Decimal(mcm),
                mm=Decimal(mm),
                fm=Decimal(fm),
            )

    return _ratio


@pytest.fixture
def monitor_at():
    return datetime(2026, 12, 23, 10, 0, tzinfo=HK)


@pytest.fixture
def call_book(book, post, stock_ratio):
    from riskdesk.book.models import Account, Client

    stock_ratio(book["tencent"], "0.40", "0.35", "0.30", "0.25")
    post("deposit", account="M1", currency="HKD", amount="200000")
    post("trade_fill", account="M1", instrument="700.HK", side="buy", quantity=1000, price="400")
    c2 = Client.objects.create(code="C2", name="Lee Siu Ming")
    m2 = Account.objects.create(number="M2", client=c2, type="margin")
    post("deposit", account="M2", currency="USD", amount="20000")
    post("trade_fill", account="M2", instrument="AAPL.US", side="buy", quantity=100, price="200")
    return {**book, "m2": m2, "c2": c2}


@pytest.fixture
def run_monitor(monitor_at):
    """``run_monitor(at=monitor_at)``: apply every pending book event; events consumed."""
    from riskdesk.margincall.monitor import process_all

    def _run(at=None):
        return process_all(at=at or monitor_at)

    return _run


@pytest.fixture
def drop(post, run_monitor):
    def _drop(price: str, code: str = "700.HK", at=None):
        post("price_update", prices=[{"instrument": code, "last": price}])
        return run_monitor(at)

    return _drop
