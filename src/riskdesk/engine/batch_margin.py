"""Vectorised `calc margin`: every MC-1 figure of every account in one pass over positions.

``compute(book)`` runs one fused kernel (numba, parallel over accounts) over the CSR layout of
``arrays.BookArrays``; amounts are exact int64 cents and equal the scalar reference
``margin.account_figures`` to the cent (tests/engine/test_batch_margin.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from riskdesk.engine import kernels as K
from riskdesk.engine.arrays import BookArrays, check_bounds
from riskdesk.engine.margin import ALERTS, AccountFigures, Requirements
from riskdesk.engine.money import RATIO_PLACES, from_cents, from_scaled


@dataclass(frozen=True)
class MarginArrays:
    """Per-account figures (int64 cents; ``nar`` ×10⁶; ``alert`` index into margin.ALERTS).

    Every field is a row view of one (15, n) int64 buffer written by the kernel.
    """

    cash: np.ndarray
    long_mv: np.ndarray
    short_mv: np.ndarray
    excluded_mv: np.ndarray
    req: np.ndarray  # (4, n): im, mcm, mm, fm
    equity: np.ndarray
    lna: np.ndarray
    nar: np.ndarray
    loan: np.ndarray
    over_financing: np.ndarray
    call_amount: np.ndarray
    alert: np.ndarray

    def __len__(self) -> int:
        return len(self.cash)

    @classmethod
    def from_buffer(cls, out: np.ndarray) -> MarginArrays:
        return cls(
            cash=out[K.O_CASH],
            long_mv=out[K.O_LONG],
            short_mv=out[K.O_SHORT],
            excluded_mv=out[K.O_EXCLUDED],
            req=out[K.O_IM : K.O_FM + 1],
            equity=out[K.O_EQUITY],
            lna=out[K.O_LNA],
            nar=out[K.O_NAR],
            loan=out[K.O_LOAN],
            over_financing=out[K.O_OVER],
            call_amount=out[K.O_CALL],
            alert=out[K.O_ALERT],
        )


def instrument_rows(book: BookArrays) -> np.ndarray:
    """The packed (n, 8) instrument table of the margin kernel (columns kernels.M_*)."""
    ins = book.instruments
    rows = np.empty((len(ins), 8), dtype=np.int64)
    rows[:, K.M_U2] = ins.unit2
    rows[:, K.M_U1] = ins.unit1
    rows[:, K.M_U0] = ins.unit0
    rows[:, K.M_IM : K.M_FM + 1] = ins.factors.T
    rows[:, K.M_EXCLUDED] = ins.excluded
    return rows


def compute(
    book: BookArrays, accounts: np.ndarray | None = None, *, checked: bool = True
) -> MarginArrays:
    """MC-1 figures of ``accounts`` (indices; default all, in book order) of ``book``.

    ``checked`` runs ``arrays.check_bounds`` first (raises ``MagnitudeError`` on books too
    large for exact int64 arithmetic); pass False only when the book was checked already.
    """
    return MarginArrays.from_buffer(compute_buffer(book, accounts, checked=checked))


def compute_buffer(
    book: BookArrays, accounts: np.ndarray | None = None, *, checked: bool = True
) -> np.ndarray:
    """Like ``compute``, returning the raw (15, n) int64 buffer (rows kernels.O_*)."""
    if checked:
        check_bounds(book)
    if accounts is None:
        accounts = np.arange(book.n_accounts, dtype=np.int64)
    out = np.empty((15, len(accounts)), dtype=np.int64)
    K.margin_accounts(
        np.asarray(accounts, dtype=np.int64), book.pos_offsets, book.pos_instr, book.pos_qty,
        book.cash_offsets, book.cash_ccy, book.cash, book.fx, instrument_rows(book),
        book.interest_receivable, book.trading_credit, book.credit_limit, book.has_credit_limit,
        out,
    )  # fmt: skip
    return out


def figures(result: MarginArrays, k: int) -> AccountFigures:
    """Row ``k`` of a batch result as the scalar reference's ``AccountFigures``."""
    return AccountFigures(
        cash=from_cents(result.cash[k]),
        equity=from_cents(result.equity[k]),
        lna=from_cents(result.lna[k]),
        nar=from_scaled(result.nar[k], RATIO_PLACES),
        long_mv=from_cents(result.long_mv[k]),
        short_mv=from_cents(result.short_mv[k]),
        excluded_mv=from_cents(result.excluded_mv[k]),
        loan=from_cents(result.loan[k]),
        req=Requirements(*(from_cents(result.req[j, k]) for j in range(4))),
        over_financing=from_cents(result.over_financing[k]),
        call_amount=from_cents(result.call_amount[k]),
        alert=ALERTS[int(result.alert[k])],
    )


def totals(result: MarginArrays) -> tuple[Decimal, int]:
    """(Σ call amount, number of accounts in call) (MC-1 totals)."""
    return from_cents(int(result.call_amount.sum(dtype=np.int64))), int(
        np.count_nonzero(result.alert)
    )
