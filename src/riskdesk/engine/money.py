"""Money and numbers: the one place where RiskDesk rounds, parses and formats decimals.

Rules (DESIGN "Money and numbers", SCENARIO.md):

- Amounts are ``Decimal`` and reported to ``AMOUNT_PLACES`` (2 dp); ratios to ``RATIO_PLACES``
  (6 dp); prices carry at most 6 dp, FX rates 8 dp, margin factors and haircuts 4 dp.
- Every rounding is ``ROUNDING`` (half up, i.e. half away from zero for negative values).
- Engine arithmetic runs in ``EXACT`` (100 significant digits) so that a product of a quantity,
  a price, a multiplier and an FX rate is exact before it is rounded once.

Nothing else in the engine calls ``quantize``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

AMOUNT_PLACES = Decimal("0.01")
RATIO_PLACES = Decimal("0.000001")
PRICE_PLACES = Decimal("0.000001")
FX_PLACES = Decimal("0.00000001")
FACTOR_PLACES = Decimal("0.0001")
ROUNDING = ROUND_HALF_UP

#: Context for engine arithmetic: wide enough that every product the engine forms is exact.
EXACT = Context(
    prec=100,
    rounding=ROUNDING,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

ZERO = Decimal(0)
ONE = Decimal(1)

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")

P = ParamSpec("P")
R = TypeVar("R")


def exact(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with ``EXACT`` as the decimal context (no silent rounding inside)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(EXACT):
            return fn(*args, **kwargs)

    return wrapper


def _round(d: Decimal, places: Decimal) -> Decimal:
    result = d.quantize(places, rounding=ROUNDING, context=EXACT)
    return result if result else result.copy_abs()  # never "-0.00"


def round_amount(d: Decimal) -> Decimal:
    """Amount to the cent (2 dp), half up."""
    return _round(d, AMOUNT_PLACES)


def round_ratio(d: Decimal) -> Decimal:
    """Ratio to 6 dp, half up."""
    return _round(d, RATIO_PLACES)


def round_price(d: Decimal) -> Decimal:
    """Price to 6 dp, half up."""
    return _round(d, PRICE_PLACES)


def round_fx(d: Decimal) -> Decimal:
    """FX rate to 8 dp, half up."""
    return _round(d, FX_PLACES)


def round_factor(d: Decimal) -> Decimal:
    """Margin factor or haircut to 4 dp, half up."""
    return _round(d, FACTOR_PLACES)


def has_places(d: Decimal, places: Decimal) -> bool:
    """True when ``d`` carries no more decimal places than ``places`` (e.g. AMOUNT_PLACES)."""
    return d == d.quantize(places, rounding=ROUNDING, context=EXACT)


def places_count(places: Decimal) -> int:
    """Number of decimal places a ``*_PLACES`` constant stands for (0.01 -> 2)."""
    return -places.as_tuple().exponent  # type: ignore[operator]


def parse_decimal(value: object) -> Decimal:
    """Parse a decimal from ``str`` ("-12.50"), ``int`` or ``Decimal``.

    Refuses floats (binary fractions are not money), booleans, NaN, Infinity, exponent notation
    and anything else with ``ValueError("not a decimal")``.
    """
    if isinstance(value, Decimal):
        result = value
    elif (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value)
    ):
        result = Decimal(value)
    else:
        raise ValueError("not a decimal")
    if not result.is_finite():
        raise ValueError("not a decimal")
    return result


def _fmt(d: Decimal) -> str:
    return format(d, "f")


def fmt_amount(d: Decimal) -> str:
    """Amount as a plain string with 2 dp: ``Decimal("207800") -> "207800.00"``."""
    return _fmt(round_amount(d))


def fmt_ratio(d: Decimal) -> str:
    """Ratio as a plain string with 6 dp: ``Decimal("0.2308888") -> "0.230889"``."""
    return _fmt(round_ratio(d))


def cents(d: Decimal) -> int:
    """An amount with at most 2 dp as an integer number of cents (exact; refuses more dp)."""
    if not has_places(d, AMOUNT_PLACES):
        raise ValueError(f"{d} has more than 2 decimal places")
    return int(d.scaleb(2, context=EXACT))


def scaled(d: Decimal, places: Decimal) -> int:
    """``d`` as an integer in units of ``places`` (exact; refuses more dp)."""
    if not has_places(d, places):
        raise ValueError(f"{d} has more than {places_count(places)} decimal places")
    return int(d.scaleb(places_count(places), context=EXACT))


def from_cents(n: int) -> Decimal:
    """Inverse of ``cents``: 12345 -> Decimal("123.45")."""
    return Decimal(int(n)).scaleb(-2, context=EXACT)


def from_scaled(n: int, places: Decimal) -> Decimal:
    """Inverse of ``scaled``: (230889, RATIO_PLACES) -> Decimal("0.230889")."""
    return Decimal(int(n)).scaleb(-places_count(places), context=EXACT)
