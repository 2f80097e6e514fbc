"""Incremental margin screening for the risk monitor (MC-1 real-time alerts).

``MarginScreen`` holds every account's MC-1 figures in an account-major table (one account =
two adjacent cache lines) and an index instrument → positions holding it. A price tick
re-screens only the holders: each holding's market value and requirement lines are recomputed
at the old and the new price, the differences are added to the account sums (exact int64
cents, so no drift), and the account figures are derived again.

``MarginScreen`` takes one ratio per instrument and follows prices only (the benchmark's and
the scenario's case). ``LiveScreen`` is the risk monitor's: one ratio per position (MR-6),
prices, FX, and accounts rewritten after fills, cash movements and ratio changes.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np

from riskdesk.engine import batch_margin
from riskdesk.engine import kernels as K
from riskdesk.engine.arrays import (
    MAX_ACCOUNT_CENTS,
    MAX_QTY,
    BookArrays,
    check_bounds,
)
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


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    """``a`` with room for at least ``need`` rows (capacity doubles: amortised O(1) appends)."""
    if need <= len(a):
        return a
    out = np.zeros((max(need, 2 * len(a), 16), *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


def _ranges(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The concatenated indices ``start[k]:end[k]`` for every k, in order."""
    count = end - start
    total = int(count.sum())
    first = np.repeat(np.cumsum(count) - count, count)
    return np.repeat(start, count) + (np.arange(total, dtype=np.int64) - first)


#: The unit value (cents) standing for "too large for int64" (2⁶²): any holding of it puts the
#: account over the bound.
OVERSIZED_UNIT = 2**62


