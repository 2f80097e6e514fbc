"""The liquidation planner (MC-1, MC-2): the smallest set of closing trades that cures a call.

A long position is closed by selling, a short one by buying back. Closing ``q`` units moves
cash in the instrument's currency by ``± round_amount(q × price × multiplier)`` (what the book's
trade fill writes, no fees) and the position by ``∓ q``; the account's figures after are the
engine's ``account_figures`` of the new holdings and cash, so the planner and the monitor never
disagree about whether a plan cures the call.

*Cured* means the call is paid: no alert and ``req(mcm) − lna + interest_receivable −
trading_credit ≤ 0`` with no over-financing, i.e. the account is back at the margin-call level
(MCM) a call restores, not merely above maintenance (MC-1).

Order of preference: tradable positions only (a suspended, long-suspended or delisted stock
cannot be sold on the exchange); most liquid first (``liquidity`` rank, 0 = most liquid); then
the highest margin-call factor, because closing one dollar of a position with factor ``f``
lowers the requirement by ``f`` dollars while equity stays — the fewest dollars sold; then the
largest position. Each candidate is closed in whole lots (the odd remainder only when the whole
position goes), taking the fewest lots that cure — found by bisection on the exact figures,
since per-line rounding makes the effect of a lot not exactly linear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from riskdesk.engine.fx import cash_in_base
from riskdesk.engine.margin import (
    NONE,
    AccountFigures,
    Holding,
    MarginFactors,
    account_figures,
    effective_factors,
    market_value,
)
from riskdesk.engine.money import ZERO, exact, round_amount

#: Statuses in which a position can be closed on the exchange.
TRADABLE_STATUSES = frozenset({"normal"})


@dataclass(frozen=True)
class Position:
    """One position of the account, with what the planner and the figures need."""

    code: str
    quantity: int  # negative: short
    price: Decimal
    currency: str
    fx_rate: Decimal
    factors: MarginFactors
    status: str = "normal"
    multiplier: int = 1
    lot_size: int = 1
    liquidity: int = 0  # rank, 0 = most liquid

    @property
    def tradable(self) -> bool:
        return self.status in TRADABLE_STATUSES and self.price > ZERO

    def holding(self, quantity: int | None = None) -> Holding:
        return Holding(
            quantity=self.quantity if quantity is None else quantity,
            price=self.price,
            fx_rate=self.fx_rate,
            factors=self.factors,
            status=self.status,
            multiplier=self.multiplier,
        )


@dataclass(frozen=True)
class AccountState:
    """An account as the planner sees it: positions, cash by currency (balances, not base)."""

    positions: tuple[Position, ...]
    cash: Mapping[str, Decimal]
    fx: Mapping[str, Decimal]
    base_currency: str
    interest_receivable: Decimal = ZERO
    trading_credit: Decimal = ZERO
    credit_limit: Decimal | None = None


@dataclass(frozen=True)
class Line:
    """Close ``quantity`` (> 0) of ``code``: ``side`` "sell" a long, "buy" back a short."""

    code: str
    side: str
    quantity: int
    price: Decimal
    consideration: Decimal  # in the instrument's currency
    currency: str


@dataclass(frozen=True)
class Plan:
    lines: tuple[Line, ...]
    before: AccountFigures
    after: AccountFigures
    cured: bool


@exact
def figures(state: AccountState) -> AccountFigures:
    """The account's MC-1 figures (engine.margin.account_figures) from a planner state."""
    cash = cash_in_base(state.cash.items(), state.fx, state.base_currency)
    return account_figures(
        (p.holding() for p in state.positions if p.quantity),
        cash,
        interest_receivable=state.interest_receivable,
        trading_credit=state.trading_credit,
        credit_limit=state.credit_limit,
    )


def cured(state: AccountState, result: AccountFigures | None = None) -> bool:
    """No alert and ``req(mcm) − lna + interest_receivable − trading_credit ≤ 0`` with no
    over-financing: the call is paid, the account is back at MCM (MC-1)."""
    f = result if result is not None else figures(state)
    gap = f.req.mcm - f.lna + state.interest_receivable - state.trading_credit
    return f.alert == NONE and gap <= ZERO and f.over_financing <= ZERO


