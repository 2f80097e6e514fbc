"""Liquid-capital shortfall stress test: the scalar Decimal reference (ST-7, ST-5, SCENARIO.md).

Per indebted client (a client's accounts summed), base currency. Line figures (a position's
market value, its liquid asset, a client's stressed liquid asset) are rounded to the cent where
they arise; ratios are kept exact and rounded to 6 dp only when reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from riskdesk.engine.money import ONE, ZERO, exact, round_amount, round_ratio

LEVEL_KEYS = ("1", "2", "other")
SHORTFALL_30 = Decimal("0.30")
SHORTFALL_50 = Decimal("0.50")
#: Share of ELC that the stressed shortfall may use before the buffer goes negative (ST-7).
BUFFER_SHARE = Decimal("0.5")
#: Share above which a level (or levels 1 + 2) decides the drop (ST-7 (a), (b)); c from
#: LOW_SHARE to HIGH_SHARE inclusive; d below LOW_SHARE.
HIGH_SHARE = Decimal("0.75")
LOW_SHARE = Decimal("0.25")
TOP_N = 10
PASS = "pass"
REJECT = "reject"


class StressError(ValueError):
    """A stress test that cannot be computed (e.g. ELC not positive)."""


@dataclass(frozen=True)
class Drops:
    """Average price drops chosen by the collateral mix (ST-5, ST-7)."""

    a: Decimal = Decimal("0.15")
    b: Decimal = Decimal("0.25")
    c: Decimal = Decimal("0.30")
    d: Decimal = Decimal("0.50")


@dataclass(frozen=True)
class Benchmarks:
    """Maximum ELC ratio per stock level (ST-7): level 1 50%, level 2 30%, other 50%."""

    level1: Decimal = Decimal("0.50")
    level2: Decimal = Decimal("0.30")
    other: Decimal = Decimal("0.50")

    def for_level(self, level: int | None) -> Decimal:
        return self.level1 if level == 1 else self.level2 if level == 2 else self.other


@dataclass(frozen=True)
class StressParams:
    """Inputs entered by finance for one run (ST-7): LC, RLC, drops, ELC benchmarks."""

    lc: Decimal
    rlc: Decimal
    drops: Drops = field(default_factory=Drops)
    elc_benchmark: Benchmarks = field(default_factory=Benchmarks)


@dataclass(frozen=True)
class ClientCollateral:
    """One client's loan and collateral, its accounts summed (ST-7).

    ``la_by_code`` and ``long_mv_by_code`` hold every instrument the client holds long (also
    those whose liquid asset or market value is 0).
    """

    client: str
    loan: Decimal
    la: Decimal
    la_by_code: Mapping[str, Decimal]
    long_mv_by_code: Mapping[str, Decimal]


@dataclass(frozen=True)
class ClientShortfall:
    client: str
    loan: Decimal
    la: Decimal
    shortfall: Decimal
    shortfall_30: Decimal
    shortfall_50: Decimal


@dataclass(frozen=True)
class Mix:
    """Market value of indebted clients' long positions by level (ST-5)."""

    level1: Decimal
    level2: Decimal
    other: Decimal

    @property
    def total(self) -> Decimal:
        return self.level1 + self.level2 + self.other


@dataclass(frozen=True)
class Top10Row:
    code: str
    level: int | None
    market_value: Decimal
    stock_shortfall: Decimal
    impact: Decimal
    elc_drop: Decimal
    concentration: Decimal
    result: str


@dataclass(frozen=True)
class ShortfallResult:
    """Everything `calc shortfall` reports (ST-7); ratios rounded to 6 dp."""

    clients: tuple[ClientShortfall, ...]
    mix: tuple[Decimal, Decimal, Decimal]
    drop: Decimal
    elc: Decimal
    shortfall_at_drop: Decimal
    buffer: Decimal
    top10: tuple[Top10Row, ...]


def frr_ratio(haircut: Decimal, quantity: int, kind: str) -> Decimal:
    """``frr = 1 − haircut``; 0 for short positions and for options (ST-7)."""
    if quantity < 0 or kind == "option":
        return ZERO
    return ONE - haircut


@exact
def liquid_asset_line(frr: Decimal, mv: Decimal) -> Decimal:
    """``la line = round_amount(frr × mv)`` (ST-7)."""
    return round_amount(frr * mv)


