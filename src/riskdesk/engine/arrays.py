"""The array layout of a book for the vectorised kernels (batch_margin, batch_stress, rescreen).

Layout (CSR, positions sorted by account):

- instruments: one row each; ``unit2/unit1/unit0`` hold the exact value of one unit
  (price × fx × multiplier) as base-10⁶ digits of 10⁻¹² cents; ``factors`` (4 × n) the
  effective margin factors ×10⁴ (10⁴ for delisted / long-suspended); ``frr`` (1 − haircut)
  ×10⁴, 0 for options; ``level`` 1, 2 or 0 for other; ``code_rank`` the code's sort position.
- accounts: positions of account a are ``pos_instr/pos_qty[pos_offsets[a]:pos_offsets[a+1]]``;
  cash balances likewise through ``cash_offsets`` (``cash_ccy`` indexes ``currencies``/``fx``).
- clients: the accounts of client c are ``client_accounts[client_offsets[c]:client_offsets[c+1]]``.

Amounts are int64 cents. ``check_bounds`` proves before any kernel runs that no int64
intermediate can overflow, and raises ``MagnitudeError`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskdesk.engine.fx import fx_rate
from riskdesk.engine.jit import thread_count
from riskdesk.engine.kernels import FACTOR_SCALE, exposure_bounds, unit_digits
from riskdesk.engine.margin import is_excluded
from riskdesk.engine.money import (
    AMOUNT_PLACES,
    FACTOR_PLACES,
    FX_PLACES,
    ONE,
    PRICE_PLACES,
    scaled,
)
from riskdesk.engine.scenario import Scenario

#: Largest |quantity| the market-value kernel handles exactly.
MAX_QTY = 10**12
#: Largest sum of |amounts| (cents) of one account or one client: keeps nar ×10⁶ in int64.
MAX_ACCOUNT_CENTS = 9 * 10**12
#: Largest sum of |amounts| (cents) over the whole book (totals, per-stock sums).
MAX_BOOK_CENTS = 2**62


class MagnitudeError(OverflowError):
    """The book holds values too large for the exact int64 kernels (use the scalar reference)."""


@dataclass(frozen=True)
class InstrumentArrays:
    codes: Sequence[str]
    code_rank: np.ndarray  # int64
    currency: np.ndarray  # int32 index into BookArrays.currencies
    price: np.ndarray  # int64, price × 10⁶
    multiplier: np.ndarray  # int64
    unit2: np.ndarray  # int64
    unit1: np.ndarray  # int64
    unit0: np.ndarray  # int64
    factors: np.ndarray  # int64 (4, n): im, mcm, mm, fm × 10⁴, effective
    excluded: np.ndarray  # bool
    frr: np.ndarray  # int64, (1 − haircut) × 10⁴, 0 for options
    level: np.ndarray  # int8: 1, 2, 0 = other

    def __len__(self) -> int:
        return len(self.price)


@dataclass(frozen=True)
class BookArrays:
    base_currency: str
    currencies: Sequence[str]
    fx: np.ndarray  # int64, rate × 10⁸ (base = 10⁸)
    instruments: InstrumentArrays
    account_ids: Sequence[str]
    account_client: np.ndarray  # int64 client index
    pos_offsets: np.ndarray  # int64 (n_accounts + 1)
    pos_instr: np.ndarray  # int32
    pos_qty: np.ndarray  # int64
    cash_offsets: np.ndarray  # int64 (n_accounts + 1)
    cash_ccy: np.ndarray  # int32
    cash: np.ndarray  # int64 cents, in the balance's currency
    interest_receivable: np.ndarray  # int64 cents
    trading_credit: np.ndarray  # int64 cents
    credit_limit: np.ndarray  # int64 cents (0 where has_credit_limit is False)
    has_credit_limit: np.ndarray  # bool
    client_ids: Sequence[str]
    client_rank: np.ndarray  # int64, the id's sort position
    client_offsets: np.ndarray  # int64 (n_clients + 1)
    client_accounts: np.ndarray  # int64 account indices grouped by client

    @property
    def n_accounts(self) -> int:
        return len(self.pos_offsets) - 1

    @property
    def n_clients(self) -> int:
        return len(self.client_offsets) - 1


def sort_rank(keys: Sequence[str]) -> np.ndarray:
    """Position of each key in sorted order (ties impossible: keys are unique)."""
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(keys), dtype=np.int64)
    return rank


def make_instruments(
    codes: Sequence[str],
    currency: np.ndarray,
    price: np.ndarray,
    multiplier: np.ndarray,
    fx: np.ndarray,
    factors: np.ndarray,
    excluded: np.ndarray,
    frr: np.ndarray,
    level: np.ndarray,
    code_rank: np.ndarray | None = None,
) -> InstrumentArrays:
    """Build instrument arrays; computes the exact unit values from price, fx and multiplier."""
    n = len(price)
    currency = np.asarray(currency, dtype=np.int32)
    price = np.asarray(price, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    if np.any(price < 0) or np.any(multiplier <= 0):
        raise ValueError("prices must be ≥ 0 and multipliers > 0")
    digits = np.zeros((3, n), dtype=np.int64)
    fx_list, mult_list = fx.tolist(), multiplier.tolist()
    for k, (p, c) in enumerate(zip(price.tolist(), currency.tolist(), strict=True)):
        u2, u1, u0 = unit_digits(p, fx_list[c], mult_list[k])
        if u2 >= 2**62:
            raise MagnitudeError(f"instrument {codes[k]}: unit value {u2} cents too large")
        digits[:, k] = (u2, u1, u0)
    factors = np.ascontiguousarray(factors, dtype=np.int64)
    excluded = np.asarray(excluded, dtype=np.bool_)
    factors = np.where(excluded[None, :], FACTOR_SCALE, factors)
    return InstrumentArrays(
        codes=codes,
        code_rank=sort_rank(codes) if code_rank is None else np.asarray(code_rank, np.int64),
        currency=currency,
        price=price,
        multiplier=multiplier,
        unit2=digits[0].copy(),
        unit1=digits[1].copy(),
        unit0=digits[2].copy(),
        factors=np.ascontiguousarray(factors),
        excluded=excluded,
        frr=np.asarray(frr, dtype=np.int64),
        level=np.asarray(level, dtype=np.int8),
    )


def client_groups(account_client: np.ndarray, n_clients: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of account indices per client: (client_offsets, client_accounts)."""
    account_client = np.asarray(account_client, dtype=np.int64)
    counts = np.bincount(account_client, minlength=n_clients)
    offsets = np.zeros(n_clients + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, np.argsort(account_client, kind="stable").astype(np.int64)


def from_scenario(scn: Scenario) -> BookArrays:
    """Lay a parsed scenario out as arrays (accounts in input order, clients first-seen)."""
    currencies = [scn.base_currency, *(c for c in scn.fx if c != scn.base_currency)]
    ccy_index = {c: k for k, c in enumerate(currencies)}
    fx = np.array(
        [scaled(fx_rate(c, scn.fx, scn.base_currency), FX_PLACES) for c in currencies],
        dtype=np.int64,
    )
    ins = scn.instruments
    code_index = {i.code: k for k, i in enumerate(ins)}
    instruments = make_instruments(
        codes=tuple(i.code for i in ins),
        currency=np.array([ccy_index[i.currency] for i in ins], dtype=np.int32),
        price=np.array([scaled(i.price, PRICE_PLACES) for i in ins], dtype=np.int64),
        multiplier=np.array([i.multiplier for i in ins], dtype=np.int64),
        fx=fx,
        factors=np.array(
            [[scaled(f, FACTOR_PLACES) for f in i.margin.as_tuple()] for i in ins], dtype=np.int64
        )
        .reshape(len(ins), 4)
        .T,
        excluded=np.array([is_excluded(i.status) for i in ins], dtype=np.bool_),
        frr=np.array(
            [0 if i.kind == "option" else scaled(ONE - i.haircut, FACTOR_PLACES) for i in ins],
            dtype=np.int64,
        ),
        level=np.array([i.level or 0 for i in ins], dtype=np.int8),
    )
    accounts = scn.accounts
    client_index: dict[str, int] = {}
    for a in accounts:
        client_index.setdefault(a.client, len(client_index))
    account_client = np.array([client_index[a.client] for a in accounts], dtype=np.int64)
    client_offsets, client_accounts = client_groups(account_client, len(client_index))
    client_ids = tuple(client_index)
    return make_book(
        base_currency=scn.base_currency,
        currencies=tuple(currencies),
        fx=fx,
        instruments=instruments,
        account_ids=tuple(a.id for a in accounts),
        account_client=account_client,
        pos_offsets=_offsets([len(a.positions) for a in accounts]),
        pos_instr=np.array([code_index[c] for a in accounts for c in a.positions], dtype=np.int32),
        pos_qty=np.array([q for a in accounts for q in a.positions.values()], dtype=np.int64),
        cash_offsets=_offsets([len(a.cash) for a in accounts]),
        cash_ccy=np.array([ccy_index[c] for a in accounts for c in a.cash], dtype=np.int32),
        cash=np.array(
            [scaled(v, AMOUNT_PLACES) for a in accounts for v in a.cash.values()], dtype=np.int64
        ),
        interest_receivable=np.array(
            [scaled(a.interest_receivable, AMOUNT_PLACES) for a in accounts], dtype=np.int64
        ),
        trading_credit=np.array(
            [scaled(a.trading_credit, AMOUNT_PLACES) for a in accounts], dtype=np.int64
        ),
        credit_limit=np.array(
            [
                0 if a.credit_limit is None else scaled(a.credit_limit, AMOUNT_PLACES)
                for a in accounts
            ],
            dtype=np.int64,
        ),
        has_credit_limit=np.array([a.credit_limit is not None for a in accounts], dtype=np.bool_),
        client_ids=client_ids,
        client_rank=sort_rank(client_ids),
        client_offsets=client_offsets,
        client_accounts=client_accounts,
    )


def _offsets(counts: list[int]) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.asarray(counts, dtype=np.int64), out=offsets[1:])
    return offsets