class LiveScreen:
    """The risk monitor's book in arrays (MC-1, MC-3): every screened account's figures, kept
    current under price ticks, FX moves and rewritten accounts, each position with its OWN
    resolved margin ratio (MR-6: client rules, intraday, short), exact int64 cents.

    Accounts are *slots*; positions of slot a are ``pos_instr/pos_qty/pos_fac[pos_start[a]:
    pos_end[a]]``, cash balances ``cash_ccy/cash_amt[cash_start[a]:cash_end[a]]``; figures are
    ``state[a]`` (columns kernels.O_*). An index instrument → holdings drives price ticks
    (``reprice_instruments``: only the holders, by difference). Pure numpy/numba: no Django.

    Decision (a fill can open or close a position): an account is rewritten IN PLACE when its
    new instruments are a subset of its current range (quantity changes, closed positions:
    left at quantity 0, which weighs nothing); otherwise its positions are APPENDED at the end
    of the arrays, the old range is zeroed, and the new holdings go to a side index (instrument
    → appended positions) that ``holder_slots`` merges with the CSR index. ``compact()`` rebuilds the
    CSR and the index (≈1 s for 10M positions); the monitor calls it when the appended part
    passes ``COMPACT_SHARE`` of the book and on every full rebuild. Measured against rebuilding
    the CSR on each fill (a full pass over every position per batch), the append path costs
    microseconds per account and keeps a tick's work proportional to its holders.
    """

    COMPACT_SHARE = 0.05

    def __init__(
        self,
        *,
        fx: np.ndarray,
        ins_currency: np.ndarray,
        ins_price: np.ndarray,
        ins_priced: np.ndarray,
        ins_multiplier: np.ndarray,
        ins_excluded: np.ndarray,
        pos_offsets: np.ndarray,
        pos_instr: np.ndarray,
        pos_qty: np.ndarray,
        pos_fac: np.ndarray,
        cash_offsets: np.ndarray,
        cash_ccy: np.ndarray,
        cash_amt: np.ndarray,
        params: np.ndarray,
    ) -> None:
        self.fx = np.asarray(fx, dtype=np.int64).copy()
        self.ins_currency = np.asarray(ins_currency, dtype=np.int32).copy()
        self.ins_price = np.asarray(ins_price, dtype=np.int64).copy()
        self.ins_priced = np.asarray(ins_priced, dtype=np.bool_).copy()
        self.ins_multiplier = np.asarray(ins_multiplier, dtype=np.int64).copy()
        self.n_ins = len(self.ins_price)
        self.rows = np.zeros((self.n_ins, 4), dtype=np.int64)
        self.rows[:, K.L_EXCLUDED] = np.asarray(ins_excluded, dtype=np.bool_)
        for i in range(self.n_ins):
            self._set_unit(i)
        n = len(pos_offsets) - 1
        self.n_slots = n
        self.active = np.ones(n, dtype=np.bool_)
        self.pos_start = np.asarray(pos_offsets[:-1], dtype=np.int64).copy()
        self.pos_end = np.asarray(pos_offsets[1:], dtype=np.int64).copy()
        self.n_pos = int(pos_offsets[-1])
        self.pos_instr = np.asarray(pos_instr, dtype=np.int32).copy()
        self.pos_qty = np.asarray(pos_qty, dtype=np.int64).copy()
        self.pos_fac = np.ascontiguousarray(pos_fac, dtype=np.int64).reshape(-1, 4).copy()
        self.pos_slot = np.repeat(np.arange(n, dtype=np.int64), np.diff(pos_offsets))
        self.cash_start = np.asarray(cash_offsets[:-1], dtype=np.int64).copy()
        self.cash_end = np.asarray(cash_offsets[1:], dtype=np.int64).copy()
        self.n_cash = int(cash_offsets[-1])
        self.cash_ccy = np.asarray(cash_ccy, dtype=np.int32).copy()
        self.cash_amt = np.asarray(cash_amt, dtype=np.int64).copy()
        self.cash_slot = np.repeat(np.arange(n, dtype=np.int64), np.diff(cash_offsets))
        self.params = np.ascontiguousarray(params, dtype=np.int64).reshape(n, 4).copy()
        self.state = np.zeros((n, 16), dtype=np.int64)
        self.oversized = np.zeros(n, dtype=np.bool_)
        self.mark = np.zeros(n, dtype=np.uint8)  # the repricing kernel's scratch (zeros)
        #: per slot: a lower bound of the cushion (``reprice_instruments``), whether the sums
        #: lag the prices (``settle`` brings them up), and whether the slot is screened
        #: exactly on every tick (``pin``: an open call, whose figures are written)
        self.slack = np.full(n, -1.0)
        self.stale = np.zeros(n, dtype=np.uint8)
        self.pinned = np.zeros(n, dtype=np.uint8)
        self.pos_qty[: self.n_pos] = np.clip(self.pos_qty[: self.n_pos], -MAX_QTY - 1, MAX_QTY + 1)
        self._index()
        self.recompute(np.arange(n, dtype=np.int64))

    # ------------------------------------------------------------------ structure
    def _set_unit(self, i: int) -> bool:
        """Unit value of instrument ``i`` from its price, FX rate and multiplier. A unit too
        large for int64 is held as OVERSIZED_UNIT, which puts every holder over the bound
        (``oversized``); returns whether the unit is exact."""
        price = int(self.ins_price[i]) if self.ins_priced[i] else 0
        u = K.unit_digits(price, int(self.fx[self.ins_currency[i]]), int(self.ins_multiplier[i]))
        exact = u[0] < OVERSIZED_UNIT
        if not exact:
            u = (OVERSIZED_UNIT, 0, 0)
        self.rows[i, K.L_U2], self.rows[i, K.L_U1], self.rows[i, K.L_U0] = u
        return exact

    def _index(self) -> None:
        """The index instrument → holdings over every position now in the arrays, HOLDER-MAJOR:
        the holdings of instrument i are ``h_slot/h_qty/h_fac[holder_offsets[i]:
        holder_offsets[i+1]]``, copies of the positions' slot, quantity and factors laid out
        in instrument order, so that a tick reads them sequentially (on a 10M-position book
        the position arrays are read at random otherwise: ~4 cache misses per holding).
        ``pos_h`` maps a position to its holding (−1: appended since, in ``_extra``)."""
        n = self.n_pos
        counts = np.bincount(self.pos_instr[:n], minlength=self.n_ins)
        self.holder_offsets = np.zeros(self.n_ins + 1, dtype=np.int64)
        np.cumsum(counts, out=self.holder_offsets[1:])
        self.holder_pos = np.argsort(self.pos_instr[:n], kind="stable").astype(np.int64)
        self.h_slot = self.pos_slot[self.holder_pos]
        self.h_qty = self.pos_qty[self.holder_pos]
        self.h_fac = np.ascontiguousarray(self.pos_fac[self.holder_pos])
        self.h_weight = np.empty(n, dtype=np.float64)
        K.holding_weights(self.h_qty, self.h_fac, self.h_weight)
        self.pos_h = np.full(len(self.pos_qty), -1, dtype=np.int64)
        self.pos_h[self.holder_pos] = np.arange(n, dtype=np.int64)
        self._extra: dict[int, list[int]] = {}
        self._extra_arrays: dict[int, np.ndarray] = {}
        self.appended = 0

    def _extras(self, instrument: int) -> np.ndarray:
        """Positions in ``instrument`` appended since the index was built."""
        extra = self._extra.get(instrument)
        if not extra:
            return np.empty(0, dtype=np.int64)
        arr = self._extra_arrays.get(instrument)
        if arr is None or len(arr) != len(extra):
            arr = self._extra_arrays[instrument] = np.asarray(extra, dtype=np.int64)
        return arr

    def holder_slots(self, instrument: int) -> np.ndarray:
        """The slots holding ``instrument`` (quantity ≠ 0), once each; read from the
        holder-major records (sequential) plus the positions appended since."""
        lo, hi = self.holder_offsets[instrument], self.holder_offsets[instrument + 1]
        ex = self._extras(instrument)
        return np.unique(
            np.concatenate(
                (
                    self.h_slot[lo:hi][self.h_qty[lo:hi] != 0],
                    self.pos_slot[ex[self.pos_qty[ex] != 0]],
                )
            )
        )

    def watched_holders(self, instrument: int) -> np.ndarray:
        """The holders of ``instrument`` whose state a tick may have to write: pinned (an open
        call) or in alert. The others are out of alert, however they were screened."""
        lo, hi = int(self.holder_offsets[instrument]), int(self.holder_offsets[instrument + 1])
        ex = self._extras(instrument)
        out = np.empty(hi - lo + len(ex), dtype=np.int64)
        m = K.watched_slots(
            lo, hi, ex, self.h_slot, self.h_qty, self.pos_slot, self.pos_qty, self.pinned,
            self.state, self.mark, out,
        )  # fmt: skip
        return np.sort(out[:m])

    def _write_positions(self, at: np.ndarray, qty=None, fac=None) -> None:
        """Set quantities and/or factors of positions ``at``, and of their holdings."""
        h = self.pos_h[at]
        indexed = h >= 0
        if qty is not None:
            self.pos_qty[at] = qty
            self.h_qty[h[indexed]] = self.pos_qty[at[indexed]]
        if fac is not None:
            self.pos_fac[at] = fac
            self.h_fac[h[indexed]] = self.pos_fac[at[indexed]]
        held = h[indexed]
        weights = np.empty(len(held), dtype=np.float64)
        K.holding_weights(self.h_qty[held], self.h_fac[held], weights)
        self.h_weight[held] = weights

    def set_factors(self, positions: np.ndarray, fac: np.ndarray) -> None:
        """New ×10⁴ factors for these positions (a ratio changed: MR-6); call ``recompute``."""
        self._write_positions(np.asarray(positions, dtype=np.int64), fac=fac)

    def add_currency(self, rate: int) -> int:
        self.fx = np.append(self.fx, np.int64(rate))
        return len(self.fx) - 1

    def add_instrument(
        self, *, currency: int, price: int | None, multiplier: int, excluded: bool
    ) -> int:
        """A new instrument row (created after the load); returns its index."""
        i = self.n_ins
        self.ins_currency = np.append(self.ins_currency, np.int32(currency))
        self.ins_price = np.append(self.ins_price, np.int64(price or 0))
        self.ins_priced = np.append(self.ins_priced, price is not None)
        self.ins_multiplier = np.append(self.ins_multiplier, np.int64(multiplier))
        self.rows = np.vstack((self.rows, np.zeros((1, 4), dtype=np.int64)))
        self.rows[i, K.L_EXCLUDED] = bool(excluded)
        self.n_ins += 1
        self.holder_offsets = np.append(self.holder_offsets, self.holder_offsets[-1])
        self._set_unit(i)
        return i

    def add_slots(self, n: int) -> np.ndarray:
        """``n`` new, empty, active slots (accounts that joined the screened set)."""
        first = self.n_slots
        need = first + n
        for name in (
            "active", "pos_start", "pos_end", "cash_start", "cash_end", "oversized", "mark",
            "stale", "pinned",
        ):  # fmt: skip
            setattr(self, name, _grow(getattr(self, name), need))
        self.params = _grow(self.params, need)
        self.state = _grow(self.state, need)
        if need > len(self.slack):
            self.slack = np.concatenate((self.slack, np.full(need - len(self.slack), -1.0)))
        self.active[first:need] = True
        self.pos_start[first:need] = self.pos_end[first:need] = self.n_pos
        self.cash_start[first:need] = self.cash_end[first:need] = self.n_cash
        self.params[first:need] = 0
        self.state[first:need] = 0
        self.n_slots = need
        return np.arange(first, need, dtype=np.int64)

    def deactivate(self, slot: int) -> None:
        """The account left the screened set (closed, or now a cash account)."""
        self.set_account(slot, np.empty(0, np.int32), np.empty(0, np.int64), np.empty((0, 4)),
                         np.empty(0, np.int32), np.empty(0, np.int64), np.zeros(4, np.int64))  # fmt: skip
        self.active[slot] = False

    def set_account(
        self,
        slot: int,
        instr: np.ndarray,
        qty: np.ndarray,
        fac: np.ndarray,
        cash_ccy: np.ndarray,
        cash_amt: np.ndarray,
        params: np.ndarray,
    ) -> None:
        """Replace one account's positions (instrument rows, quantities, ×10⁴ factors per
        position), cash balances and parameters, then recompute its figures (see the class
        docstring for where the positions go)."""
        instr = np.asarray(instr, dtype=np.int32)
        qty = np.asarray(qty, dtype=np.int64)
        fac = np.asarray(fac, dtype=np.int64).reshape(-1, 4)
        # |q| > MAX_QTY would overflow market_value_cents: held at the bound (oversized)
        qty = np.clip(qty, -MAX_QTY - 1, MAX_QTY + 1)
        lo, hi = int(self.pos_start[slot]), int(self.pos_end[slot])
        current = self.pos_instr[lo:hi]
        where = {int(i): lo + k for k, i in enumerate(current.tolist())}
        old = np.arange(lo, hi, dtype=np.int64)
        self._write_positions(old, qty=0)
        if all(int(i) in where for i in instr.tolist()) and len(set(instr.tolist())) == len(instr):
            at = np.array([where[int(i)] for i in instr.tolist()], dtype=np.int64)
            self._write_positions(at, qty=qty, fac=fac)
        else:
            start = self.n_pos
            end = start + len(qty)
            for name in ("pos_instr", "pos_qty", "pos_slot"):
                setattr(self, name, _grow(getattr(self, name), end))
            self.pos_fac = _grow(self.pos_fac, end)
            if len(self.pos_h) < len(self.pos_qty):
                grown = np.full(len(self.pos_qty), -1, dtype=np.int64)
                grown[: len(self.pos_h)] = self.pos_h
                self.pos_h = grown
            self.pos_instr[start:end] = instr
            self.pos_qty[start:end] = qty
            self.pos_fac[start:end] = fac
            self.pos_slot[start:end] = slot
            for k, i in enumerate(instr.tolist()):
                self._extra.setdefault(i, []).append(start + k)
            self.pos_start[slot], self.pos_end[slot] = start, end
            self.n_pos = end
            self.appended += len(qty)
        clo, chi = int(self.cash_start[slot]), int(self.cash_end[slot])
        self.cash_amt[clo:chi] = 0
        n_cash = len(cash_amt)
        if n_cash <= chi - clo:
            cstart = clo
        else:
            cstart = self.n_cash
            self.n_cash += n_cash
            for name in ("cash_ccy", "cash_amt", "cash_slot"):
                setattr(self, name, _grow(getattr(self, name), self.n_cash))
        self.cash_ccy[cstart : cstart + n_cash] = cash_ccy
        self.cash_amt[cstart : cstart + n_cash] = cash_amt
        self.cash_slot[cstart : cstart + n_cash] = slot
        self.cash_start[slot], self.cash_end[slot] = cstart, cstart + n_cash
        self.params[slot] = params
        self.active[slot] = True
        self.recompute(np.array([slot], dtype=np.int64))

    def needs_compaction(self) -> bool:
        return self.appended > self.COMPACT_SHARE * max(self.n_pos, 1)

    def compact(self) -> None:
        """Rewrite positions and cash as CSR in slot order (dropping what weighs nothing) and
        rebuild the holder index. Figures are unchanged."""
        slots = np.arange(self.n_slots, dtype=np.int64)
        idx = _ranges(self.pos_start[: self.n_slots], self.pos_end[: self.n_slots])
        keep = idx[self.pos_qty[idx] != 0]
        counts = np.bincount(self.pos_slot[keep], minlength=self.n_slots)
        self.pos_instr = self.pos_instr[keep].copy()
        self.pos_qty = self.pos_qty[keep].copy()
        self.pos_fac = self.pos_fac[keep].copy()
        self.pos_slot = np.repeat(slots, counts)
        self.n_pos = len(keep)
        offsets = np.zeros(self.n_slots + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        self.pos_start, self.pos_end = offsets[:-1].copy(), offsets[1:].copy()
        idx = _ranges(self.cash_start[: self.n_slots], self.cash_end[: self.n_slots])
        keep = idx[self.cash_amt[idx] != 0]
        counts = np.bincount(self.cash_slot[keep], minlength=self.n_slots)
        self.cash_ccy = self.cash_ccy[keep].copy()
        self.cash_amt = self.cash_amt[keep].copy()
        self.cash_slot = np.repeat(slots, counts)
        self.n_cash = len(keep)
        np.cumsum(counts, out=offsets[1:])
        self.cash_start, self.cash_end = offsets[:-1].copy(), offsets[1:].copy()
        for name in ("active", "oversized", "mark", "slack", "stale", "pinned"):
            setattr(self, name, getattr(self, name)[: self.n_slots].copy())
        self.params = self.params[: self.n_slots].copy()
        self.state = self.state[: self.n_slots].copy()
        self._index()

    # ------------------------------------------------------------------ figures
    #: Below this many slots ``recompute`` stays on the calling thread.
    SERIAL_BELOW = 5000

    def recompute(self, slots: np.ndarray) -> None:
        """Figures of ``slots`` from scratch (``kernels.margin_positions``)."""
        slots = np.asarray(slots, dtype=np.int64)
        if not len(slots):
            return
        K.margin_positions(
            slots, self.pos_start, self.pos_end, self.pos_instr, self.pos_qty, self.pos_fac,
            self.cash_start, self.cash_end, self.cash_ccy, self.cash_amt, self.fx, self.rows,
            self.params, self.state, self.state.view(np.float64), len(slots) >= self.SERIAL_BELOW,
        )  # fmt: skip
        self._check(slots)
        K.reset_slack(
            slots, self.state, self.pinned, self.oversized, self.slack, self.stale
        )  # fmt: skip

    def settle(self, slots: np.ndarray | None = None) -> None:
        """Bring the sums of stale slots (all, or those of ``slots``) up to the prices: the
        repricing kernel leaves an account far from a call behind (its slack)."""
        n = self.n_slots
        stale = np.flatnonzero(self.stale[:n]) if slots is None else slots[self.stale[slots] != 0]
        self.recompute(stale)

    def pin(self, slots: np.ndarray, pinned: bool = True) -> None:
        """Screen ``slots`` exactly on every tick (their open call's figures are written), or
        no longer."""
        slots = np.asarray(slots, dtype=np.int64)
        self.settle(slots)
        self.pinned[slots] = pinned
        if pinned:
            self.slack[slots] = -1.0

    def _check(self, slots: np.ndarray) -> None:
        """Flag the slots whose figures the int64 kernels cannot vouch for (``oversized``):
        exposure bound over MAX_ACCOUNT_CENTS, or a quantity over MAX_QTY (held as
        MAX_QTY + 1, which the bound then exceeds). The caller screens those another way."""
        if not len(slots):
            return
        self.oversized = _grow(self.oversized, self.n_slots)
        self.oversized[slots] = self.bound[slots] > MAX_ACCOUNT_CENTS * 0.99

    @property
    def bound(self) -> np.ndarray:
        """Per slot: Σ |q|·(unit2 + 1) + Σ |cash|·(fx/10⁸ + 1), float64 (``_check``)."""
        return self.state.view(np.float64)[:, K.O_BOUND]

    def set_price(self, instrument: int, price: int | None) -> np.ndarray:
        """MC-1: a new price (×10⁶; None: no price, the position weighs nothing, as
        ``account_risk`` leaves unpriced positions out) → re-screen only the holders, each with
        its own ratio. Returns the slots re-screened."""
        slots, _ = self.set_prices(np.array([instrument]), [price])
        return slots

    def set_prices(
        self, instruments: np.ndarray, prices: list[int | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``set_price`` for several instruments in one kernel call (one batch of ticks).
        Returns (slots, seg): the slots screened exactly for ``instruments[k]`` are
        ``slots[seg[k]:seg[k+1]]`` (the other holders kept the slack to stay out of alert:
        ``kernels.reprice_instruments``)."""
        instruments = np.asarray(instruments, dtype=np.int64)
        if any(p is not None and p < 0 for p in prices):
            raise ValueError("price must not be negative")
        old = self.rows[instruments, : K.L_EXCLUDED].copy()
        skip = np.zeros(len(instruments), dtype=np.bool_)
        for k, (i, price) in enumerate(zip(instruments.tolist(), prices, strict=True)):
            self.ins_price[i] = price or 0
            self.ins_priced[i] = price is not None
            exact = self._set_unit(i)
            skip[k] = not exact or old[k, 0] >= OVERSIZED_UNIT  # no exact difference
        new = self.rows[instruments, : K.L_EXCLUDED].copy()
        lo = self.holder_offsets[instruments]
        hi = self.holder_offsets[instruments + 1]
        extras = [self._extras(i) for i in instruments.tolist()]
        ex_seg = np.zeros(len(extras) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in extras], out=ex_seg[1:])
        ex_pos = np.concatenate(extras) if ex_seg[-1] else np.empty(0, np.int64)
        total = int((hi - lo).sum() + ex_seg[-1])
        out_slot, out_k = np.empty(total, np.int64), np.empty(total, np.int64)
        out_fresh = np.empty(total, np.uint8)
        m = K.reprice_instruments(
            lo, hi, ex_pos, ex_seg, old, new, self.rows[instruments, K.L_EXCLUDED] != 0, skip,
            self.h_slot, self.h_qty, self.h_fac, self.h_weight, self.pos_slot, self.pos_qty,
            self.pos_fac, self.params, self.state, self.state.view(np.float64), self.mark,
            self.slack,
            self.stale, self.pinned, out_slot, out_k, out_fresh,
        )  # fmt: skip
        slots, ks, redo = out_slot[:m], out_k[:m], out_fresh[:m] != 0
        if skip.any():  # no exact difference: every holder from scratch
            skipped = np.flatnonzero(skip)
            held = [self.holder_slots(int(instruments[k])) for k in skipped]
            slots = np.concatenate([slots, *held])
            ks = np.concatenate([ks, np.repeat(skipped, [len(h) for h in held])])
            redo = np.concatenate([redo, np.ones(len(ks) - m, dtype=np.bool_)])
            order = np.argsort(ks, kind="stable")
            slots, ks, redo = slots[order], ks[order], redo[order]
        seg = np.searchsorted(ks, np.arange(len(instruments) + 1))
        was = self.oversized[slots]
        self._check(slots)
        # a difference taken beyond the bound, with no exact unit, or over stale sums: from
        # scratch
        redo |= was | self.oversized[slots]
        self.recompute(np.unique(slots[redo]))
        return slots, seg

    def set_fx(self, currency: int, rate: int) -> np.ndarray:
        """PL-1 FX move: units of the instruments in ``currency`` and the cash held in it are
        converted again; every account holding either is recomputed. Returns those slots."""
        self.fx[currency] = rate
        n, c = self.n_pos, self.n_cash
        instruments = np.flatnonzero(self.ins_currency == currency)
        for i in instruments.tolist():
            self._set_unit(i)
        in_ccy = np.zeros(self.n_ins, dtype=np.bool_)
        in_ccy[instruments] = True
        held = in_ccy[self.pos_instr[:n]] & (self.pos_qty[:n] != 0)
        cash = (self.cash_ccy[:c] == currency) & (self.cash_amt[:c] != 0)
        slots = np.union1d(self.pos_slot[:n][held], self.cash_slot[:c][cash])
        self.recompute(slots)
        return slots

    @property
    def figures(self) -> batch_margin.MarginArrays:
        """Current figures as (strided) views of the state table (stale slots settled)."""
        self.settle()
        return batch_margin.MarginArrays.from_buffer(self.state[: self.n_slots, :15].T)

    def account(self, slot: int) -> AccountFigures:
        """Figures of ``slot`` as the scalar reference's ``AccountFigures``."""
        self.settle(np.array([slot], dtype=np.int64))
        return batch_margin.figures(
            batch_margin.MarginArrays.from_buffer(self.state[: self.n_slots, :15].T), slot
        )