def client_loan(cash_amounts: Iterable[Decimal]) -> Decimal:
    """``loan(c) = |Σ cash × fx|`` over the client's accounts if that sum < 0, else 0 (ST-7).

    ``cash_amounts`` are the accounts' cash already in base currency (``fx.cash_in_base``).
    """
    total = sum(cash_amounts, ZERO)
    return -total if total < ZERO else ZERO


def shortfall(loan: Decimal, la: Decimal) -> Decimal:
    """``shortfall(c) = max(loan − la, 0)`` (ST-7)."""
    return max(loan - la, ZERO)


@exact
def stressed_liquid_asset(la: Decimal, x: Decimal) -> Decimal:
    """``round_amount(la × (1 − x))``: the liquid asset after a price drop x (ST-7)."""
    return round_amount(la * (ONE - x))


def shortfall_at(loan: Decimal, la: Decimal, x: Decimal) -> Decimal:
    """``shortfall_at(c, x) = max(loan − min(loan, round_amount(la × (1 − x))), 0)`` (ST-7)."""
    return max(loan - min(loan, stressed_liquid_asset(la, x)), ZERO)


@exact
def client_collateral(
    client: str, cash_amounts: Iterable[Decimal], lines: Iterable[tuple[str, int, Decimal, Decimal]]
) -> ClientCollateral:
    """Sum a client's accounts: loan from cash, ``la = Σ round_amount(frr × mv)`` (ST-7).

    ``lines`` are (code, quantity, mv, frr) for every position of every account of the client.
    """
    la_by_code: dict[str, Decimal] = {}
    mv_by_code: dict[str, Decimal] = {}
    la = ZERO
    for code, quantity, mv, frr in lines:
        line = liquid_asset_line(frr, mv)
        la += line
        if quantity > 0:
            la_by_code[code] = la_by_code.get(code, ZERO) + line
            mv_by_code[code] = mv_by_code.get(code, ZERO) + mv
    return ClientCollateral(client, client_loan(cash_amounts), la, la_by_code, mv_by_code)


def client_shortfall(c: ClientCollateral) -> ClientShortfall:
    """One row of the client shortfall list: shortfall, shortfall 30% and 50% (ST-7)."""
    return ClientShortfall(
        client=c.client,
        loan=c.loan,
        la=c.la,
        shortfall=shortfall(c.loan, c.la),
        shortfall_30=shortfall_at(c.loan, c.la, SHORTFALL_30),
        shortfall_50=shortfall_at(c.loan, c.la, SHORTFALL_50),
    )


def collateral_mix(clients: Iterable[ClientCollateral], levels: Mapping[str, int | None]) -> Mix:
    """Σ long market value of the given (indebted) clients by the instrument's level (ST-5)."""
    by_level = {1: ZERO, 2: ZERO, None: ZERO}
    for c in clients:
        for code, mv in c.long_mv_by_code.items():
            by_level[levels[code]] += mv
    return Mix(by_level[1], by_level[2], by_level[None])


@exact
def mix_shares(mix: Mix) -> tuple[Decimal, Decimal, Decimal]:
    """Exact shares (level 1, level 2, other) of the total; all 0 without collateral (ST-5)."""
    total = mix.total
    if total == ZERO:
        return (ZERO, ZERO, ZERO)
    return (mix.level1 / total, mix.level2 / total, mix.other / total)


@exact
def stress_drop(mix: Mix, drops: Drops) -> Decimal:
    """Drop x from the collateral mix (ST-7, ST-5), exact comparisons on market values:

    a if level-1 share > 75%; b if level-1 + level-2 share > 75%; c if that share is between
    25% and 75% inclusive; d below 25% (also when there is no collateral).
    """
    total = mix.total
    if total == ZERO:
        return drops.d
    top = mix.level1 + mix.level2
    if mix.level1 > HIGH_SHARE * total:
        return drops.a
    if top > HIGH_SHARE * total:
        return drops.b
    if top >= LOW_SHARE * total:
        return drops.c
    return drops.d


def elc(lc: Decimal, rlc: Decimal) -> Decimal:
    """``elc = lc − rlc``, the excess liquid capital; must be positive (ST-7)."""
    result = lc - rlc
    if result <= ZERO:
        raise StressError(f"elc = lc − rlc = {lc} − {rlc} = {result} must be positive")
    return result


@exact
def buffer(elc_: Decimal, shortfall_at_drop: Decimal) -> Decimal:
    """``buffer = round_amount(50% × elc − shortfall_at_drop)`` (ST-7)."""
    return round_amount(BUFFER_SHARE * elc_ - shortfall_at_drop)


