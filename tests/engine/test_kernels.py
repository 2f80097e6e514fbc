"""Exact scaled-integer helpers of engine.kernels against Decimal over their whole range."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.engine.kernels import (
    market_value_cents,
    mul_div_round,
    ratio_micros,
    signed_mul_div_round,
    unit_digits,
)
from riskdesk.engine.margin import market_value
from riskdesk.engine.money import AMOUNT_PLACES, EXACT, RATIO_PLACES, ROUNDING

FAST = settings(max_examples=300, deadline=None)


def half_up(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUNDING, context=EXACT)


@FAST
@given(
    q=st.integers(-(10**12), 10**12),
    price=st.integers(0, 10**12),
    fx=st.integers(1, 10**12),
    mult=st.sampled_from([1, 10, 100, 1000]),
)
def test_market_value_cents_equals_decimal_reference(
    q: int, price: int, fx: int, mult: int
) -> None:
    # Arrange
    u2, u1, u0 = unit_digits(price, fx, mult)
    expected = market_value(q, Decimal(price).scaleb(-6), mult, Decimal(fx).scaleb(-8))
    # exact only while the result fits int64 comfortably (arrays.check_bounds ensures it)
    if abs(expected) * 100 >= 2**62:
        return
    # Act
    got = market_value_cents(q, u2, u1, u0)
    # Assert
    assert Decimal(got).scaleb(-2) == expected


@FAST
@given(x=st.integers(-(10**15), 10**15), m=st.integers(0, 10**10))
def test_signed_mul_div_round_is_half_away_from_zero(x: int, m: int) -> None:
    # fx conversion: cents × rate(×10^8) / 10^8
    expected = half_up(Decimal(x) * Decimal(m) / Decimal(10**8), Decimal(1))
    assert signed_mul_div_round(x, m, 10**8) == expected


@FAST
@given(x=st.integers(0, 10**16), m=st.integers(0, 10**4))
def test_mul_div_round_by_factor(x: int, m: int) -> None:
    expected = half_up(Decimal(x) * Decimal(m) / Decimal(10**4), Decimal(1))
    assert mul_div_round(x, m, 10**4) == expected


@FAST
@given(num=st.integers(-(9 * 10**12), 9 * 10**12), den=st.integers(1, 9 * 10**12))
def test_ratio_micros_equals_decimal_ratio(num: int, den: int) -> None:
    expected = half_up(Decimal(num) / Decimal(den), RATIO_PLACES).scaleb(6)
    assert ratio_micros(num, den) == expected


def test_half_cent_cases_round_away_from_zero() -> None:
    # 1 × 0.005 HKD = 0.5 cent -> 1 cent; −1 × 0.005 -> −1 cent
    u = unit_digits(5_000, 100_000_000, 1)
    assert market_value_cents(1, *u) == 1
    assert market_value_cents(-1, *u) == -1
    assert half_up(Decimal("0.005"), AMOUNT_PLACES) == Decimal("0.01")
