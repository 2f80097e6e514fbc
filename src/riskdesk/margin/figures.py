"""An account's margin figures from the book, with the ratio each position uses and why
(MR-6, MC-1), and its buying power.

The figures are the engine's (``engine.margin.account_figures``): this module only gathers the
account's cash, positions, prices, FX and resolved ratios.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from riskdesk.book.selectors import fx_table
from riskdesk.engine.fx import cash_in_base
from riskdesk.engine.margin import (
    AccountFigures,
    Holding,
    account_figures,
    market_value,
    requirement,
)
from riskdesk.engine.money import ZERO
from riskdesk.margin.resolution import Resolved, Resolver


@dataclass(frozen=True)
class PositionLine:
    code: str
    name: str
    status: str
    quantity: int
    market_value: Decimal  # base currency
    resolved: Resolved
    im_requirement: Decimal


@dataclass(frozen=True)
class AccountRisk:
    figures: AccountFigures
    lines: list[PositionLine]
    trading_credit: Decimal
    unpriced: list[str]

    @property
    def im_requirement(self) -> Decimal:
        return self.figures.req.im

    @property
    def buying_power(self) -> Decimal:
        """MR-6: buying power = equity − initial-margin requirement + trading credit, base currency."""
        return self.figures.equity - self.figures.req.im + self.trading_credit


def account_risk(account, *, at: datetime | None = None) -> AccountRisk:
    fx = fx_table()
    holdings, lines, unpriced = [], [], []
    positions = list(
        account.positions.exclude(quantity=0)
        .select_related("instrument", "instrument__price")
        .order_by("instrument__code")
    )
    # the ratios of all the account's stocks in a few queries, not one per position
    resolver = Resolver(account, at=at).preload(p.instrument_id for p in positions)
    for p in positions:
        inst = p.instrument
        price = getattr(inst, "price", None)
        if price is None:
            unpriced.append(inst.code)
            continue
        resolved = resolver.resolve(inst, "long" if p.quantity > 0 else "short")
        rate = fx.get(inst.currency, ZERO)
        holding = Holding(
            quantity=p.quantity,
            price=price.last,
            fx_rate=rate,
            factors=resolved.factors,
            status=inst.status,
            multiplier=inst.multiplier,
        )
        holdings.append(holding)
        mv = market_value(p.quantity, price.last, inst.multiplier, rate)
        lines.append(
            PositionLine(
                inst.code,
                inst.name,
                inst.status,
                p.quantity,
                mv,
                resolved,
                requirement(mv, resolved.factors.im),
            )
        )
    cash = cash_in_base(
        ((b.currency, b.balance) for b in account.balances.all()),
        fx,
        settings.RISKDESK_BASE_CURRENCY,
    )
    figures = account_figures(holdings, cash, interest_receivable=account.interest_receivable)
    return AccountRisk(figures, lines, trading_credit=ZERO, unpriced=unpriced)