def stock_shortfall(clients: Iterable[ClientCollateral], code: str) -> Decimal:
    """``stock_shortfall(s) = Σ_c max(loan(c) − (la(c) − la(c, s)), 0)`` over indebted clients,
    with ``la(c, s) = Σ round_amount(frr(s) × mv)`` of c's long positions in s (ST-7)."""
    return sum((max(c.loan - (c.la - c.la_by_code.get(code, ZERO)), ZERO) for c in clients), ZERO)


def impact(clients: Sequence[ClientCollateral], code: str) -> Decimal:
    """``impact(s) = stock_shortfall(s) − Σ_c shortfall(c)`` (ST-7)."""
    return stock_shortfall(clients, code) - sum((shortfall(c.loan, c.la) for c in clients), ZERO)


@exact
def elc_drop(stock_shortfall_: Decimal, elc_: Decimal) -> Decimal:
    """``elc_drop(s) = stock_shortfall(s) / elc``, exact (ST-7)."""
    if elc_ <= ZERO:
        raise StressError(f"elc = {elc_} must be positive")
    return stock_shortfall_ / elc_


@exact
def concentration(stock_shortfall_: Decimal, elc_: Decimal, benchmark: Decimal) -> Decimal:
    """``concentration(s) = elc_drop(s) / elc_benchmark(level(s))``, exact (ST-7)."""
    if benchmark <= ZERO:
        raise StressError(f"elc benchmark = {benchmark} must be positive")
    return elc_drop(stock_shortfall_, elc_) / benchmark


def result(concentration_: Decimal) -> str:
    """``"pass"`` if concentration ≤ 1 (100%), else ``"reject"``; on the exact value (ST-7)."""
    return PASS if concentration_ <= ONE else REJECT


def top10_row(
    code: str,
    level: int | None,
    market_value: Decimal,
    stock_shortfall_: Decimal,
    impact_: Decimal,
    elc_: Decimal,
    benchmarks: Benchmarks,
) -> Top10Row:
    """One Top 10 row: ELC drop, concentration (both reported to 6 dp) and result (ST-7)."""
    conc = concentration(stock_shortfall_, elc_, benchmarks.for_level(level))
    return Top10Row(
        code=code,
        level=level,
        market_value=market_value,
        stock_shortfall=stock_shortfall_,
        impact=impact_,
        elc_drop=round_ratio(elc_drop(stock_shortfall_, elc_)),
        concentration=round_ratio(conc),
        result=result(conc),
    )


def rank_top(impacts: Mapping[str, Decimal], n: int = TOP_N) -> list[str]:
    """The ``n`` codes with the largest impact, ties by code (ST-7)."""
    return sorted(impacts, key=lambda code: (-impacts[code], code))[:n]


def shortfall_result(
    clients: Iterable[ClientCollateral],
    levels: Mapping[str, int | None],
    params: StressParams,
) -> ShortfallResult:
    """The whole ST-7 run from every client's collateral (clients without a loan are dropped).

    clients are listed by shortfall descending then id; Top 10 among the stocks indebted
    clients hold long, market_value = their long market value.
    """
    elc_ = elc(params.lc, params.rlc)
    indebted = [c for c in clients if c.loan > ZERO]
    rows = sorted((client_shortfall(c) for c in indebted), key=lambda r: (-r.shortfall, r.client))
    mix = collateral_mix(indebted, levels)
    x = stress_drop(mix, params.drops)
    at_drop = sum((shortfall_at(c.loan, c.la, x) for c in indebted), ZERO)
    held: dict[str, Decimal] = {}
    for c in indebted:
        for code, mv in c.long_mv_by_code.items():
            held[code] = held.get(code, ZERO) + mv
    total_shortfall = sum((r.shortfall for r in rows), ZERO)
    stock_shortfalls = {code: stock_shortfall(indebted, code) for code in held}
    impacts = {code: ss - total_shortfall for code, ss in stock_shortfalls.items()}
    top = tuple(
        top10_row(
            code,
            levels[code],
            held[code],
            stock_shortfalls[code],
            impacts[code],
            elc_,
            params.elc_benchmark,
        )
        for code in rank_top(impacts)
    )
    return ShortfallResult(
        clients=tuple(rows),
        mix=tuple(round_ratio(s) for s in mix_shares(mix)),  # type: ignore[arg-type]
        drop=x,
        elc=elc_,
        shortfall_at_drop=at_drop,
        buffer=buffer(elc_, at_drop),
        top10=top,
    )
