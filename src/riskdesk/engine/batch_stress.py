"""Vectorised ST-7: every client's shortfall and every stock's Top-10 impact in one pass.

For a stock s, ``stock_shortfall(s) = Σ_c max(loan(c) − la(c) + la(c, s), 0)``; a client that
does not hold s long adds exactly ``shortfall(c)``, so

    impact(s) = Σ over clients c holding s long of [max(loan(c) − la(c) + la(c, s), 0) − shortfall(c)]

and ``stock_shortfall(s) = Σ_c shortfall(c) + impact(s)``. The kernel walks each indebted
client's positions once, aggregates ``la(c, s)`` over the client's accounts and scatters the
client's term into per-thread ``impact`` rows: one pass over positions, no per-stock rescan.
The final scalars (mix, drop, buffer, Top-10 ratios) reuse ``engine.stress`` on Decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from riskdesk.engine import kernels as K
from riskdesk.engine.arrays import BookArrays, check_bounds
from riskdesk.engine.jit import thread_count
from riskdesk.engine.kernels import RATIO_SCALE, client_collateral, stressed_shortfall
from riskdesk.engine.money import RATIO_PLACES, from_cents, round_ratio, scaled
from riskdesk.engine.stress import (
    SHORTFALL_30,
    SHORTFALL_50,
    TOP_N,
    ClientShortfall,
    Mix,
    ShortfallResult,
    StressParams,
    buffer,
    elc,
    mix_shares,
    stress_drop,
    top10_row,
)


@dataclass(frozen=True)
class StressArrays:
    """Per-client (n_clients) and per-instrument (n_instruments) ST-7 figures, int64 cents."""

    loan: np.ndarray
    la: np.ndarray
    shortfall: np.ndarray
    shortfall_30: np.ndarray
    shortfall_50: np.ndarray
    shortfall_drop: np.ndarray
    order: np.ndarray  # indebted clients, by shortfall descending then id
    impact: np.ndarray
    long_mv: np.ndarray  # indebted clients' long market value per instrument
    held: np.ndarray  # bool: some indebted client holds the instrument long
    mix: Mix
    drop: Decimal
    elc: Decimal
    shortfall_at_drop: Decimal
    buffer: Decimal
    top: np.ndarray  # instrument indices of the Top 10


def _stressed(loan: np.ndarray, la: np.ndarray, x: Decimal) -> tuple[np.ndarray, int]:
    out = np.empty(len(loan), dtype=np.int64)
    keep = RATIO_SCALE - scaled(x, RATIO_PLACES)
    total = stressed_shortfall(loan, la, keep, out)
    return out, int(total)


def instrument_rows(book: BookArrays) -> np.ndarray:
    """The packed (n, 8) instrument table of the stress kernel (columns kernels.S_*)."""
    ins = book.instruments
    rows = np.zeros((len(ins), 8), dtype=np.int64)
    rows[:, K.S_U2] = ins.unit2
    rows[:, K.S_U1] = ins.unit1
    rows[:, K.S_U0] = ins.unit0
    rows[:, K.S_FRR] = ins.frr
    rows[:, K.S_LEVEL] = ins.level
    return rows


def client_order(book: BookArrays, loan: np.ndarray, shortfall: np.ndarray) -> np.ndarray:
    """Indebted clients by shortfall descending, then id (ST-7 list order).

    Clients are taken in id order (the inverse of the ``client_rank`` permutation, no sort);
    a stable sort on shortfall then keeps ids ascending among equal shortfalls.
    """
    by_id = np.empty(book.n_clients, dtype=np.int64)
    by_id[book.client_rank] = np.arange(book.n_clients, dtype=np.int64)
    short = by_id[shortfall[by_id] > 0]
    short = short[np.argsort(-shortfall[short], kind="stable")]
    rest = by_id[(loan[by_id] > 0) & (shortfall[by_id] == 0)]
    return np.concatenate((short, rest))


def compute(book: BookArrays, params: StressParams, *, checked: bool = True) -> StressArrays:
    """ST-7 for every client of ``book`` (only indebted clients count in mix and Top 10)."""
    elc_ = elc(params.lc, params.rlc)  # StressError before any work when ELC ≤ 0
    if checked:
        check_bounds(book)
    ins = book.instruments
    n_i, n_c = len(ins), book.n_clients
    n_chunks = max(1, min(thread_count(), n_c))
    loan = np.empty(n_c, np.int64)
    la = np.empty(n_c, np.int64)
    impact_rows = np.zeros((n_chunks, n_i), np.int64)
    mv_rows = np.zeros((n_chunks, n_i), np.int64)
    held_rows = np.zeros((n_chunks, n_i), np.int64)
    level_rows = np.zeros((n_chunks, 3), np.int64)
    scratch = np.zeros((n_chunks, n_i), np.int64)
    mark = np.zeros((n_chunks, n_i), np.int64)
    touched = np.zeros((n_chunks, n_i), np.int64)
    client_collateral(
        n_chunks, book.client_offsets, book.client_accounts, book.pos_offsets, book.pos_instr,
        book.pos_qty, book.cash_offsets, book.cash_ccy, book.cash, book.fx, instrument_rows(book),
        loan, la, impact_rows, mv_rows, held_rows, level_rows, scratch, mark, touched,
    )  # fmt: skip
    impact = impact_rows.sum(axis=0)
    long_mv = mv_rows.sum(axis=0)
    held = held_rows.sum(axis=0) > 0
    levels = level_rows.sum(axis=0)
    mix = Mix(from_cents(levels[1]), from_cents(levels[2]), from_cents(levels[0]))
    x = stress_drop(mix, params.drops)
    shortfall = np.maximum(loan - la, 0)
    s30, _ = _stressed(loan, la, SHORTFALL_30)
    s50, _ = _stressed(loan, la, SHORTFALL_50)
    sx, at_drop_cents = _stressed(loan, la, x)
    order = client_order(book, loan, shortfall)
    candidates = np.flatnonzero(held)
    top = candidates[np.lexsort((ins.code_rank[candidates], -impact[candidates]))][:TOP_N]
    at_drop = from_cents(at_drop_cents)
    return StressArrays(
        loan=loan,
        la=la,
        shortfall=shortfall,
        shortfall_30=s30,
        shortfall_50=s50,
        shortfall_drop=sx,
        order=order,
        impact=impact,
        long_mv=long_mv,
        held=held,
        mix=mix,
        drop=x,
        elc=elc_,
        shortfall_at_drop=at_drop,
        buffer=buffer(elc_, at_drop),
        top=top,
    )


def to_result(book: BookArrays, r: StressArrays, params: StressParams) -> ShortfallResult:
    """The batch figures as the scalar reference's ``ShortfallResult`` (Decimals, 6-dp ratios)."""
    total_shortfall = int(r.shortfall[r.order].sum(dtype=np.int64))
    ins = book.instruments
    levels = {0: None, 1: 1, 2: 2}
    return ShortfallResult(
        clients=tuple(
            ClientShortfall(
                client=book.client_ids[c],
                loan=from_cents(r.loan[c]),
                la=from_cents(r.la[c]),
                shortfall=from_cents(r.shortfall[c]),
                shortfall_30=from_cents(r.shortfall_30[c]),
                shortfall_50=from_cents(r.shortfall_50[c]),
            )
            for c in r.order.tolist()
        ),
        mix=tuple(round_ratio(s) for s in mix_shares(r.mix)),  # type: ignore[arg-type]
        drop=r.drop,
        elc=r.elc,
        shortfall_at_drop=r.shortfall_at_drop,
        buffer=r.buffer,
        top10=tuple(
            top10_row(
                ins.codes[i],
                levels[int(ins.level[i])],
                from_cents(r.long_mv[i]),
                from_cents(total_shortfall + int(r.impact[i])),
                from_cents(r.impact[i]),
                r.elc,
                params.elc_benchmark,
            )
            for i in r.top.tolist()
        ),
    )