@exact
def consideration(position: Position, quantity: int) -> Decimal:
    """``round_amount(q × price × multiplier)`` in the instrument's currency (PL-1 trade fill)."""
    return round_amount(Decimal(quantity) * position.price * position.multiplier)


def close(state: AccountState, code: str, quantity: int) -> AccountState:
    """The state after closing ``quantity`` (> 0) of the position in ``code`` at its price."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    positions, cash = [], dict(state.cash)
    found = False
    for p in state.positions:
        if p.code != code:
            positions.append(p)
            continue
        found = True
        if quantity > abs(p.quantity):
            raise ValueError(f"{code}: cannot close {quantity}, position is {p.quantity}")
        sign = 1 if p.quantity > 0 else -1
        amount = consideration(p, quantity)
        cash[p.currency] = cash.get(p.currency, ZERO) + sign * amount
        positions.append(replace(p, quantity=p.quantity - sign * quantity))
    if not found:
        raise ValueError(f"{code}: no position")
    return replace(state, positions=tuple(positions), cash=cash)


def apply(state: AccountState, lines: Sequence[tuple[str, int]]) -> AccountState:
    for code, quantity in lines:
        state = close(state, code, quantity)
    return state


def preference(p: Position) -> tuple:
    """Sort key: most liquid, highest effective MCM factor, largest |market value| (MC-1)."""
    mv = abs(market_value(p.quantity, p.price, p.multiplier, p.fx_rate))
    return (p.liquidity, -effective_factors(p.factors, p.status).mcm, -mv, p.code)


def steps(p: Position) -> list[int]:
    """Quantities the planner may close: whole lots, and the whole position when it is not a
    whole number of lots (the odd lot goes only with the rest)."""
    held, lot = abs(p.quantity), max(p.lot_size, 1)
    choices = [k * lot for k in range(1, held // lot + 1)]
    if held % lot:
        choices.append(held)
    return choices


def _line(p: Position, quantity: int) -> Line:
    return Line(
        code=p.code,
        side="sell" if p.quantity > 0 else "buy",
        quantity=quantity,
        price=p.price,
        consideration=consideration(p, quantity),
        currency=p.currency,
    )


def plan(state: AccountState, *, only: Sequence[str] | None = None) -> Plan:
    """The fewest closing trades that cure the call, in order of preference (MC-1, MC-2).

    ``only`` restricts the candidates to these codes (batch liquidation of some stocks). When
    even closing every candidate does not cure, the plan closes them all and ``cured`` is False.
    """
    before = figures(state)
    if cured(state, before):
        return Plan((), before, before, True)
    allowed = None if only is None else set(only)
    candidates = sorted(
        (
            p
            for p in state.positions
            if p.quantity and p.tradable and (allowed is None or p.code in allowed)
        ),
        key=preference,
    )
    lines: list[Line] = []
    current = state
    for p in candidates:
        choices = steps(p)
        whole = close(current, p.code, choices[-1])
        if not cured(whole):
            lines.append(_line(p, choices[-1]))
            current = whole
            continue
        lo, hi = 0, len(choices) - 1  # choices[hi] cures; find the first that does
        while lo < hi:
            mid = (lo + hi) // 2
            if cured(close(current, p.code, choices[mid])):
                hi = mid
            else:
                lo = mid + 1
        lines.append(_line(p, choices[lo]))
        current = close(current, p.code, choices[lo])
        break
    after = figures(current)
    return Plan(tuple(lines), before, after, cured(current, after))


def evaluate(state: AccountState, lines: Sequence[tuple[str, int]]) -> Plan:
    """The figures after closing the chosen quantities (an officer's own choice), as a plan."""
    before = figures(state)
    current = apply(state, lines)
    by_code = {p.code: p for p in state.positions}
    chosen = tuple(_line(by_code[code], q) for code, q in lines)
    after = figures(current)
    return Plan(chosen, before, after, cured(current, after))
