"""Currency conversion to the firm's base currency (PL-1 FX rates, SCENARIO.md ``fx``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from riskdesk.engine.money import ONE, ZERO, exact, round_amount


class MissingRateError(LookupError):
    """No FX rate for a currency; ``str`` is ``"no fx rate for EUR"``."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        super().__init__(f"no fx rate for {currency}")


def fx_rate(currency: str, fx: Mapping[str, Decimal], base: str) -> Decimal:
    """Units of ``base`` per unit of ``currency``; the base currency is 1 (PL-1)."""
    if currency == base:
        return ONE
    try:
        return fx[currency]
    except KeyError:
        raise MissingRateError(currency) from None


@exact
def to_base(amount: Decimal, currency: str, fx: Mapping[str, Decimal], base: str) -> Decimal:
    """``amount × fx(currency)``, exact (not rounded); ``fx`` = units of base per unit (PL-1)."""
    return amount * fx_rate(currency, fx, base)


@exact
def cash_in_base(
    balances: Iterable[tuple[str, Decimal]], fx: Mapping[str, Decimal], base: str
) -> Decimal:
    """``cash = Σ round_amount(balance × fx(currency))`` over an account's balances (MC-1, ST-7).

    Each converted balance is rounded to the cent before summing, like every line figure.
    """
    total = ZERO
    for currency, balance in balances:
        total += round_amount(to_base(balance, currency, fx, base))
    return total
