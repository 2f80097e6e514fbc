"""PL-1: balance = sum of entries, and the daily reconciliation finds any break."""

from decimal import Decimal

import pytest

from riskdesk.book.models import CashBalance, Position
from riskdesk.book.selectors import reconcile_book

pytestmark = pytest.mark.django_db


def test_reconciliation_reports_a_balance_that_left_its_ledger(book, post):
    post("deposit", account="M1", currency="HKD", amount="100")
    post("transfer_in", account="M1", instrument="700.HK", quantity=300)
    assert reconcile_book() == []
    CashBalance.objects.filter(account=book["margin"]).update(balance=Decimal("99.99"))
    Position.objects.filter(account=book["margin"]).update(quantity=200)
    assert reconcile_book() == [
        "M1 HKD: balance 99.99 != entries 100.00",
        "M1 700.HK: position 200 != entries 300",
    ]
