"""Fixtures of the liquidation tests (MC-1, MC-2, MC-10).

``liq_book``: the ``book`` fixture with 700.HK marginable at 50/45/40/30; M1 deposited HKD
300,000 and bought 1,000 700.HK at 400 (cash −100,000). At 400 nothing is in call. ``crash()``
posts 700.HK at 150 and runs the monitor: equity = lna 50,000 < MM 60,000 → margin call,
call amount = MCM 67,500 − 50,000 = 17,500. The planner's cure: sell 300 (3 lots), after which
req MCM = 0.45 × 700 × 150 = 47,250 ≤ 50,000.
"""

from datetime import timedelta
from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def no_gap_wait(monkeypatch):
    from riskdesk.margincall import monitor

    monkeypatch.setattr(monitor, "GAP_WAIT", timedelta(0))


@pytest.fixture
def liq_book(book, post, users):
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    with seeding("test"):
        StockMargin.objects.create(
            instrument=book["tencent"],
            im=Decimal("0.50"),
            mcm=Decimal("0.45"),
            mm=Decimal("0.40"),
            fm=Decimal("0.30"),
        )
    post("deposit", account="M1", currency="HKD", amount="300000")
    post("trade_fill", account="M1", instrument="700.HK", side="buy", quantity=1000, price="400")
    return book


@pytest.fixture
def crash(liq_book, post):
    """Drop 700.HK to ``price`` (default 150) and apply it; the open call of M1."""
    from riskdesk.margincall.models import MarginCall
    from riskdesk.margincall.monitor import process_all

    def _crash(price="150"):
        post("price_update", prices=[{"instrument": "700.HK", "last": price}])
        process_all()
        return MarginCall.objects.get(account__number="M1", status="open")

    return _crash


@pytest.fixture
def approve_parameters(users):
    """``approve_parameters(**changes)``: officer proposes, approver approves (PL-12)."""
    from riskdesk.approvals import services
    from riskdesk.liquidation.models import LiquidationParameters

    def _approve(**changes):
        target = LiquidationParameters.objects.get(pk=1)
        change = services.submit(
            flow="liquidation.parameters", target=target, payload=changes, maker=users["officer"]
        )
        services.approve(request_id=change.pk, user=users["approver"])
        return LiquidationParameters.objects.get(pk=1)

    return _approve