def make_book(**fields: object) -> BookArrays:
    """Build a ``BookArrays`` and check its shapes, dtypes and index ranges."""
    book = BookArrays(**fields)  # type: ignore[arg-type]
    n_a, n_i = book.n_accounts, len(book.instruments)
    checks = [
        (book.pos_offsets[0] == 0 and book.pos_offsets[-1] == len(book.pos_qty), "pos_offsets"),
        (bool(np.all(np.diff(book.pos_offsets) >= 0)), "pos_offsets not sorted"),
        (len(book.pos_instr) == len(book.pos_qty), "pos_instr/pos_qty lengths"),
        (book.cash_offsets[0] == 0 and book.cash_offsets[-1] == len(book.cash), "cash_offsets"),
        (bool(np.all(np.diff(book.cash_offsets) >= 0)), "cash_offsets not sorted"),
        (len(book.cash_offsets) == n_a + 1, "cash_offsets length"),
        (len(book.cash_ccy) == len(book.cash), "cash_ccy/cash lengths"),
        (len(book.account_client) == n_a, "account_client length"),
        (len(book.client_accounts) == n_a, "client_accounts length"),
        (book.client_offsets[-1] == n_a, "client_offsets"),
        (
            len(book.pos_qty) == 0 or 0 <= book.pos_instr.min() <= book.pos_instr.max() < n_i,
            "pos_instr range",
        ),
        (
            len(book.cash) == 0 or 0 <= book.cash_ccy.min() <= book.cash_ccy.max() < len(book.fx),
            "cash_ccy range",
        ),
    ]
    for ok, what in checks:
        if not ok:
            raise ValueError(f"bad book arrays: {what}")
    for name in (
        "pos_offsets",
        "pos_qty",
        "cash_offsets",
        "cash",
        "client_offsets",
        "client_accounts",
    ):
        if getattr(book, name).dtype != np.int64:
            raise ValueError(f"bad book arrays: {name} must be int64")
    if book.pos_instr.dtype != np.int32 or book.cash_ccy.dtype != np.int32:
        raise ValueError("bad book arrays: pos_instr and cash_ccy must be int32")
    return book


