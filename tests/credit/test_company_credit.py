"""CR-5: company credit figures from the book, and threshold alerts."""

from decimal import Decimal

import pytest

from riskdesk.approvals import services
from riskdesk.credit.models import CompanyCredit
from riskdesk.credit.selectors import company_figures

pytestmark = pytest.mark.django_db


def set_limits(users, **payload):
    request = services.submit(
        flow="credit.company_limit",
        target=CompanyCredit.objects.get(pk=1),
        payload=payload,
        maker=users["officer"],
    )
    services.approve(request_id=request.pk, user=users["approver"])


def test_used_financing_and_advances_come_from_debit_balances(book, post, users):
    from riskdesk.book.models import Account

    # Margin M1 buys 2,000 700.HK at 400 = 800,000 HKD with no cash → HKD debit 800,000 (financing).
    post("trade_fill", account="M1", instrument="700.HK", side="buy", quantity=2000, price="400")
    # Margin M1 also buys 10 AAPL at 200 = 2,000 USD → USD debit 2,000.
    post("trade_fill", account="M1", instrument="AAPL.US", side="buy", quantity=10, price="200")
    # Cash K1 buys 100 700.HK at 400 = 40,000 HKD before its money arrives → advance 40,000.
    post("trade_fill", account="K1", instrument="700.HK", side="buy", quantity=100, price="400")
    # A closed margin account's debt no longer counts as the firm's financing.
    closed = Account.objects.create(number="M9", client=book["client"], type="margin")
    post("trade_fill", account="M9", instrument="700.HK", side="buy", quantity=100, price="400")
    closed.status = "closed"
    closed.save()
    set_limits(
        users,
        **{
            "HKD.max_financing": "1000000",
            "HKD.financing_warning": "750000",
            "HKD.advance_warning": "50000",
            "USD.max_financing": "1500",
            "total_credit": "5000000",
        },
    )
    figures = company_figures()
    hkd, usd = figures.currencies
    assert (hkd.currency, hkd.used_financing, hkd.advanced) == (
        "HKD",
        Decimal("800000.00"),
        Decimal("40000.00"),
    )
    assert hkd.financing_alert == "warning"  # 800,000 ≥ 750,000 and ≤ 1,000,000
    assert hkd.advance_alert == "ok"  # 40,000 < 50,000
    assert (usd.used_financing, usd.financing_alert) == (
        Decimal("2000.00"),
        "over",
    )  # 2,000 > 1,500
    assert figures.remaining == Decimal("5000000.00")  # no client credit approved yet
    assert figures.alerts == ["HKD financing", "USD financing"]


def test_a_zero_threshold_is_unset(db):
    figures = company_figures()
    assert figures.alerts == [] and figures.approved_alert == "ok"
