"""Conversion to the base currency (engine.fx)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from riskdesk.engine.fx import MissingRateError, cash_in_base, to_base

FX = {"USD": Decimal("7.8"), "CNH": Decimal("0.4")}


def test_to_base_multiplies_by_units_of_base_per_unit() -> None:
    # 1,000 USD × 7.8 = 7,800 HKD
    assert to_base(Decimal(1000), "USD", FX, "HKD") == Decimal(7800)


def test_base_currency_converts_at_one() -> None:
    assert to_base(Decimal("-500000"), "HKD", FX, "HKD") == Decimal("-500000")


def test_missing_rate_is_a_clear_error() -> None:
    with pytest.raises(MissingRateError, match=r"^no fx rate for EUR$"):
        to_base(Decimal(1), "EUR", FX, "HKD")


def test_cash_in_base_rounds_each_converted_balance_before_summing() -> None:
    # Arrange: USD 0.01 × 0.4 = 0.004 -> 0.00 and CNH 0.01 × 0.4 = 0.004 -> 0.00
    # (summing first would give 0.008 -> 0.01)
    fx = {"USD": Decimal("0.4"), "CNH": Decimal("0.4")}
    balances = [("USD", Decimal("0.01")), ("CNH", Decimal("0.01")), ("HKD", Decimal("2.50"))]
    # Act
    cash = cash_in_base(balances, fx, "HKD")
    # Assert: 0.00 + 0.00 + 2.50
    assert cash == Decimal("2.50")
