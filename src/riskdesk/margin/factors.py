"""Validation of the four factors of a margin ratio (MR-1), shared by every margin flow,
form and import: 1 ≥ IM ≥ MCM ≥ MM ≥ FM ≥ 0, at most 4 decimal places."""

from decimal import Decimal

from django.core.exceptions import ValidationError

from riskdesk.engine.margin import FACTOR_NAMES, MarginFactors, factor_order_error
from riskdesk.engine.money import FACTOR_PLACES, parse_decimal

FIELDS = FACTOR_NAMES  # ("im", "mcm", "mm", "fm")


def parse_factor(value, field: str) -> Decimal:
    try:
        factor = parse_decimal(value)
    except (ValueError, TypeError):
        raise ValidationError({field: "not a decimal"}) from None
    if factor.as_tuple().exponent < FACTOR_PLACES.as_tuple().exponent:
        raise ValidationError({field: "at most 4 decimal places"})
    return factor


def clean_factors(payload: dict) -> dict[str, str]:
    """The four factors as 4-dp strings; ValidationError naming the factor at fault."""
    missing = [f for f in FIELDS if payload.get(f) in (None, "")]
    if missing:
        raise ValidationError({missing[0]: "required"})
    values = {f: parse_factor(payload[f], f) for f in FIELDS}
    problem = factor_order_error(MarginFactors(*(values[f] for f in FIELDS)))
    if problem:
        raise ValidationError({problem[0]: problem[1]})
    return {f: f"{values[f].quantize(FACTOR_PLACES)}" for f in FIELDS}


def as_factors(data: dict) -> MarginFactors:
    return MarginFactors(*(Decimal(data[f]) for f in FIELDS))


def of(row) -> dict[str, str] | None:
    """A ratio row's factors as 4-dp strings (None when there is no row)."""
    if row is None:
        return None
    return {f: f"{getattr(row, f).quantize(FACTOR_PLACES)}" for f in FIELDS}
