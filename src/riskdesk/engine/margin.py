"""Margin figures of one account: the scalar Decimal reference (MC-1, MR-1, MR-6, SCENARIO.md).

All amounts are in the base currency. A *line* figure (a position's market value, its margin
requirement) is rounded to the cent once, where it arises; account figures are sums of lines,
so every total equals the sum of the lines a risk officer sees in the position detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from riskdesk.engine.money import ONE, ZERO, exact, round_amount, round_ratio

#: Statuses whose long market value is excluded from liquid net assets (MC-1).
EXCLUDED_STATUSES = frozenset({"delisted", "long_suspended"})
STATUSES = ("normal", "suspended", "long_suspended", "delisted")
KINDS = ("stock", "etf", "warrant", "option")
FACTOR_NAMES = ("im", "mcm", "mm", "fm")

NONE = "none"
MARGIN_CALL = "margin_call"
FORCE_CLOSE = "force_close"
ALERTS = (NONE, MARGIN_CALL, FORCE_CLOSE)


@dataclass(frozen=True)
class MarginFactors:
    """The four factors of a margin ratio, 1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0 (MR-1)."""

    im: Decimal
    mcm: Decimal
    mm: Decimal
    fm: Decimal

    def as_tuple(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        return (self.im, self.mcm, self.mm, self.fm)


#: Not marginable: 100% at every level (MR-1 "a stock with no ratio", MC-1 excluded stocks).
FULL_MARGIN = MarginFactors(ONE, ONE, ONE, ONE)


def factor_order_error(factors: MarginFactors) -> tuple[str, str] | None:
    """First violation of 1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0 as (factor name, message), else None (MR-1)."""
    values = factors.as_tuple()
    if values[0] > ONE:
        return "im", f"must be at most 1 (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got {values[0]}"
    for i in range(1, 4):
        if values[i] > values[i - 1]:
            name, prev = FACTOR_NAMES[i], FACTOR_NAMES[i - 1]
            return name, (
                f"must not exceed {prev} (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), "
                f"got {name} {values[i]} > {prev} {values[i - 1]}"
            )
    if values[3] < ZERO:
        return "fm", f"must not be negative (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got {values[3]}"
    return None


@dataclass(frozen=True)
class Holding:
    """One position of an account, with what the margin figures need."""

    quantity: int
    price: Decimal
    fx_rate: Decimal
    factors: MarginFactors
    status: str = "normal"
    multiplier: int = 1


@dataclass(frozen=True)
class Requirements:
    """Margin requirement of an account at each level (MC-1)."""

    im: Decimal
    mcm: Decimal
    mm: Decimal
    fm: Decimal


@dataclass(frozen=True)
class AccountFigures:
    """Every figure `calc margin` reports for one account, base currency (MC-1)."""

    cash: Decimal
    equity: Decimal
    lna: Decimal
    nar: Decimal
    long_mv: Decimal
    short_mv: Decimal
    excluded_mv: Decimal
    loan: Decimal
    req: Requirements
    over_financing: Decimal
    call_amount: Decimal
    alert: str


@exact
def market_value(quantity: int, price: Decimal, multiplier: int, fx_rate: Decimal) -> Decimal:
    """``mv = round_amount(qty × price × multiplier × fx)``; negative for shorts (MC-1, ST-7)."""
    return round_amount(quantity * price * multiplier * fx_rate)


def is_excluded(status: str) -> bool:
    """Delisted and long-suspended stocks leave liquid net assets (MC-1)."""
    return status in EXCLUDED_STATUSES


def effective_factors(factors: MarginFactors, status: str) -> MarginFactors:
    """Factor 1 at every level for excluded stocks, long or short; else the resolved ratio (MR-6)."""
    return FULL_MARGIN if is_excluded(status) else factors


@exact
def requirement(mv: Decimal, factor: Decimal) -> Decimal:
    """``req line = round_amount(|mv| × factor)`` (MC-1)."""
    return round_amount(abs(mv) * factor)


def equity(cash: Decimal, long_mv: Decimal, short_mv: Decimal) -> Decimal:
    """``equity = cash + long_mv + short_mv`` (short_mv is negative) (MC-1)."""
    return cash + long_mv + short_mv


def liquid_net_assets(equity_: Decimal, excluded_mv: Decimal) -> Decimal:
    """``lna = equity − excluded_mv`` (MC-1)."""
    return equity_ - excluded_mv


@exact
def net_asset_ratio(
    lna: Decimal, long_mv: Decimal, short_mv: Decimal, excluded_mv: Decimal
) -> Decimal:
    """``nar = lna / max(lna, long_mv − excluded_mv + |short_mv|)``, 1 when that max is 0;
    rounded to 6 dp (MC-1)."""
    denominator = max(lna, long_mv - excluded_mv + abs(short_mv))
    if denominator == ZERO:
        return round_ratio(ONE)
    return round_ratio(lna / denominator)


def loan(cash: Decimal) -> Decimal:
    """``loan = max(−cash, 0)`` (MC-1, CR-12)."""
    return max(-cash, ZERO)


def over_financing(loan_: Decimal, credit_limit: Decimal | None) -> Decimal:
    """``over_financing = max(loan − credit_limit, 0)``; 0 with no credit limit (MC-1, CR-12)."""
    if credit_limit is None:
        return ZERO
    return max(loan_ - credit_limit, ZERO)


def alert_level(lna: Decimal, req_mm: Decimal, req_fm: Decimal, over_financing_: Decimal) -> str:
    """``"force_close"`` if lna < req(fm); ``"margin_call"`` elif lna < req(mm) or
    over_financing > 0; else ``"none"`` (MC-1)."""
    if lna < req_fm:
        return FORCE_CLOSE
    if lna < req_mm or over_financing_ > ZERO:
        return MARGIN_CALL
    return NONE


def call_amount(
    alert: str,
    req_mcm: Decimal,
    lna: Decimal,
    interest_receivable: Decimal,
    trading_credit: Decimal,
    over_financing_: Decimal,
) -> Decimal:
    """``call = max(req(mcm) − lna + interest_receivable − trading_credit, over_financing, 0)``
    when the alert is not "none", else 0 (MC-1; the debt-margin term is 0)."""
    if alert == NONE:
        return ZERO
    return max(req_mcm - lna + interest_receivable - trading_credit, over_financing_, ZERO)


@exact
def account_figures(
    holdings: Iterable[Holding],
    cash: Decimal,
    *,
    interest_receivable: Decimal = ZERO,
    trading_credit: Decimal = ZERO,
    credit_limit: Decimal | None = None,
) -> AccountFigures:
    """All MC-1 figures of one account from its holdings and its cash in base currency.

    long_mv / short_mv = Σ mv over qty > 0 / qty < 0; excluded_mv = Σ mv over qty > 0 in
    delisted or long-suspended stocks; req(L) = Σ round_amount(|mv| × factor_L), factor 1 for
    excluded stocks; then equity, lna, nar, loan, over-financing, alert and call amount.
    """
    long_mv = short_mv = excluded_mv = ZERO
    req = [ZERO, ZERO, ZERO, ZERO]
    for h in holdings:
        mv = market_value(h.quantity, h.price, h.multiplier, h.fx_rate)
        if h.quantity > 0:
            long_mv += mv
            if is_excluded(h.status):
                excluded_mv += mv
        elif h.quantity < 0:
            short_mv += mv
        for k, factor in enumerate(effective_factors(h.factors, h.status).as_tuple()):
            req[k] += requirement(mv, factor)
    eq = equity(cash, long_mv, short_mv)
    lna = liquid_net_assets(eq, excluded_mv)
    ln = loan(cash)
    of = over_financing(ln, credit_limit)
    alert = alert_level(lna, req[2], req[3], of)
    return AccountFigures(
        cash=cash,
        equity=eq,
        lna=lna,
        nar=net_asset_ratio(lna, long_mv, short_mv, excluded_mv),
        long_mv=long_mv,
        short_mv=short_mv,
        excluded_mv=excluded_mv,
        loan=ln,
        req=Requirements(*req),
        over_financing=of,
        call_amount=call_amount(alert, req[1], lna, interest_receivable, trading_credit, of),
        alert=alert,
    )
