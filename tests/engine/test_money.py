"""Rounding, parsing and formatting rules of engine.money (DESIGN "Money and numbers")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from riskdesk.engine import money
from riskdesk.engine.money import (
    fmt_amount,
    fmt_ratio,
    parse_decimal,
    round_amount,
    round_fx,
    round_price,
    round_ratio,
)


def test_named_constants_have_the_agreed_values() -> None:
    constants = {
        name: getattr(money, name)
        for name in ("AMOUNT_PLACES", "RATIO_PLACES", "PRICE_PLACES", "FX_PLACES", "FACTOR_PLACES")
    }
    assert constants == {
        "AMOUNT_PLACES": Decimal("0.01"),
        "RATIO_PLACES": Decimal("0.000001"),
        "PRICE_PLACES": Decimal("0.000001"),
        "FX_PLACES": Decimal("0.00000001"),
        "FACTOR_PLACES": Decimal("0.0001"),
    }
    assert money.ROUNDING == ROUND_HALF_UP


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),  # half goes up
        ("0.0049999", "0.00"),
        ("2.675", "2.68"),  # exact decimal: no binary surprise
        ("-0.005", "-0.01"),  # half up = half away from zero for negatives
        ("-0.004", "0.00"),  # no negative zero
        ("207800", "207800.00"),
    ],
)
def test_round_amount_is_half_up_to_the_cent(value: str, expected: str) -> None:
    # Act
    result = round_amount(Decimal(value))
    # Assert: compare the string so that the exponent (2 dp) is pinned as well
    assert str(result) == expected


def test_round_ratio_price_and_fx_use_their_places() -> None:
    # 207,800 / 900,000 = 0.2308888… -> 0.230889 (worked example A1)
    assert str(round_ratio(Decimal(207800) / Decimal(900000))) == "0.230889"
    assert str(round_price(Decimal("12.3456785"))) == "12.345679"
    assert str(round_fx(Decimal("7.123456785"))) == "7.12345679"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.5")),
        (7, Decimal(7)),
        (Decimal("1.1"), Decimal("1.1")),
        ("-3", Decimal(-3)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_decimal_accepts_str_int_and_decimal(value: object, expected: Decimal) -> None:
    assert parse_decimal(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.0,
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        Decimal("NaN"),
        Decimal("Infinity"),
        True,
        None,
        "",
        " 1",
        "1e3",
        "1_000",
        "abc",
        [1],
    ],
)
def test_parse_decimal_refuses_floats_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=r"^not a decimal$"):
        parse_decimal(value)


def test_fmt_amount_and_fmt_ratio_give_fixed_places_without_exponent() -> None:
    assert fmt_amount(Decimal("207800")) == "207800.00"
    assert fmt_amount(Decimal("1E+7")) == "10000000.00"
    assert fmt_amount(Decimal("-0.001")) == "0.00"
    assert fmt_ratio(Decimal("0.2308888")) == "0.230889"
    assert fmt_ratio(Decimal(1)) == "1.000000"
    assert fmt_ratio(Decimal("-0.9230769")) == "-0.923077"
