"""Incremental margin screening for the risk monitor (MC-1 real-time alerts).

``MarginScreen`` holds every account's MC-1 figures in an account-major table (one account =
two adjacent cache lines) and an index instrument → positions holding it. A price tick
re-screens only the holders: each holding's market value and requirement lines are recomputed
at the old and the new price, the differences are added to the account sums (exact int64
cents, so no drift), and the account figures are derived again.

Quantities are read from the book's ``pos_qty``; a fill that changes a quantity must be
applied there and to this screen together (not implemented yet: prices only).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np

from riskdesk.engine import batch_margin
from riskdesk.engine import kernels as K
from riskdesk.engine.arrays import BookArrays, check_bounds
from riskdesk.engine.margin import AccountFigures
from riskdesk.engine.money import PRICE_PLACES, scaled


class MarginScreen:
    """Every account's MC-1 figures, kept current under price ticks."""

    def __init__(self, book: BookArrays) -> None:
        check_bounds(book)
        self.book = book
        ins = book.instruments
        self.price = ins.price.copy()
        self.unit2, self.unit1, self.unit0 = ins.unit2.copy(), ins.unit1.copy(), ins.unit0.copy()
        self._max_unit2 = int(self.unit2.max()) if len(ins) else 0
        self.state = np.zeros((book.n_accounts, 16), dtype=np.int64)
        self.state[:, :15] = batch_margin.compute_buffer(book, checked=False).T
        self.params = np.stack(
            [
                book.interest_receivable,
                book.trading_credit,
                book.credit_limit,
                book.has_credit_limit,
            ],
            axis=1,
        ).astype(np.int64)
        counts = np.bincount(book.pos_instr, minlength=len(ins))
        self.holder_offsets = np.zeros(len(ins) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.holder_offsets[1:])
        self.holder_pos = np.argsort(book.pos_instr, kind="stable").astype(np.int64)
        pos_account = np.repeat(
            np.arange(book.n_accounts, dtype=np.int64), np.diff(book.pos_offsets)
        )
        self.holder_acc = pos_account[self.holder_pos]

    @property
    def figures(self) -> batch_margin.MarginArrays:
        """Current figures as (strided) views of the state table."""
        return batch_margin.MarginArrays.from_buffer(self.state[:, :15].T)

    def holders(self, instrument: int) -> np.ndarray:
        """Indices of the accounts holding ``instrument`` (long or short)."""
        return self.holder_acc[
            self.holder_offsets[instrument] : self.holder_offsets[instrument + 1]
        ]

    def set_price(self, instrument: int, price: Decimal | int) -> np.ndarray:
        """Apply a new price (Decimal, or int micro-units) and re-screen the holders (MC-1).

        Returns the indices of the accounts re-screened.
        """
        book, ins = self.book, self.book.instruments
        micros = scaled(price, PRICE_PLACES) if isinstance(price, Decimal) else int(price)
        if micros < 0:
            raise ValueError("price must not be negative")
        new = K.unit_digits(
            micros, int(book.fx[ins.currency[instrument]]), int(ins.multiplier[instrument])
        )
        if new[0] > self._max_unit2:
            self._check_with_unit(instrument, new)
        lo, hi = self.holder_offsets[instrument], self.holder_offsets[instrument + 1]
        K.reprice_holders(
            self.holder_acc[lo:hi], self.holder_pos[lo:hi], book.pos_qty,
            self.unit2[instrument], self.unit1[instrument], self.unit0[instrument],
            new[0], new[1], new[2], ins.factors[:, instrument], bool(ins.excluded[instrument]),
            self.params, self.state,
        )  # fmt: skip
        self.price[instrument] = micros
        self.unit2[instrument], self.unit1[instrument], self.unit0[instrument] = new
        return self.holder_acc[lo:hi]

    def _check_with_unit(self, instrument: int, new: tuple[int, int, int]) -> None:
        unit2 = self.unit2.copy()
        unit2[instrument] = new[0]
        check_bounds(replace(self.book, instruments=replace(self.book.instruments, unit2=unit2)))
        self._max_unit2 = int(unit2.max())

    def account(self, k: int) -> AccountFigures:
        """Figures of account ``k`` as the scalar reference's ``AccountFigures``."""
        return batch_margin.figures(self.figures, k)