def check_bounds(book: BookArrays) -> None:
    """Prove that no int64 intermediate of the kernels can overflow, or raise ``MagnitudeError``.

    One parallel pass (``kernels.exposure_bounds``) bounds, per client, Σ|q|·(unit + 1 cent)
    + Σ|cash|·(fx + 1) ≥ Σ|mv| + Σ|cash in base|, which bounds every account and client figure;
    it must stay ≤ MAX_ACCOUNT_CENTS (so nar ×10⁶ fits), the book total ≤ MAX_BOOK_CENTS and
    every |quantity| ≤ MAX_QTY. Float64 is ample for a bound: 1% margin is kept.
    """
    n_chunks = max(1, min(thread_count(), book.n_clients))
    out = np.zeros((n_chunks, 3), dtype=np.float64)
    exposure_bounds(
        n_chunks, book.client_offsets, book.client_accounts, book.pos_offsets, book.pos_instr,
        book.pos_qty, book.cash_offsets, book.cash_ccy, book.cash, book.fx,
        book.instruments.unit2, out,
    )  # fmt: skip
    max_q, max_client, total = out[:, 0].max(), out[:, 1].max(), out[:, 2].sum()
    if max_q > MAX_QTY:
        raise MagnitudeError(f"a position quantity {int(max_q)} exceeds {MAX_QTY}")
    if max_client > MAX_ACCOUNT_CENTS * 0.99:
        raise MagnitudeError(
            f"a client's exposure {max_client:.3e} cents exceeds the int64 kernel bound "
            f"{MAX_ACCOUNT_CENTS:.1e}"
        )
    if total > MAX_BOOK_CENTS * 0.99:
        raise MagnitudeError(f"book exposure {total:.3e} cents exceeds the int64 kernel bound")
