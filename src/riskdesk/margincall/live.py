"""The risk monitor's book in arrays (MC-1, MC-3): load, follow, write.

``LiveBook`` loads every screened account (margin and intraday, active) with its positions,
cash, the prices, the FX rates and the ratio MR-6 resolves for each position (``RatioBook``,
a constant number of queries) into an ``engine.rescreen.LiveScreen``, with raw queries and
numpy. It then follows the book: a price tick reprices only the holders (each position with its
own ratio), an FX move re-derives the instruments and the cash in that currency, an account
event re-reads that account's rows, a ratio change (``RescreenRequest``) or an intraday session
opening or closing re-resolves the positions it may move. Every change re-reads the DATABASE
(prices, rates, rows), never an event's payload, so the arrays always equal the book as
committed, whatever order events commit in.

``LiveMonitor`` keeps the cursor semantics of ``margincall.monitor`` (outbox tailed by id,
gap wait, one transaction for state + cursor; a crash re-processes the batch and writes
nothing new; a second monitor finds the cursor moved and stands down) and writes the state
machine of ``screening.transition`` in bulk (``Writer``): per batch, each call whose alert or
figures changed is written once (open / update / escalate / deescalate / end, with the same
events, before/after documents and snapshots). What is already written is mirrored in memory
(``CallMirror``), so an account whose figures did not move is never read or written; a write
by another process (the daily full screen, a second monitor) is noticed on the cursor row or
in the event table and the mirror is read again.

Snapshots (open, escalate, end) are built from the arrays (the inputs the figures came from)
and written with the arrays' figures; after the commit `calc margin`'s Decimal code path
computes them again from the snapshot's scenario (``check_snapshots``): a difference is logged
as an error (raised when ``STRICT``) and the snapshot takes `calc margin`'s figures. ``VERIFY``
also recomputes the account with ``account_risk`` from the database, inside the transaction.
"""

from __future__ import annotations

import json
import logging
import time as clock
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    Client,
    FxRate,
    Instrument,
    Position,
    Price,
)
from riskdesk.engine import kernels as K
from riskdesk.engine.arrays import MagnitudeError
from riskdesk.engine.margin import ALERTS
from riskdesk.engine.money import FX_PLACES, PRICE_PLACES, scaled
from riskdesk.engine.rescreen import LiveScreen
from riskdesk.margin.intraday import intraday_active
from riskdesk.margin.resolution import KIND, RatioBook, resolve_positions
from riskdesk.margincall import snapshots
from riskdesk.margincall.models import (
    MarginCall,
    MarginCallEvent,
    MarginCallSnapshot,
    MonitorCursor,
    RescreenRequest,
)
from riskdesk.margincall.monitor import (
    ACCOUNT_KINDS,
    CHUNK,
    CURSOR,
    RESCREEN_CURSOR,
    _cursor,
    _pending,
)
from riskdesk.margincall.screening import FIGURE_FIELDS, REFRESH, deadline, home_date
from riskdesk.site.wal import writing

log = logging.getLogger(__name__)

#: Raise instead of logging when the Decimal figures of a snapshot differ from the arrays'.
STRICT = False
#: Also recompute every snapshot's account with ``account_risk`` from the database and compare.
VERIFY = False
Kind = MarginCallEvent.Kind
Reason = MarginCallSnapshot.Reason
#: Event kinds that change a call's state (the others, notes and deadlines, do not).
STATE_KINDS = (Kind.OPEN, Kind.UPDATE, Kind.ESCALATE, Kind.DEESCALATE, Kind.END)
#: Where each FIGURE_FIELDS column comes from in the state table (market_value is long + short,
#: trading credit is 0: ``account_risk`` applies none).
_COLUMN_SOURCE = {
    "call_amount": K.O_CALL,
    "equity": K.O_EQUITY,
    "lna": K.O_LNA,
    "nar": K.O_NAR,
    "req_im": K.O_IM,
    "req_mcm": K.O_MCM,
    "req_mm": K.O_MM,
    "req_fm": K.O_FM,
    "loan": K.O_LOAN,
    "cash": K.O_CASH,
}
NAR = FIGURE_FIELDS.index("nar")
IN_CHUNK = 5000  # ids per IN (…) list
#: ``riskdesk monitor``'s default ``update_every``: an open call's figures follow the market
#: at most every 5 s, the interval the alerts pages poll at; every state change and every
#: account event is written at once.
UPDATE_EVERY = 5.0
#: Rounds of following new book events before a batch takes SQLite's writer lock.
EARLY_ROUNDS = 3
#: At most this many deferred refreshes (``update_every``) are written per batch, the longest
#: waiting first: open calls written together come due together, and one batch writing ~4,400
#: of them (every call a liquid name moves) took 60-125 ms, which every state change queued
#: behind it waited for. 256 take ~5 ms; at tens of batches a second that is several times the
#: ~4,000 refreshes a second that 20,000 open calls at 5 s need.
REFRESH_BATCH = 256
#: Snapshots left for ``check_snapshots`` beyond which a commit checks the surplus at once.
UNCHECKED_MAX = 1000
#: Snapshots checked per idle round of ``run_forever``.
CHECKS_WHEN_IDLE = 20


# ----------------------------------------------------------------------------- formatting
def _amount_text(cents: int) -> str:
    """cents → the 2 dp text ``fmt_amount`` writes ("-0.05", "0.00", "1234.50")."""
    if cents >= 0:
        return f"{cents // 100}.{cents % 100:02d}"
    return f"-{-cents // 100}.{-cents % 100:02d}"


def _ratio_text(micros: int) -> str:
    """×10⁶ → the 6 dp text ``fmt_ratio`` writes."""
    if micros >= 0:
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
    return f"-{-micros // 1_000_000}.{-micros % 1_000_000:06d}"


def _texts(cols) -> list[str]:
    values = cols.tolist() if isinstance(cols, np.ndarray) else cols
    out = [_amount_text(v) for v in values]
    out[NAR] = _ratio_text(values[NAR])
    return out


def _doc(alert: str, cols: np.ndarray) -> dict[str, str]:
    """The before/after document of ``screening._state`` from integer columns."""
    return {"alert": alert, **dict(zip(FIGURE_FIELDS, _texts(cols), strict=True))}


#: ``_doc`` as JSON text, written straight into the event table (keys in ``_state``'s order),
#: one %-template per pattern of negative figures (bit k: figure k is negative).
_TEMPLATES: dict[int, str] = {}
_SCALE = np.array([10**6 if k == NAR else 100 for k in range(len(FIGURE_FIELDS))], np.int64)
_BITS = 1 << np.arange(len(FIGURE_FIELDS), dtype=np.int64)


def _template(mask: int) -> str:
    text = _TEMPLATES.get(mask)
    if text is None:
        parts = [
            f'"{name}": "{"-" if mask >> k & 1 else ""}%d.{"%06d" if k == NAR else "%02d"}"'
            for k, name in enumerate(FIGURE_FIELDS)
        ]
        text = _TEMPLATES[mask] = '{"alert": "%s", ' + ", ".join(parts) + "}"
    return text


def _doc_jsons(alerts: list[str], cols: np.ndarray) -> list[str]:
    """``_doc`` of each row as JSON text: one string formatting per document (the monitor
    writes thousands a second)."""
    cols = np.asarray(cols, dtype=np.int64).reshape(-1, len(FIGURE_FIELDS))
    a = np.abs(cols)
    ints = np.empty((len(cols), 2 * len(FIGURE_FIELDS)), dtype=np.int64)
    ints[:, 0::2], ints[:, 1::2] = a // _SCALE, a % _SCALE
    masks = ((cols < 0) * _BITS).sum(axis=1).tolist()
    return [
        _template(m) % (alert, *row)
        for m, alert, row in zip(masks, alerts, ints.tolist(), strict=True)
    ]


def _doc_json(alert: str, values) -> str:
    return _doc_jsons([alert], np.asarray(values))[0]


def state_columns(state: np.ndarray) -> np.ndarray:
    """(n, 12) int64 FIGURE_FIELDS columns (cents; nar ×10⁶) from state rows."""
    out = np.zeros((len(state), len(FIGURE_FIELDS)), dtype=np.int64)
    for k, name in enumerate(FIGURE_FIELDS):
        if name in _COLUMN_SOURCE:
            out[:, k] = state[:, _COLUMN_SOURCE[name]]
    out[:, FIGURE_FIELDS.index("market_value")] = state[:, K.O_LONG] + state[:, K.O_SHORT]
    return out


# ----------------------------------------------------------------------------- SQL helpers
def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _col(model, name: str) -> str:
    return _q(model._meta.get_field(name).column)


def _scaled_sql(expr: str, places: int) -> str:
    """SQL turning a decimal column into exact scaled integers on SQLite (stored as REAL,
    15 significant digits, as Django reads it) and PostgreSQL (numeric)."""
    return f"CAST(ROUND({expr} * {10**places}) AS BIGINT)"


def _fetch(sql: str, params: list | tuple, ncols: int) -> np.ndarray:
    """Rows of integers as an (n, ncols) int64 array."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        chunks = []
        while rows := cur.fetchmany(200_000):
            flat = np.fromiter(
                (v for row in rows for v in row), dtype=np.int64, count=len(rows) * ncols
            )
            chunks.append(flat.reshape(-1, ncols))
    if not chunks:
        return np.empty((0, ncols), dtype=np.int64)
    return np.concatenate(chunks)


def _in(ids: list[int]) -> list[list[int]]:
    return [ids[k : k + IN_CHUNK] for k in range(0, len(ids), IN_CHUNK)]


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


# ----------------------------------------------------------------------------- the book
class LiveBook:
    """The screened accounts in a ``LiveScreen``, with the maps from database ids to rows."""

    def __init__(self, *, at: datetime | None = None) -> None:
        self._loading = False
        self.load(at=at)

    # -------------------------------------------------------------- loading
    def load(self, *, at: datetime | None = None) -> None:
        """(Re)build everything from the database."""
        at = at or timezone.now()
        self.base = settings.RISKDESK_BASE_CURRENCY
        self.ratios = RatioBook.load(at=at)
        rates = dict(FxRate.objects.values_list("currency", "rate"))
        self.currencies: list[str] = [self.base, *sorted(c for c in rates if c != self.base)]
        self.ccy_index = {c: k for k, c in enumerate(self.currencies)}
        self._fx = [10**8] + [scaled(rates[c], FX_PLACES) for c in self.currencies[1:]]
        self.ins_meta: list[tuple[str, str, str, str, int]] = []  # code, ccy, kind, status, mult
        self.markets: set[str] = set()
        self._session_second = None
        self._loading = True
        ins = self._instruments(self.ratios.instrument_ids, self._fx)
        self.codes: list[str] = ins["codes"]
        self.code_row = {c: k for k, c in enumerate(self.codes)}
        self.sessions = self._sessions(at)

        # accounts: id, client, kind, interest receivable (cents)
        a = Account
        accounts = _fetch(
            f"SELECT {_col(a, 'id')}, {_col(a, 'client')}, "
            f"CASE {_col(a, 'type')} WHEN 'margin' THEN 1 WHEN 'intraday' THEN 2 ELSE 0 END, "
            f"{_scaled_sql(_col(a, 'interest_receivable'), 2)} FROM {_table(a)} "
            f"WHERE {_col(a, 'type')} IN ('margin', 'intraday') AND {_col(a, 'status')} = 'active' "
            f"ORDER BY {_col(a, 'id')}",
            [],
            4,
        )
        self.account_ids = accounts[:, 0].copy()
        self.account_client = accounts[:, 1].copy()
        self.account_kind = accounts[:, 2].copy()
        n = len(self.account_ids)
        self.slot_by_id = np.full(int(self.account_ids.max()) + 1 if n else 1, -1, dtype=np.int64)
        self.slot_by_id[self.account_ids] = np.arange(n, dtype=np.int64)
        screened = (
            f"JOIN {_table(a)} a ON a.{_col(a, 'id')} = x.{{acc}} "
            f"WHERE a.{_col(a, 'type')} IN ('margin', 'intraday') "
            f"AND a.{_col(a, 'status')} = 'active'"
        )
        p = Position
        pos = _fetch(
            f"SELECT x.{_col(p, 'account')}, x.{_col(p, 'instrument')}, x.{_col(p, 'quantity')} "
            f"FROM {_table(p)} x {screened.format(acc=_col(p, 'account'))} "
            f"AND x.{_col(p, 'quantity')} <> 0 ORDER BY x.{_col(p, 'account')}",
            [],
            3,
        )
        b = CashBalance
        cash_rows = self._cash_rows(
            f"SELECT x.{_col(b, 'account')}, x.{_col(b, 'currency')}, "
            f"{_scaled_sql('x.' + _col(b, 'balance'), 2)} "
            f"FROM {_table(b)} x {screened.format(acc=_col(b, 'account'))} "
            f"ORDER BY x.{_col(b, 'account')}",
            [],
        )
        pos_slot = self.slot_by_id[pos[:, 0]]
        pos_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pos_slot, minlength=n), out=pos_offsets[1:])
        fac = self._resolve(pos_slot, pos[:, 1], pos[:, 2])
        cash_slot = self.slot_by_id[cash_rows[0]]
        cash_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cash_slot, minlength=n), out=cash_offsets[1:])
        params = np.zeros((n, 4), dtype=np.int64)
        params[:, K.P_IR] = accounts[:, 3]
        self._loading = False
        self.screen = LiveScreen(
            fx=np.asarray(self._fx, dtype=np.int64),
            ins_currency=ins["currency"],
            ins_price=ins["price"],
            ins_priced=ins["priced"],
            ins_multiplier=ins["multiplier"],
            ins_excluded=self.ratios.excluded,
            pos_offsets=pos_offsets,
            pos_instr=self.ratios.rows(pos[:, 1]).astype(np.int32),
            pos_qty=pos[:, 2],
            pos_fac=fac,
            cash_offsets=cash_offsets,
            cash_ccy=cash_rows[1],
            cash_amt=cash_rows[2],
            params=params,
        )
        self.loaded_at = at

    def _instruments(self, ids: np.ndarray, fx: list[int]) -> dict[str, Any]:
        """Codes, currencies, multipliers and prices of the instruments ``ids`` (in that order)."""
        instruments, prices_ = Instrument.objects.all(), Price.objects.all()
        if len(ids) <= IN_CHUNK:  # a few new ones; else all (no IN list of 20,000 ids)
            instruments = instruments.filter(id__in=ids.tolist())
            prices_ = prices_.filter(instrument_id__in=ids.tolist())
        rows = {
            r[0]: r
            for r in instruments.values_list(
                "id", "code", "currency", "multiplier", "kind", "status", "market"
            )
        }
        prices = dict(prices_.values_list("instrument_id", "last"))
        codes, currency, multiplier, price, priced = [], [], [], [], []
        for i in ids.tolist():
            _, code, ccy, mult, kind, status, market = rows[i]
            self.ins_meta.append((code, ccy, kind, status, mult))
            self.markets.add(market)
            if ccy not in self.ccy_index:  # a rate set since the load, or none (valued at 0)
                self.ccy_index[ccy] = len(self.currencies)
                self.currencies.append(ccy)
                fx.append(_rate_units(ccy))
            codes.append(code)
            currency.append(self.ccy_index[ccy])
            multiplier.append(mult)
            last = prices.get(i)
            price.append(0 if last is None else scaled(last, PRICE_PLACES))
            priced.append(last is not None)
        return {
            "codes": codes,
            "currency": np.array(currency, dtype=np.int32),
            "multiplier": np.array(multiplier, dtype=np.int64),
            "price": np.array(price, dtype=np.int64),
            "priced": np.array(priced, dtype=np.bool_),
            "fx": fx,
        }

    def _cash_rows(self, sql: str, params: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(account ids, currency indices, cents) of the cash balances ``sql`` selects."""
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        ccy = []
        for _, c, _ in rows:
            if c not in self.ccy_index:
                rate = _rate_units(c)
                if not rate:  # account_risk cannot convert it either (MissingRateError)
                    log.error("monitor: cash in %s, which has no FX rate; counted at 0", c)
                self.ccy_index[c] = len(self.currencies)
                self.currencies.append(c)
                if self._loading:
                    self._fx.append(rate)
                else:
                    self.screen.add_currency(rate)
            ccy.append(self.ccy_index[c])
        return (
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.array(ccy, dtype=np.int32),
            np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows)),
        )

    def _resolve(self, slots: np.ndarray, instrument_ids: np.ndarray, qty: np.ndarray):
        return resolve_positions(
            self.ratios,
            kind=self.account_kind[slots],
            client=self.account_client[slots],
            instrument=instrument_ids,
            quantity=qty,
        ).factors

    def _sessions(self, at: datetime) -> dict[str, bool]:
        """Whether each market's intraday rule is in force at ``at`` (MR-2); read at most once
        a second (a rule or calendar change is seen within the second)."""
        from riskdesk.margin.models import IntradayRule

        second = int(at.timestamp())
        if getattr(self, "_session_second", None) == second:
            return self._session_value
        rules = {r.market: r for r in IntradayRule.objects.all()}
        value = {m: intraday_active(m, at, rules.get(m)) for m in sorted(self.markets)}
        self._session_second, self._session_value = second, value
        return value

    # -------------------------------------------------------------- following the book
    def sync_session(self, at: datetime) -> np.ndarray:
        """MR-2: an intraday rule came into or out of force since the last look → the intraday
        accounts' factors are resolved again. Returns the slots re-screened."""
        sessions = self._sessions(at)
        if sessions == self.sessions:
            return np.empty(0, dtype=np.int64)
        log.info("monitor: intraday sessions %s → %s", self.sessions, sessions)
        self.sessions = sessions
        self.reload_ratios(at)
        n = self.screen.n_slots
        intraday = np.flatnonzero(
            (self.account_kind[:n] == KIND["intraday"]) & self.screen.active[:n]
        )
        return self.refactor(intraday)

    def reload_ratios(self, at: datetime) -> None:
        """Read the ratio tables again (a ratio, a rule or a membership changed)."""
        ratios = RatioBook.load(at=at)
        old = self.ratios.instrument_ids
        if not np.array_equal(ratios.instrument_ids[: len(old)], old):
            raise _Rebuild("instruments were deleted")
        self.ratios = ratios
        self._add_instruments()

    def _add_instruments(self) -> None:
        """Rows for instruments created since the load (in the ratio book, not the screen)."""
        new = self.ratios.instrument_ids[self.screen.n_ins :]
        if not len(new):
            return
        fx = [int(x) for x in self.screen.fx]
        n_ccy = len(fx)
        ins = self._instruments(new, fx)
        for rate in ins["fx"][n_ccy:]:
            self.screen.add_currency(rate)
        for k in range(len(new)):
            self.screen.add_instrument(
                currency=int(ins["currency"][k]),
                price=int(ins["price"][k]) if ins["priced"][k] else None,
                multiplier=int(ins["multiplier"][k]),
                excluded=bool(self.ratios.excluded[self.screen.n_ins]),
            )
            self.code_row[ins["codes"][k]] = len(self.codes)
            self.codes.append(ins["codes"][k])

    def refactor(self, slots: np.ndarray) -> np.ndarray:
        """Resolve the ratios of every position of ``slots`` again and recompute them."""
        s = self.screen
        slots = np.asarray(slots, dtype=np.int64)
        if not len(slots):
            return slots
        from riskdesk.engine.rescreen import _ranges

        idx = _ranges(s.pos_start[slots], s.pos_end[slots])
        idx = idx[s.pos_qty[idx] != 0]
        if len(idx):
            owner = s.pos_slot[idx]
            s.set_factors(
                idx,
                self._resolve(owner, self.ratios.instrument_ids[s.pos_instr[idx]], s.pos_qty[idx]),
            )
        s.recompute(slots)
        return slots

    def set_prices(self, instrument_ids: list[int]) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Read these instruments' prices from the book and reprice the holders of those that
        moved, in one kernel call. Returns (the ids that moved, slots, seg): the slots
        re-screened for the k-th are ``slots[seg[k]:seg[k+1]]``."""
        if any(
            i >= len(self.ratios.row_by_id) or self.ratios.row_by_id[i] < 0 for i in instrument_ids
        ):
            self.reload_ratios(self.ratios.at)  # an instrument created since the load
        prices = _prices(list(instrument_ids))
        s = self.screen
        moved, rows, new = [], [], []
        for i in instrument_ids:
            row = int(self.ratios.row_by_id[i])
            last = prices.get(i)
            micros = None if last is None else scaled(last, PRICE_PLACES)
            if micros is None and not s.ins_priced[row]:
                continue
            if micros is not None and s.ins_priced[row] and s.ins_price[row] == micros:
                continue
            moved.append(i)
            rows.append(row)
            new.append(micros)
        if not moved:
            return [], np.empty(0, np.int64), np.zeros(1, np.int64)
        slots, seg = s.set_prices(np.asarray(rows, dtype=np.int64), new)
        return moved, slots, seg

    def instrument_ids(self, codes: list[str]) -> dict[str, int]:
        """code → instrument id, from memory (the database for codes created since the load)."""
        ids = self.ratios.instrument_ids
        found = {c: int(ids[self.code_row[c]]) for c in codes if c in self.code_row}
        missing = [c for c in codes if c not in found]
        if missing:
            found.update(Instrument.objects.filter(code__in=missing).values_list("code", "id"))
        return found

    def set_rates(self) -> dict[str, np.ndarray]:
        """Read the FX table and re-derive every currency whose rate moved; currency → slots."""
        rates = dict(FxRate.objects.values_list("currency", "rate"))
        out = {}
        for ccy, rate in sorted(rates.items()):
            if ccy == self.base:
                continue
            units = scaled(rate, FX_PLACES)
            k = self.ccy_index.get(ccy)
            if k is None:
                k = self.screen.add_currency(units)
                self.ccy_index[ccy] = k
                self.currencies.append(ccy)
                continue
            if int(self.screen.fx[k]) != units:
                out[ccy] = self.screen.set_fx(k, units)
        return out

    def reload_accounts(self, account_ids) -> tuple[np.ndarray, list[int]]:
        """Read these accounts' rows again. Returns (slots recomputed, ids of accounts that are
        not screened: closed, cash, or unknown)."""
        ids = sorted({int(i) for i in account_ids})
        if not ids:
            return np.empty(0, dtype=np.int64), []
        a, p, b = Account, Position, CashBalance
        acc, pos, cash = [], [], ([], [], [])
        for part in _in(ids):
            marks = _marks(len(part))
            acc.append(
                _fetch(
                    f"SELECT {_col(a, 'id')}, {_col(a, 'client')}, "
                    f"CASE {_col(a, 'type')} WHEN 'margin' THEN 1 WHEN 'intraday' THEN 2 "
                    f"ELSE 0 END, CASE {_col(a, 'status')} WHEN 'active' THEN 1 ELSE 0 END, "
                    f"{_scaled_sql(_col(a, 'interest_receivable'), 2)} FROM {_table(a)} "
                    f"WHERE {_col(a, 'id')} IN ({marks})",
                    part,
                    5,
                )
            )
            pos.append(
                _fetch(
                    f"SELECT {_col(p, 'account')}, {_col(p, 'instrument')}, "
                    f"{_col(p, 'quantity')} FROM {_table(p)} "
                    f"WHERE {_col(p, 'account')} IN ({marks}) AND {_col(p, 'quantity')} <> 0",
                    part,
                    3,
                )
            )
            rows = self._cash_rows(
                f"SELECT {_col(b, 'account')}, {_col(b, 'currency')}, "
                f"{_scaled_sql(_col(b, 'balance'), 2)} FROM {_table(b)} "
                f"WHERE {_col(b, 'account')} IN ({marks})",
                part,
            )
            for k in range(3):
                cash[k].append(rows[k])
        acc_rows = np.concatenate(acc)
        pos_rows = np.concatenate(pos)
        cash_acc, cash_ccy, cash_amt = (np.concatenate(x) for x in cash)
        if len(np.setdiff1d(pos_rows[:, 1], self.ratios.instrument_ids)):
            self.reload_ratios(self.ratios.at)  # an instrument created since the load
        s = self.screen
        screened = (acc_rows[:, 2] != KIND["cash"]) & (acc_rows[:, 3] == 1)
        gone: list[int] = []
        touched: list[int] = []
        new_ids = [int(i) for i in acc_rows[screened, 0] if self._slot(int(i)) < 0]
        if new_ids:
            first = s.add_slots(len(new_ids))
            self._map_new(np.asarray(new_ids, dtype=np.int64), first)
        # sort positions and cash by account, once
        order = np.argsort(pos_rows[:, 0], kind="stable")
        pos_rows = pos_rows[order]
        order = np.argsort(cash_acc, kind="stable")
        cash_acc, cash_ccy, cash_amt = cash_acc[order], cash_ccy[order], cash_amt[order]
        for row in acc_rows.tolist():
            account_id, client, kind, active, interest = row
            slot = self._slot(account_id)
            if kind == KIND["cash"] or not active:
                if slot >= 0 and s.active[slot]:
                    s.deactivate(slot)
                    touched.append(slot)
                gone.append(account_id)
                continue
            self.account_client[slot] = client
            self.account_kind[slot] = kind
            lo, hi = np.searchsorted(pos_rows[:, 0], [account_id, account_id + 1])
            mine = pos_rows[lo:hi]
            fac = self._resolve(np.full(len(mine), slot), mine[:, 1], mine[:, 2])
            clo, chi = np.searchsorted(cash_acc, [account_id, account_id + 1])
            params = np.zeros(4, dtype=np.int64)
            params[K.P_IR] = interest
            s.set_account(
                slot, self.ratios.rows(mine[:, 1]).astype(np.int32), mine[:, 2], fac,
                cash_ccy[clo:chi], cash_amt[clo:chi], params,
            )  # fmt: skip
            touched.append(slot)
        gone.extend(sorted(set(ids) - set(acc_rows[:, 0].tolist())))
        if s.needs_compaction():
            s.compact()
        return np.asarray(touched, dtype=np.int64), gone

    def _slot(self, account_id: int) -> int:
        return int(self.slot_by_id[account_id]) if account_id < len(self.slot_by_id) else -1

    def _map_new(self, ids: np.ndarray, slots: np.ndarray) -> None:
        top = int(ids.max()) + 1
        if top > len(self.slot_by_id):
            grown = np.full(max(top, 2 * len(self.slot_by_id)), -1, dtype=np.int64)
            grown[: len(self.slot_by_id)] = self.slot_by_id
            self.slot_by_id = grown
        self.slot_by_id[ids] = slots
        need = int(slots.max()) + 1
        for name in ("account_ids", "account_client", "account_kind"):
            arr = getattr(self, name)
            if need > len(arr):
                grown = np.zeros(max(need, 2 * len(arr)), dtype=np.int64)
                grown[: len(arr)] = arr
                setattr(self, name, grown)
        self.account_ids[slots] = ids

    def targets(self, request: RescreenRequest) -> np.ndarray:
        """MC-1 ``monitor.rescreen_targets`` from the arrays: holders of the request's
        instruments, its clients' screened accounts, every account of its types."""
        s, n = self.screen, self.screen.n_slots
        slots = [np.empty(0, dtype=np.int64)]
        for i in request.instrument_ids:
            if i < len(self.ratios.row_by_id) and self.ratios.row_by_id[i] >= 0:
                slots.append(s.holder_slots(int(self.ratios.row_by_id[i])))
        if request.client_ids:
            mask = np.isin(self.account_client[:n], np.asarray(request.client_ids, np.int64))
            slots.append(np.flatnonzero(mask))
        for kind in request.account_types:
            if kind in KIND:
                slots.append(np.flatnonzero(self.account_kind[:n] == KIND[kind]))
        out = np.unique(np.concatenate(slots))
        return out[s.active[out]]

    def figures_of(self, slot: int):
        return self.screen.account(slot)

    def scenario(self, slot: int, *, number: str, client: str, kind: str) -> dict[str, Any]:
        """The SCENARIO.md document of one account from the arrays: the inputs its figures came
        from (``snapshots.scenario_for``'s content: priced positions with the ratio resolved
        for this account, cash by currency, FX), for an MC-5 snapshot."""
        s = self.screen
        lo, hi = int(s.pos_start[slot]), int(s.pos_end[slot])
        instruments, positions, used = [], {}, set()
        order = sorted(
            (k for k in range(lo, hi) if s.pos_qty[k] != 0 and s.ins_priced[s.pos_instr[k]]),
            key=lambda k: self.codes[s.pos_instr[k]],
        )
        for k in order:
            i = int(s.pos_instr[k])
            code, ccy, ins_kind, status, mult = self.ins_meta[i]
            used.add(ccy)
            f = [_plain_scaled(int(v), 4) for v in s.pos_fac[k]]
            instruments.append(
                {
                    "code": code,
                    "currency": ccy,
                    "price": _plain_scaled(int(s.ins_price[i]), 6),
                    "kind": ins_kind,
                    "status": status,
                    "multiplier": mult,
                    "haircut": "1",
                    "level": None,
                    "margin": dict(zip(("im", "mcm", "mm", "fm"), f, strict=True)),
                }
            )
            positions[code] = int(s.pos_qty[k])
        cash = {}
        clo, chi = int(s.cash_start[slot]), int(s.cash_end[slot])
        for t in sorted(range(clo, chi), key=lambda t: self.currencies[s.cash_ccy[t]]):
            ccy = self.currencies[s.cash_ccy[t]]
            used.add(ccy)
            cash[ccy] = _plain_scaled(int(s.cash_amt[t]), 2)
        fx = {
            c: _plain_scaled(int(s.fx[self.ccy_index[c]]), 8)
            for c in sorted(used)
            if c != self.base and s.fx[self.ccy_index[c]] > 0
        }
        return {
            "base_currency": self.base,
            "fx": fx,
            "instruments": instruments,
            "accounts": [
                {
                    "id": number,
                    "client": client,
                    "type": kind,
                    "cash": cash,
                    "positions": positions,
                    "interest_receivable": _plain_scaled(int(s.params[slot, K.P_IR]), 2),
                    "trading_credit": "0.00",
                }
            ],
        }


class _Waiting:
    """The refreshes ``update_every`` deferred: per slot the latest book event it waits with
    (−1: none), and the slots waiting. Kept per slot rather than as a list merged and sorted
    after every batch (with ~20,000 open calls that sort cost ~1 ms a batch)."""

    def __init__(self) -> None:
        self.cause = np.full(0, -1, dtype=np.int64)
        self.slots = np.empty(0, dtype=np.int64)
        #: at most the earliest time a waiting slot's call was written (a write only moves a
        #: slot's time later): none is due before ``earliest + every``
        self.earliest = np.inf

    def add(self, slots: np.ndarray, causes: np.ndarray, written_at: np.ndarray) -> None:
        if not len(slots):
            return
        self.cause = _grown(self.cause, int(slots.max()) + 1, -1)
        new = slots[self.cause[slots] < 0]
        np.maximum.at(self.cause, slots, causes)
        if len(new):
            self.slots = np.concatenate((self.slots, np.unique(new)))
            self.earliest = min(self.earliest, float(written_at[new].min()))

    def _ages(self, written_at: np.ndarray, now: float) -> np.ndarray:
        return now - written_at[self.slots]

    def due_count(self, written_at: np.ndarray, now: float, every: float) -> int:
        if now - self.earliest < every:  # (most batches: no gather over every waiting slot)
            return 0
        return int((self._ages(written_at, now) >= every).sum())

    def take_due(
        self, written_at: np.ndarray, now: float, every: float, limit: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The due refreshes (``every`` seconds since their call was written), ``limit`` (≥ 1)
        at most, those waiting longest first: (slots, causes), no longer waiting."""
        if now - self.earliest < every:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        ages = self._ages(written_at, now)
        due = np.flatnonzero(ages >= every)
        if len(due) > limit:
            due = due[np.argpartition(-ages[due], limit - 1)[:limit]]
        slots = self.slots[due]
        causes = self.cause[slots]
        self.cause[slots] = -1
        keep = np.ones(len(self.slots), dtype=np.bool_)
        keep[due] = False
        self.slots = self.slots[keep]
        self.earliest = now - float(ages[keep].max()) if len(self.slots) else np.inf
        return slots, causes


def _latest_per_slot(slots: np.ndarray, causes: np.ndarray, noted: np.ndarray):
    """One entry per slot: its latest cause, and whether any of its entries was noted."""
    order = np.lexsort((causes, slots))
    slots, causes, noted = slots[order], causes[order], noted[order]
    last = np.ones(len(slots), dtype=np.bool_)
    last[:-1] = slots[1:] != slots[:-1]
    if len(slots):
        starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
        noted = np.logical_or.reduceat(noted, starts)
    return slots[last], causes[last], noted


def _grown(a: np.ndarray, n: int, fill) -> np.ndarray:
    """``a`` extended to ``n`` entries with ``fill`` (slots added since it was made)."""
    if len(a) >= n:
        return a
    out = np.full(n, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _rate_units(currency: str) -> int:
    """The FX rate of ``currency`` ×10⁸ from the book (0 when it has none)."""
    rate = FxRate.objects.filter(currency=currency).values_list("rate", flat=True).first()
    return 0 if rate is None else scaled(rate, FX_PLACES)


class _Rebuild(Exception):
    """The arrays cannot follow this change in place: load the book again."""


# ----------------------------------------------------------------------------- the calls
@dataclass
class CallMirror:
    """The open calls as written: per slot the call id (0: none), alert code and the
    FIGURE_FIELDS columns as integers; open calls of accounts without a slot in ``orphans``."""

    call_id: np.ndarray
    alert: np.ndarray
    cols: np.ndarray
    orphans: dict[int, int] = field(default_factory=dict)  # account id → call id
    seen_event: int = 0  # the last MarginCallEvent id this mirror accounts for
    docs: dict[int, str] = field(default_factory=dict)  # slot → its call's state, as JSON

    def doc(self, slot: int) -> str:
        """The call's state document (the next event's "before"), as JSON text."""
        text = self.docs.get(slot)
        if text is None:
            text = _doc_json(ALERTS[int(self.alert[slot])], self.cols[slot].tolist())
        return text

    @classmethod
    def load(cls, book: LiveBook) -> CallMirror:
        n = book.screen.n_slots
        mirror = cls(
            call_id=np.zeros(n, dtype=np.int64),
            alert=np.zeros(n, dtype=np.int64),
            cols=np.zeros((n, len(FIGURE_FIELDS)), dtype=np.int64),
        )
        m = MarginCall
        figures = ", ".join(
            _scaled_sql(_col(m, name), 6 if name == "nar" else 2) for name in FIGURE_FIELDS
        )
        with connection.cursor() as cur:
            cur.execute(f"SELECT MAX({_col(MarginCallEvent, 'id')}) FROM {_table(MarginCallEvent)}")
            mirror.seen_event = cur.fetchone()[0] or 0
            cur.execute(
                f"SELECT {_col(m, 'id')}, {_col(m, 'account')}, {_col(m, 'alert')}, {figures} "
                f"FROM {_table(m)} WHERE {_col(m, 'status')} = 'open'"
            )
            rows = cur.fetchall()
        for call_id, account_id, alert, *cols in rows:
            slot = book._slot(account_id)
            if slot < 0:
                mirror.orphans[account_id] = call_id
                continue
            mirror.call_id[slot] = call_id
            mirror.alert[slot] = ALERTS.index(alert)
            mirror.cols[slot] = cols
        mirror.pin(book)
        return mirror

    def pin(self, book: LiveBook, slots: np.ndarray | None = None) -> None:
        """The accounts with an open call are screened exactly on every tick (their figures
        are written); the others may lag behind within their slack (``LiveScreen.pin``)."""
        s = book.screen
        if slots is None:
            slots = np.arange(s.n_slots, dtype=np.int64)
        slots = slots[slots < len(self.call_id)]
        called = self.call_id[slots] != 0
        s.pin(slots[called & (s.pinned[slots] == 0)])
        s.pin(slots[~called & (s.pinned[slots] != 0)], pinned=False)

    def refresh(self, book: LiveBook, account_ids: list[int]) -> None:
        """Read these accounts' open calls again (written by another path)."""
        slots = []
        for account_id, call in _open_calls(account_ids).items():
            slot = book._slot(account_id)
            if slot >= 0:
                self.docs.pop(slot, None)
                self.call_id[slot] = call[0]
                self.alert[slot] = ALERTS.index(call[1]) if call[0] else 0
                self.cols[slot] = call[2]
                slots.append(slot)
        self.pin(book, np.array(slots, dtype=np.int64))
        self.seen_event = _max_id(MarginCallEvent)

    def grow(self, n: int) -> None:
        if n > len(self.call_id):
            extra = n - len(self.call_id)
            self.call_id = np.concatenate((self.call_id, np.zeros(extra, np.int64)))
            self.alert = np.concatenate((self.alert, np.zeros(extra, np.int64)))
            self.cols = np.vstack((self.cols, np.zeros((extra, self.cols.shape[1]), np.int64)))


def _open_calls(account_ids: list[int]) -> dict[int, tuple[int, str, list[int]]]:
    """account id → (call id, alert, FIGURE_FIELDS integers) of its open call, (0, "", 0…)
    when it has none."""
    m = MarginCall
    out = {i: (0, "", [0] * len(FIGURE_FIELDS)) for i in account_ids}
    figures = ", ".join(
        _scaled_sql(_col(m, name), 6 if name == "nar" else 2) for name in FIGURE_FIELDS
    )
    for part in _in(account_ids):
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {_col(m, 'id')}, {_col(m, 'account')}, {_col(m, 'alert')}, {figures} "
                f"FROM {_table(m)} WHERE {_col(m, 'status')} = 'open' "
                f"AND {_col(m, 'account')} IN ({_marks(len(part))})",
                part,
            )
            for call_id, account_id, alert, *cols in cur.fetchall():
                out[account_id] = (call_id, alert, cols)
    return out


def _plain_scaled(n: int, places: int) -> str:
    """A scaled integer as a plain decimal text (scenario files: never an exponent)."""
    return format(Decimal(n).scaleb(-places), "f")


_SQL: dict[tuple, str] = {}


def _sql(name, build) -> str:
    """A statement built once per database vendor (the monitor runs each many times a
    second; Django's query compiler cost ~0.3 ms per query, more than SQLite ran them in)."""
    key = (connection.vendor, name)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = build()
    return sql


def _first_row(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def _after(model, after: int) -> int | None:
    """The first id after ``after`` in an outbox table, or None (one indexed look; the monitor
    asks it between batches)."""
    sql = _sql(
        ("after", model),
        lambda: (
            f"SELECT {_col(model, 'id')} FROM {_table(model)} "
            f"WHERE {_col(model, 'id')} > %s ORDER BY {_col(model, 'id')} LIMIT 1"
        ),
    )
    row = _first_row(sql, [after])
    return row[0] if row else None


@dataclass(frozen=True, slots=True)
class _Event:
    """A book event as the monitor follows it: the outbox row without a model instance."""

    id: int
    kind: str
    payload: dict
    account_id: int | None


def _events_after(after: int, limit: int, now: datetime) -> list[_Event]:
    """``monitor._pending`` for the book's outbox in one prepared query: the next events in
    id order. An id gap (a transaction that may not have committed yet) goes to
    ``_pending``, which reads the events' times to decide how long to wait for it."""
    e = BookEvent
    sql = _sql(
        "events",
        lambda: (
            f"SELECT {_col(e, 'id')}, {_col(e, 'kind')}, {_col(e, 'payload')}, "
            f"{_col(e, 'account')} FROM {_table(e)} WHERE {_col(e, 'id')} > %s "
            f"ORDER BY {_col(e, 'id')} LIMIT %s"
        ),
    )
    with connection.cursor() as cur:
        cur.execute(sql, [after, limit])
        rows = cur.fetchall()
    previous = after
    for row in rows:
        if previous and row[0] != previous + 1:
            return _pending(after, limit, now)
        previous = row[0]
    return [
        _Event(i, kind, json.loads(payload) if isinstance(payload, str) else payload, account)
        for i, kind, payload, account in rows
    ]


_CONVERTERS: dict[tuple, Any] = {}


def _converted(model, name: str):
    """A function turning a raw column value into what the ORM reads (its converters: on
    SQLite a decimal is a REAL cut to 15 digits and a time is text)."""
    key = (connection.vendor, model, name)
    convert = _CONVERTERS.get(key)
    if convert is None:
        field = model._meta.get_field(name)
        col = field.get_col(model._meta.db_table)
        steps = connection.ops.get_db_converters(col) + field.get_db_converters(connection)

        def convert(value):
            for step in steps:
                value = step(value, col, connection)
            return value

        _CONVERTERS[key] = convert
    return convert


def _prices(instrument_ids: list[int]) -> dict[int, Decimal]:
    """instrument id → last price of these instruments, as the ORM reads it."""
    p = Price
    convert = _converted(p, "last")
    out = {}
    with connection.cursor() as cur:
        for part in _in(instrument_ids):
            cur.execute(
                f"SELECT {_col(p, 'instrument')}, {_col(p, 'last')} FROM {_table(p)} "
                f"WHERE {_col(p, 'instrument')} IN ({_marks(len(part))})",
                part,
            )
            out.update((i, convert(last)) for i, last in cur.fetchall())
    return out


def _lock_cursor(name: str) -> int:
    """The cursor's last event id, its row locked for this transaction (PostgreSQL; SQLite's
    writer lock already serialises the monitors)."""
    c = MonitorCursor
    sql = _sql(
        "lock cursor",
        lambda: (
            f"SELECT {_col(c, 'last_event_id')} FROM {_table(c)} WHERE {_col(c, 'name')} = %s"
            + (" FOR UPDATE" if connection.features.has_select_for_update else "")
        ),
    )
    row = _first_row(sql, [name])
    return row[0] if row else _cursor(name).last_event_id


def _move_cursor(name: str, last_event_id: int) -> None:
    c = MonitorCursor
    sql = _sql(
        "move cursor",
        lambda: (
            f"UPDATE {_table(c)} SET {_col(c, 'last_event_id')} = %s WHERE {_col(c, 'name')} = %s"
        ),
    )
    with connection.cursor() as cur:
        cur.execute(sql, [last_event_id, name])


def _full_screen_at(name: str = CURSOR) -> datetime | None:
    """When the last full screen ran (recorded on the cursor row)."""
    c = MonitorCursor
    sql = _sql(
        "full screen at",
        lambda: f"SELECT {_col(c, 'full_screen_at')} FROM {_table(c)} WHERE {_col(c, 'name')} = %s",
    )
    row = _first_row(sql, [name])
    return _converted(c, "full_screen_at")(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class _Label:
    """What a snapshot's scenario names an account by."""

    number: str
    client: str
    type: str


def _labels(account_ids: list[int]) -> dict[int, _Label]:
    """account id → its number, client code and type (one query per IN list)."""
    a, c = Account, Client
    out = {}
    with connection.cursor() as cur:
        for part in _in(sorted(set(account_ids))):
            cur.execute(
                f"SELECT a.{_col(a, 'id')}, a.{_col(a, 'number')}, c.{_col(c, 'code')}, "
                f"a.{_col(a, 'type')} FROM {_table(a)} a JOIN {_table(c)} c "
                f"ON c.{_col(c, 'id')} = a.{_col(a, 'client')} "
                f"WHERE a.{_col(a, 'id')} IN ({_marks(len(part))})",
                part,
            )
            out.update((i, _Label(*rest)) for i, *rest in cur.fetchall())
    return out


def _max_id(model) -> int:
    return model.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _defaults(model, fields: list[str]) -> tuple[list[str], tuple]:
    """The model's other concrete fields and their defaults, ready for the database: a raw
    INSERT naming ``fields`` stays valid when a field with a default is added to the model."""
    given = {model._meta.get_field(f).column for f in fields} | {model._meta.pk.column}
    others = [f for f in model._meta.concrete_fields if f.column not in given]
    return [f.name for f in others], tuple(
        f.get_db_prep_save(f.get_default(), connection) for f in others
    )


def _decimals(cols: np.ndarray) -> dict[str, Decimal]:
    return {name: Decimal(text) for name, text in zip(FIGURE_FIELDS, _texts(cols), strict=True)}


class Writer:
    """``screening.transition`` for many accounts at once, with exactly its semantics."""

    def __init__(
        self,
        book: LiveBook,
        mirror: CallMirror,
        *,
        update_every: float = 0.0,
        refresh_batch: int = REFRESH_BATCH,
    ) -> None:
        self.book = book
        self.mirror = mirror
        self.mismatches = 0
        self._staged: list[tuple] = []
        self._snapshots: list[MarginCallSnapshot] = []
        self._due_cache: tuple = (None, None)
        #: committed snapshots whose figures ``check_snapshots`` has not checked yet
        self.unchecked: list[MarginCallSnapshot] = []
        self.update_every = update_every
        self.refresh_batch = refresh_batch  # ≥ 1 (LiveMonitor)
        self.written_at = np.full(book.screen.n_slots, -np.inf)  # monotonic, per slot
        #: per slot: the first book event whose figure-only update is waiting (−1: none)
        self.waiting_since = np.full(book.screen.n_slots, -1, dtype=np.int64)
        self.deferred = (np.empty(0, np.int64), np.empty(0, np.int64))
        #: the figure-only updates the last write made, as the first event each had waited
        #: for (their staleness, which the benchmark reports)
        self.last_updates = np.empty(0, np.int64)
        self.last_counts: dict[str, int] = {}

    def write(
        self,
        slots: np.ndarray,
        causes: np.ndarray | None,
        *,
        at: datetime,
        gone: dict[int, int | None] | None = None,
        noted: np.ndarray | None = None,
    ) -> dict[str, int]:
        """Apply the arrays' figures of ``slots`` (``causes``: the book event per slot) and end
        the calls of ``gone`` accounts (no longer screened; account id → book event). Call
        inside a transaction; the mirror changes only through ``commit``.

        ``noted`` (per slot; None: all): something happened to the account, so a figures-only
        change is an "update" in its call's history; otherwise (a market move) it is a
        refresh of the call's figures, without a history event, and the one kind of write
        ``update_every`` may defer."""
        book, mirror, s = self.book, self.mirror, self.book.screen
        self._staged = []
        self._snapshots: list[MarginCallSnapshot] = []
        mirror.grow(s.n_slots)
        slots = np.asarray(slots, dtype=np.int64)
        if causes is None:
            causes = np.full(len(slots), -1, dtype=np.int64)
        if noted is None:
            noted = np.ones(len(slots), dtype=np.bool_)
        keep = s.active[slots]
        inactive = slots[~keep]
        slots, causes, noted = slots[keep], causes[keep], noted[keep]
        big = s.oversized[slots]
        if big.any():
            self._scalar(slots[big], causes[big], noted[big], at)
            slots, causes, noted = slots[~big], causes[~big], noted[~big]
        alert = s.state[slots, K.O_ALERT]
        cols = state_columns(s.state[slots])
        has = mirror.call_id[slots] != 0
        same = has & (mirror.alert[slots] == alert) & (mirror.cols[slots] == cols).all(axis=1)
        opening = ~has & (alert != 0)
        ending = has & (alert == 0)
        changing = has & (alert != 0) & ~same
        self.deferred = (np.empty(0, np.int64), np.empty(0, np.int64))
        updating = changing & (mirror.alert[slots] == alert) & ~noted
        if self.update_every > 0:
            # the market moved the figures, not the alert: one refresh per call per update_every
            self.written_at = _grown(self.written_at, s.n_slots, -np.inf)
            self.waiting_since = _grown(self.waiting_since, s.n_slots, -1)
            now = clock.monotonic()
            age = now - self.written_at[slots]
            wait = updating & (age < self.update_every)
            # at most refresh_batch refreshes a batch, the calls written longest ago first
            go = np.flatnonzero(updating & ~wait)
            if len(go) > self.refresh_batch:
                oldest = np.argpartition(-age[go], self.refresh_batch - 1)[: self.refresh_batch]
                wait[np.setdiff1d(go, go[oldest])] = True
            self.deferred = (slots[wait], causes[wait])
            first = self.waiting_since[slots[wait]]
            self.waiting_since[slots[wait]] = np.where(first < 0, causes[wait], first)
            changing &= ~wait
            updating &= ~wait
            self._staged.append(("written", slots[opening | ending | changing], now))
            waited = self.waiting_since[slots[updating]]
            self.last_updates = np.where(waited >= 0, waited, causes[updating])
        else:
            self.last_updates = causes[updating]
        counts: dict[str, int] = {}
        ends = {}
        for account_id, cause in (gone or {}).items():
            slot = book._slot(account_id)
            call_id = mirror.orphans.get(account_id)
            if call_id is None and slot >= 0 and mirror.call_id[slot]:
                call_id = int(mirror.call_id[slot])
            if call_id:
                ends[account_id] = (call_id, slot, cause)
        for slot in inactive.tolist():
            account_id = int(book.account_ids[slot])
            if mirror.call_id[slot] and account_id not in ends:
                ends[account_id] = (int(mirror.call_id[slot]), slot, None)
        if not (opening.any() or ending.any() or changing.any() or ends):
            return counts
        self._lock(book.account_ids[slots[opening | ending | changing]].tolist() + sorted(ends))
        if ends:
            counts[Kind.END] = counts.get(Kind.END, 0) + self._end_unscreened(ends, at)
        if opening.any():
            counts[Kind.OPEN] = self._open(slots[opening], cols[opening], causes[opening], at)
        if ending.any() or changing.any():
            w = ending | changing
            for kind, n in self._change(slots[w], cols[w], causes[w], ~updating[w], at).items():
                counts[kind] = counts.get(kind, 0) + n
        if self._snapshots:
            MarginCallSnapshot.objects.bulk_create(self._snapshots)
        return counts

    def _scalar(self, slots: np.ndarray, causes: np.ndarray, noted, at: datetime) -> None:
        """Accounts too large for the exact int64 kernels (``LiveScreen.oversized``) are
        screened one by one with the Decimal reference, as the scalar monitor does."""
        from riskdesk.margincall.screening import screen_account

        ids = self.book.account_ids[slots].tolist()
        log.warning("monitor: %d account(s) beyond the int64 bound, screened in Decimal", len(ids))
        accounts = self._accounts(ids)
        for account_id, cause, record in zip(ids, causes.tolist(), noted.tolist(), strict=True):
            screen_account(
                accounts[account_id],
                at=at,
                book_event_id=None if cause < 0 else cause,
                record=record,
            )
        self._staged.append(("refresh", ids))

    def commit(self) -> None:
        """The transaction committed: the mirror takes the staged changes."""
        m = self.mirror
        moved = []
        for op in self._staged:
            if op[0] == "refresh":
                m.refresh(self.book, op[1])
                continue
            if op[0] == "set":
                _, slot, call_id, alert, cols, doc = op
                m.call_id[slot], m.alert[slot], m.cols[slot] = call_id, alert, cols
                m.docs[slot] = doc
                moved.append(slot)
            elif op[0] == "clear":
                m.call_id[op[1]] = 0
                m.docs.pop(op[1], None)
                moved.append(op[1])
            elif op[0] == "figures":
                m.cols[op[1]] = op[2]
                for slot in op[1].tolist():
                    m.docs.pop(slot, None)
            elif op[0] == "orphan":
                m.orphans.pop(op[1], None)
            elif op[0] == "seen":
                m.seen_event = max(m.seen_event, op[1])
            elif op[0] == "written":
                self.written_at[op[1]] = op[2]
                self.waiting_since[op[1]] = -1
        m.pin(self.book, np.array(moved, dtype=np.int64))
        self._staged = []
        self.unchecked.extend(self._snapshots)
        self._snapshots = []
        if len(self.unchecked) > UNCHECKED_MAX:  # never idle: keep up here
            self.check_snapshots(len(self.unchecked) - UNCHECKED_MAX)

    def rollback(self) -> None:
        self._staged = []
        self._snapshots = []

    # ------------------------------------------------------------------
    def _lock(self, account_ids: list[int]) -> None:
        """Lock the accounts, as ``transition`` does, so the daily task and the monitor
        serialise per account (PostgreSQL, in id order, one statement; SQLite's writer lock
        already does)."""
        if connection.vendor != "postgresql" or not account_ids:
            return
        a = Account
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {_col(a, 'id')} FROM {_table(a)} WHERE {_col(a, 'id')} = ANY(%s) "
                f"ORDER BY {_col(a, 'id')} FOR UPDATE",
                [sorted(account_ids)],
            )

    def _accounts(self, account_ids: list[int]) -> dict[int, Account]:
        found = {}
        for part in _in(account_ids):
            found.update(Account.objects.select_related("client").in_bulk(part))
        return found

    def _events(self, events: list[MarginCallEvent]) -> None:
        created = MarginCallEvent.objects.bulk_create(events)
        top = max((e.pk or 0 for e in created), default=0)
        if not top:  # a backend that returns no ids
            top = MarginCallEvent.objects.order_by("-id").values_list("id", flat=True).first()
        self._staged.append(("seen", top or 0))

    def _deadline(self, at: datetime):
        """``screening.deadline`` (~2 ms: it reads the calendar), read again when the home
        date changes or a second has passed, so that an approved calendar change applies
        within the second."""
        key = (home_date(at), int(clock.monotonic()))
        if self._due_cache[0] != key:
            self._due_cache = (key, deadline(at))
        return self._due_cache[1]

    def _open(self, slots, cols, causes, at) -> int:
        book, s = self.book, self.book.screen
        ids = book.account_ids[slots].tolist()
        labels = _labels(ids)
        due = self._deadline(at)
        calls = []
        alerts = s.state[slots, K.O_ALERT].tolist()
        for k, account_id in enumerate(ids):
            calls.append(
                MarginCall(
                    account_id=account_id,
                    alert=ALERTS[alerts[k]],
                    triggered_at=at,
                    deadline=due,
                    updated_at=at,
                    **_decimals(cols[k]),
                )
            )
        calls = MarginCall.objects.bulk_create(calls)
        events = [
            MarginCallEvent(
                call=call,
                kind=Kind.OPEN,
                at=at,
                before=None,
                after=_doc(call.alert, cols[k]),
                book_event_id=None if causes[k] < 0 else int(causes[k]),
            )
            for k, call in enumerate(calls)
        ]
        self._events(events)
        for k, call in enumerate(calls):
            self._snapshot(call.pk, labels[ids[k]], Reason.TRIGGERED, int(slots[k]), at)
            self._staged.append(("set", int(slots[k]), call.pk, alerts[k], cols[k].copy(), None))
        return len(calls)

    def _change(self, slots, cols, causes, record, at) -> dict[str, int]:
        """Open calls whose alert or figures moved: end, update, escalate or deescalate, each
        with its event (before = the call as written, after = the new state); where
        ``record`` is False, a figures-only change refreshes the call without an event. Raw
        bulk SQL: at a thousand ticks a second this is the monitor's hot path."""
        mirror, s = self.mirror, self.book.screen
        m, e = MarginCall, MarginCallEvent
        when = connection.ops.adapt_datetimefield_value(at)
        counts: dict[str, int] = {}
        updates, ends, events, snaps = [], [], [], []
        refresh = ~record
        if refresh.any():
            counts[REFRESH] = self._refresh(slots[refresh], cols[refresh], updates, when)
            slots, cols, causes = slots[record], cols[record], causes[record]
        new = s.state[slots, K.O_ALERT].tolist()
        old = mirror.alert[slots].tolist()
        call_ids = mirror.call_id[slots].tolist()
        rows = cols.tolist()
        cause_list = [None if c < 0 else c for c in causes.tolist()]
        afters = _doc_jsons([ALERTS[a] for a in new], cols)
        for k, slot in enumerate(slots.tolist()):
            alert, call_id = new[k], call_ids[k]
            after = afters[k]
            if alert == 0:
                kind = Kind.END
                ends.append((when, when, call_id))
                snaps.append((call_id, Reason.ENDED, slot))
                self._staged.append(("clear", slot))
            else:
                if alert == old[k]:
                    kind = Kind.UPDATE
                elif ALERTS[alert] == MarginCall.Alert.FORCE_CLOSE:
                    kind = Kind.ESCALATE
                    snaps.append((call_id, Reason.FORCE, slot))
                else:
                    kind = Kind.DEESCALATE
                updates.append((ALERTS[alert], when, *rows[k], call_id))
                self._staged.append(("set", slot, call_id, alert, cols[k].copy(), after))
            counts[kind] = counts.get(kind, 0) + 1
            events.append((call_id, kind, when, mirror.doc(slot), after, cause_list[k]))
        json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        with connection.cursor() as cur:
            if updates:
                _update_calls(cur, updates)
            if ends:
                cur.executemany(
                    f"UPDATE {_table(m)} SET {_col(m, 'status')} = 'ended', "
                    f"{_col(m, 'ended_at')} = %s, {_col(m, 'updated_at')} = %s "
                    f"WHERE {_col(m, 'id')} = %s",
                    ends,
                )
            if events:
                fields = ["call", "kind", "at", "before", "after", "book_event_id"]
                extra, values = _defaults(e, fields)
                cur.executemany(
                    f"INSERT INTO {_table(e)} ({', '.join(_col(e, f) for f in fields + extra)}) "
                    f"VALUES (%s, %s, %s, {json}, {json}, %s{', %s' * len(extra)})",
                    [row + values for row in events] if extra else events,
                )
                cur.execute(f"SELECT MAX({_col(e, 'id')}) FROM {_table(e)}")
                self._staged.append(("seen", cur.fetchone()[0] or 0))
        if snaps:
            ids = self.book.account_ids[[slot for _, _, slot in snaps]].tolist()
            labels = _labels(ids)
            for (call_id, reason, slot), account_id in zip(snaps, ids, strict=True):
                self._snapshot(call_id, labels[account_id], reason, slot, at)
        return counts

    def _refresh(self, slots, cols, updates: list, when) -> int:
        """Figures-only changes without an event (a market move): the rows for the calls'
        UPDATE, and one staged change of the mirror for all of them."""
        mirror = self.mirror
        alerts = [ALERTS[a] for a in mirror.alert[slots].tolist()]
        updates.extend(
            (alert, when, *row, call_id)
            for alert, row, call_id in zip(
                alerts, cols.tolist(), mirror.call_id[slots].tolist(), strict=True
            )
        )
        self._staged.append(("figures", slots, cols.copy()))
        return len(slots)

    def _end_unscreened(self, ends: dict[int, tuple[int, int, int | None]], at) -> int:
        """Calls of accounts that left the screened set end, with no after document."""
        m = MarginCall
        calls = m.objects.select_related("account__client").in_bulk(
            [c for c, _, _ in ends.values()]
        )
        events = []
        for account_id, (call_id, slot, cause) in sorted(ends.items()):
            call = calls[call_id]
            before = _doc(call.alert, _call_cols(call))
            m.objects.filter(pk=call_id).update(status=m.Status.ENDED, ended_at=at, updated_at=at)
            call.status, call.ended_at, call.updated_at = m.Status.ENDED, at, at
            events.append(
                MarginCallEvent(
                    call=call,
                    kind=Kind.END,
                    at=at,
                    before=before,
                    after=None,
                    book_event_id=cause,
                )
            )
            self._staged.append(("orphan", account_id))
            if slot >= 0:
                self._staged.append(("clear", slot))
        self._events(events)
        for call in events:
            snapshots.take(call.call, Reason.ENDED, at=at)
        return len(events)

    def _snapshot(self, call_id: int, label: _Label, reason: str, slot: int, at: datetime) -> None:
        """MC-5 from the arrays: the account's scenario as the arrays hold it, with the
        figures the arrays give it, written with the call's state. `calc margin`'s Decimal
        code path checks them after the commit (``check_snapshots``), off the state's path.
        With ``VERIFY`` the figures are also recomputed from the database by ``account_risk``
        here, in the transaction that sees the book they came from (the tests do; ~10 ms per
        snapshot)."""
        scenario = self.book.scenario(
            slot, number=label.number, client=label.client, kind=label.type
        )
        mine = self.book.figures_of(slot)
        if VERIFY:
            from riskdesk.margin.figures import account_risk

            risk = account_risk(Account.objects.get(number=label.number), at=at)
            if risk.figures != mine:
                self._differs(label.number, f"arrays {mine} ≠ account_risk {risk.figures}")
        self._snapshots.append(
            MarginCallSnapshot(
                call_id=call_id,
                reason=reason,
                at=at,
                scenario=scenario,
                figures=snapshots.figures_document(label.number, mine),
            )
        )

    def check_snapshots(self, limit: int | None = None) -> int:
        """MC-5: the committed snapshots' figures (the arrays') against what `calc margin`'s
        Decimal code path computes from their scenario, ``limit`` at most; the number checked.
        A difference is logged as an error (raised when ``STRICT``), and the snapshot takes
        `calc margin`'s figures, so that every snapshot reproduces with `riskdesk calc margin`
        whatever the arrays said. Measured: ~1 ms per snapshot, which inside the write cost
        the state of every batch with an open, an escalation or an end."""
        done = self.unchecked[:limit]
        del self.unchecked[: len(done)]
        for snap in done:
            figures = snapshots.calc_margin(snap.scenario)
            if figures != snap.figures:
                MarginCallSnapshot.objects.filter(pk=snap.pk).update(figures=figures)
                (row,) = figures["accounts"]
                self._differs(row["id"], f"arrays {snap.figures} ≠ calc margin {figures}")
        return len(done)

    def _differs(self, number: str, detail: str) -> None:
        self.mismatches += 1
        message = f"monitor: arrays and Decimal figures differ for account {number}: {detail}"
        log.error(message)
        if STRICT:
            raise AssertionError(message)


def _update_calls(cur, rows: list[tuple]) -> None:
    """Write calls' alert, time and FIGURE_FIELDS: ``rows`` are (alert, at, *integers (cents;
    nar ×10⁶), call id), one ``at`` for all. The integers are scaled in SQL: exact numeric on
    PostgreSQL; on SQLite the same REAL that parsing the decimal text gives (the column's
    storage). SQLite runs one prepared UPDATE per row (its executemany loops in C); PostgreSQL
    one UPDATE … FROM unnest() of array literals: psycopg's executemany cost ~100 µs a row (6 s
    of a 20 s benchmark run), and its adapting of Python lists ~2 µs a value."""
    m = MarginCall

    def scaled_(f, value):
        return f"{value} / {'1000000.0' if f == 'nar' else '100.0'}"

    if connection.vendor != "postgresql":
        sets = ", ".join(
            f"{_col(m, f)} = %s"
            if f in ("alert", "updated_at")
            else f"{_col(m, f)} = " + scaled_(f, "%s")
            for f in ("alert", "updated_at", *FIGURE_FIELDS)
        )
        cur.executemany(f"UPDATE {_table(m)} SET {sets} WHERE {_col(m, 'id')} = %s", rows)
        return
    sets = ", ".join(
        [f"{_col(m, 'alert')} = v.alert", f"{_col(m, 'updated_at')} = %s"]
        + [f"{_col(m, f)} = " + scaled_(f, f"v.{f}") for f in FIGURE_FIELDS]
    )
    arrays = ", ".join(["%s::text[]"] + ["%s::bigint[]"] * (len(FIGURE_FIELDS) + 1))
    alerts, ats, *integers = zip(*rows, strict=True)
    # alert values are identifiers ("margin_call", "force_close"): no quoting in the literal
    literals = ["{" + ",".join(map(str, column)) + "}" for column in (alerts, *integers)]
    cur.execute(
        f"UPDATE {_table(m)} SET {sets} FROM unnest({arrays}) "
        f"AS v(alert, {', '.join(FIGURE_FIELDS)}, id) "
        f"WHERE {_table(m)}.{_col(m, 'id')} = v.id",
        [ats[0], *literals],
    )


def _call_cols(call: MarginCall) -> np.ndarray:
    return np.array(
        [
            scaled(
                Decimal(getattr(call, name)),
                Decimal("0.000001") if name == "nar" else Decimal("0.01"),
            )
            for name in FIGURE_FIELDS
        ],
        dtype=np.int64,
    )


# ----------------------------------------------------------------------------- the monitor
class LiveMonitor:
    """The risk monitor on the arrays: ``process_events`` / ``process_rescreens`` /
    ``process_all`` / ``full_screen`` with ``margincall.monitor``'s semantics.

    Every batch runs in ONE transaction: lock the cursor, bring the arrays to the book as that
    transaction sees it (``_follow``), write the changed calls, move the cursor. A failure
    rolls it all back; the arrays still equal committed data, and the accounts the batch
    touched stay ``_dirty`` until a batch writes them.
    """

    def __init__(
        self,
        *,
        at: datetime | None = None,
        update_every: float = 0.0,
        hold: float = 0.0,
        refresh_batch: int = REFRESH_BATCH,
    ) -> None:
        #: > 0: an open call's figures are refreshed after market moves at most once per this
        #: many seconds (they wait in memory meanwhile; alert changes and account events are
        #: written at once). 0, the default here, writes every change as
        #: ``screening.transition`` does; ``riskdesk monitor`` runs with UPDATE_EVERY.
        self.update_every = update_every
        #: Seconds to let book events gather before a batch starts (fewer, larger batches).
        self.hold = hold
        #: refreshes written per batch at most (REFRESH_BATCH; at least one)
        self.refresh_batch = max(1, refresh_batch)
        self._backlog = False  # refreshes were due beyond the last flush's share
        self._first_seen: float | None = None
        self._rebuild_due = False
        self.applied_event_id = 0  # the last book event this monitor wrote the state of
        self.last_counts: dict[str, int] = {}  # the calls its last batch wrote, by event kind
        cursor = _cursor()
        self.full_screen_at, self._cursor_at = cursor.full_screen_at, cursor.last_event_id
        self._cursor_read = clock.monotonic()
        self._flushed = clock.monotonic()
        self._rescreen_cursor_at = _cursor(RESCREEN_CURSOR).last_event_id
        self.rebuild(at)

    # -------------------------------------------------------------- housekeeping
    def _writer(self) -> Writer:
        """A writer over the current book and mirror, taking over what the last one had not
        checked yet and its count of differences."""
        writer = Writer(
            self.book,
            self.mirror,
            update_every=self.update_every,
            refresh_batch=self.refresh_batch,
        )
        if old := getattr(self, "writer", None):
            writer.unchecked, writer.mismatches = old.unchecked, old.mismatches
        if waiting := getattr(self, "_waiting", None):
            waiting.earliest = -np.inf  # the new writer knows no write times: all are due
        return writer

    def check_snapshots(self, limit: int | None = None) -> int:
        """``Writer.check_snapshots``: when idle (``run_forever``), after ``process_all`` and
        ``full_screen``, and after a batch that leaves more than UNCHECKED_MAX waiting."""
        return self.writer.check_snapshots(limit)

    def _reload_all(self, at: datetime) -> None:
        """Load the book again and mark every account, so the next write compares them all."""
        self.rebuild(at)
        n = self.book.screen.n_slots
        self._mark(np.arange(n, dtype=np.int64), np.full(n, -1, dtype=np.int64))

    def _reload_if_due(self, at: datetime) -> None:
        """Reload when a full screen ran in another process (noticed on the cursor row)."""
        if self._rebuild_due:
            self._rebuild_due = False
            self._reload_all(at)

    def rebuild(self, at: datetime | None = None) -> None:
        """Load the book and the calls again (a change the arrays cannot follow, a foreign full
        screen, a second monitor ahead of this one)."""
        self._synced = _max_id(BookEvent)  # events up to here are in the arrays
        self._synced_ratios = _max_id(RescreenRequest)
        if hasattr(self, "book"):
            self.book.load(at=at)
        else:
            self.book = LiveBook(at=at)
        self.mirror = CallMirror.load(self.book)
        self.writer = self._writer()
        self._dirty = np.zeros(0, dtype=np.int64)
        self._dirty_causes = np.zeros(0, dtype=np.int64)
        self._dirty_noted = np.zeros(0, dtype=np.bool_)
        #: refreshes deferred by ``update_every``, brought back when due
        self._waiting = _Waiting()

    def _foreign(self) -> bool:
        """Did another process write call state since this monitor last looked? (A full
        screen records itself on the cursor row; any other writer leaves state events.)"""
        at = _full_screen_at()
        if at != self.full_screen_at:
            # another process ran a full screen (the daily job): besides the calls it wrote,
            # it read what no event announces (an instrument's status, say): load the book
            # again before the next batch, outside any transaction
            self.full_screen_at = at
            self._rebuild_due = True
            return True
        e = MarginCallEvent
        kinds = ", ".join(f"'{k}'" for k in STATE_KINDS)
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT 1 FROM {_table(e)} WHERE {_col(e, 'id')} > %s "
                f"AND {_col(e, 'kind')} IN ({kinds}) LIMIT 1",
                [self.mirror.seen_event],
            )
            return cur.fetchone() is not None

    def _mark(self, slots: np.ndarray, causes: np.ndarray, *, noted: bool = False) -> None:
        """Accounts whose figures moved and whose state is not written yet; ``noted``: by
        something that happened to the account (an account event, new margin terms), which
        its call's history records (``Writer.write``)."""
        self._dirty = np.concatenate((self._dirty, np.asarray(slots, np.int64)))
        self._dirty_causes = np.concatenate((self._dirty_causes, np.asarray(causes, np.int64)))
        self._dirty_noted = np.concatenate(
            (self._dirty_noted, np.full(len(slots), noted, dtype=np.bool_))
        )

    def _take_dirty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dirty slots that may need a write, once each, with the latest book event that
        touched each (the scalar monitor's cause: the last event of the batch that touched
        the account) and whether any mark was ``noted``. Only an account in alert or with an
        open call can need one (a tick touches thousands of accounts; a few percent are
        either): the rest are dropped before any sorting or column work."""
        s, mirror = self.book.screen, self.mirror
        mirror.grow(s.n_slots)
        if len(self._waiting.slots):
            due, causes = self._waiting.take_due(
                self.writer.written_at, clock.monotonic(), self.update_every, self.refresh_batch
            )
            self._mark(due, causes)
        slots, causes, noted = self._dirty, self._dirty_causes, self._dirty_noted
        keep = (
            (s.state[slots, K.O_ALERT] != 0)
            | (mirror.call_id[slots] != 0)
            | ~s.active[slots]
            | s.oversized[slots]
        )
        return _latest_per_slot(slots[keep], causes[keep], noted[keep])

    def _keep_deferred(self) -> None:
        """After a write: the refreshes it deferred wait aside (``_waiting``) rather than in
        the dirty set, which every batch sorts and compares: with thousands of open calls,
        carrying them cost more than the batch's own work."""
        self._waiting.add(*self.writer.deferred, self.writer.written_at)
        self._dirty = np.zeros(0, dtype=np.int64)
        self._dirty_causes = np.zeros(0, dtype=np.int64)
        self._dirty_noted = np.zeros(0, dtype=np.bool_)

    def _batch(self, cursor_name: str, start: int, pending, follow, at: datetime) -> list:
        """One transaction: lock the cursor, read the ``pending(start)`` outbox rows after it,
        ``follow(rows)`` the book, write, move the cursor past them; the rows applied (none when
        another monitor moved the cursor first: nothing written).

        On PostgreSQL the rows are read and followed inside one REPEATABLE READ snapshot, so
        the arrays, the Decimal figures of the snapshots and the writes agree. On SQLite
        ``process_events`` has followed them before (``pending`` returns those), so that the
        writer lock is held for the writes alone."""
        outermost = not connection.in_atomic_block
        rows: list = []
        try:
            with writing():
                if outermost and connection.vendor == "postgresql":
                    # one snapshot of the book for the whole batch: its arrays, the Decimal
                    # figures of its snapshots and its writes agree (SQLite's IMMEDIATE
                    # transaction holds the writer lock, which does the same)
                    with connection.cursor() as cur:
                        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                moved = _lock_cursor(cursor_name) != start
                rows = [] if moved else pending(start)
                if rows and self._foreign():
                    if self._rebuild_due:  # a full screen elsewhere: reload first, outside
                        rows = []
                    else:
                        self.mirror = CallMirror.load(self.book)
                        self.writer = self._writer()
                if rows:
                    gone = follow(rows)
                    slots, causes, noted = self._take_dirty()
                    self.last_counts = self.writer.write(
                        slots, causes, noted=noted, at=at, gone=gone
                    )
                    _move_cursor(cursor_name, rows[-1].id)
        except BaseException:
            self.writer.rollback()
            raise
        if moved:
            log.warning("monitor: another monitor moved the %s cursor; reloading", cursor_name)
            self.rebuild(at)
            return []
        if rows:
            self.writer.commit()
            self._keep_deferred()
        return rows

    # -------------------------------------------------------------- events
    def process_events(self, limit: int = 1000, *, at: datetime | None = None) -> int:
        """Apply the pending book events; the number consumed (0: nothing to do)."""
        now = timezone.now()
        at = at or now
        self._reload_if_due(at)
        start = self._cursor_at
        if not _after(BookEvent, start):  # one indexed look, outside any transaction
            if clock.monotonic() - self._cursor_read < 1.0:
                self._first_seen = None
                return 0
            # once a second: did someone move the cursor back (an operator replaying)?
            self._cursor_read = clock.monotonic()
            start = self._cursor_at = _cursor().last_event_id
            if not _after(BookEvent, start):
                self._first_seen = None
                return 0
        if self.hold > 0:
            seen = self._first_seen = self._first_seen or clock.monotonic()
            if clock.monotonic() - seen < self.hold:
                return 0
        self._first_seen = None

        # On SQLite the reading and computing happen before the transaction, so that the
        # writer lock (which the feed needs too) is held for the writes alone: the arrays
        # follow the events committed now, again while more came in meanwhile, and the batch
        # covers exactly those; what commits later is the next batch's. The arrays may hold a
        # newer price than those events say (read after another tick committed): the next
        # batch finds that price already held and still names its event as the cause of the
        # holders it may write (``_follow``). PostgreSQL follows inside its snapshot.
        early: dict[int, int | None] = {}
        rows: list[BookEvent] = []
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            try:
                for _ in range(EARLY_ROUNDS):
                    after = rows[-1].id if rows else start
                    ahead = _events_after(after, limit - len(rows), timezone.now())
                    if not ahead:
                        break
                    early.update(self._follow(ahead, at))
                    rows += ahead
                    if len(rows) >= limit:
                        break
            except (_Rebuild, MagnitudeError):
                early, rows = {}, []  # done again inside, where the rebuild is handled
        followed = rows[-1].id if rows else start

        def pending(after: int) -> list[BookEvent]:
            return rows if rows else _events_after(after, limit, timezone.now())

        def follow(events):
            try:
                gone = dict(early)
                rest = [e for e in events if e.id > followed]
                if rest:
                    gone.update(self._follow(rest, at))
                return gone
            except (_Rebuild, MagnitudeError) as exc:
                log.warning("monitor: reloading the arrays (%s)", exc)
                self._reload_all(at)
                return {}

        events = self._batch(CURSOR, start, pending, follow, at)
        if not events and self._rebuild_due:  # stood back for a reload: now the batch
            return self.process_events(limit, at=at)
        if not events:
            self._cursor_at = _cursor().last_event_id
            return 0
        self._cursor_at = events[-1].id
        self.applied_event_id = events[-1].id
        log.info("monitor: %d event(s) applied", len(events))
        return len(events)

    def _follow(self, events: list[BookEvent], at: datetime) -> dict[int, int | None]:
        """Bring the arrays to the book after ``events`` (re-reading what they touched); marks
        the slots whose figures may have moved; returns the accounts no longer screened
        (account id → the event that showed it)."""
        book = self.book
        self._sync_ratios(at)  # ratio changes committed before this batch apply to it
        moved = book.sync_session(at)
        self._mark(moved, np.full(len(moved), events[0].id, np.int64))
        instruments: dict[str, int] = {}  # code → last event
        fx_event = 0
        accounts: dict[int, int] = {}  # account id → last event
        numbers: dict[str, int] = {}
        for event in events:
            kind, payload = event.kind, event.payload or {}
            if kind in ACCOUNT_KINDS:
                if event.account_id is not None:
                    accounts[event.account_id] = event.id
                elif payload.get("account"):
                    numbers[payload["account"]] = event.id
            elif kind == BookEvent.Kind.PRICE_UPDATE:
                for tick in payload.get("prices", ()):
                    instruments[tick["instrument"]] = event.id
            elif kind == BookEvent.Kind.FX_UPDATE:
                fx_event = event.id
            elif kind == BookEvent.Kind.OPENING:
                raise _Rebuild("an opening balance event")
        if numbers:  # (an empty IN still cost ~0.6 ms of query building per batch)
            for number, account_id in Account.objects.filter(number__in=list(numbers)).values_list(
                "number", "id"
            ):
                accounts[account_id] = max(accounts.get(account_id, 0), numbers[number])
        if fx_event:
            for slots in book.set_rates().values():
                self._mark(slots, np.full(len(slots), fx_event, np.int64))
        if instruments:
            ids = book.instrument_ids(list(instruments))
            by_id = {ids[c]: e for c, e in instruments.items() if c in ids}
            # in event order, so that a slot's last cause is the last event that touched it
            moved, slots, seg = book.set_prices(sorted(by_id, key=by_id.__getitem__))
            # a tick whose price the arrays already hold (read earlier, when an earlier event
            # was followed) still names the cause of the holders it may write, as the scalar
            # monitor does
            for i in sorted(set(by_id) - set(moved), key=by_id.__getitem__):
                held = book.screen.watched_holders(int(book.ratios.row_by_id[i]))
                self._mark(held, np.full(len(held), by_id[i], np.int64))
            self._mark(slots, np.repeat([by_id[i] for i in moved], np.diff(seg)))
        gone: dict[int, int | None] = {}
        if accounts:
            slots, left = book.reload_accounts(accounts)
            ids = book.account_ids[slots]
            self._mark(slots, np.array([accounts[int(i)] for i in ids], dtype=np.int64), noted=True)
            gone = {i: accounts[i] for i in left}
        self._synced = max(self._synced, events[-1].id)
        return gone

    def _catch_up(self, at: datetime) -> dict[int, int | None]:
        """Bring the arrays to the book as the current transaction sees it (events and ratio
        changes committed since they were last synced), marking what moved."""
        gone: dict[int, int | None] = {}
        while events := _events_after(self._synced, 1000, timezone.now()):
            gone.update(self._follow(events, at))
        self._sync_ratios(at)
        return gone

    def _sync_ratios(self, at: datetime) -> None:
        """Apply the ratio changes committed since the arrays last read the ratio tables
        (in outbox order, stopping at a gap that may still commit, like the cursor)."""
        while _after(RescreenRequest, self._synced_ratios) and (
            requests := _pending(self._synced_ratios, 1000, timezone.now(), RescreenRequest)
        ):
            self._rescreen(requests, at)

    def _rescreen(self, requests: list[RescreenRequest], at: datetime) -> None:
        book = self.book
        book.reload_ratios(at)
        slots = np.unique(np.concatenate([book.targets(r) for r in requests]))
        book.refactor(slots)
        self._mark(slots, np.full(len(slots), -1, dtype=np.int64), noted=True)
        self._synced_ratios = max(self._synced_ratios, requests[-1].id)

    def process_rescreens(self, limit: int = 200, *, at: datetime | None = None) -> int:
        """Apply pending ratio changes (RescreenRequest) like ``process_events``."""
        now = timezone.now()
        at = at or now
        start = _cursor(RESCREEN_CURSOR).last_event_id if self._rescreens_due() else None
        if start is None or not _pending(start, 1, now, RescreenRequest):
            return 0

        def follow(requests):
            try:
                self._sync_ratios(at)  # these requests, unless an event batch applied them
            except (_Rebuild, MagnitudeError) as exc:
                log.warning("monitor: reloading the arrays (%s)", exc)
                self._reload_all(at)
            return {}

        self._reload_if_due(at)
        requests = self._batch(
            RESCREEN_CURSOR,
            start,
            lambda after: _pending(after, limit, timezone.now(), RescreenRequest),
            follow,
            at,
        )
        if not requests and self._rebuild_due:
            return self.process_rescreens(limit, at=at)
        if requests:
            self._rescreen_cursor_at = requests[-1].id
            log.info("monitor: %d ratio change(s) applied", len(requests))
        return len(requests)

    def _rescreens_due(self) -> bool:
        """Anything in the ratio outbox after what this monitor applied? (one indexed look)"""
        last = _after(RescreenRequest, self._rescreen_cursor_at)
        if not last:
            return False
        self._rescreen_cursor_at = _cursor(RESCREEN_CURSOR).last_event_id
        return bool(_after(RescreenRequest, self._rescreen_cursor_at))

    def process_all(self, *, at: datetime | None = None, limit: int = 1000) -> int:
        """Process book events and ratio changes until nothing is pending; the number consumed."""
        self._cursor_read = -np.inf  # read the cursor afresh: someone may have moved it
        total = 0
        while n := self.process_events(limit, at=at) + self.process_rescreens(at=at):
            total += n
        self.check_snapshots()
        return total

    # -------------------------------------------------------------- full screen
    def full_screen(
        self,
        at: datetime | None = None,
        *,
        chunk: int = CHUNK,
        progress=None,
        reload: bool = True,
    ) -> int:
        """Screen every screened account (and end the open calls of accounts no longer
        screened) from the arrays, ``chunk`` accounts per transaction, writing only where the
        database differs; the number of accounts screened. Each transaction first brings the
        arrays to the book it sees (``_catch_up``), so what it writes is the book's state then;
        accounts moved by that are written last. Records ``full_screen_at``."""
        at = at or timezone.now()
        if reload:
            self.rebuild(at)
        book = self.book
        n = book.screen.n_slots
        active = np.flatnonzero(book.screen.active[:n])
        by_account = {int(book.account_ids[s]): int(s) for s in active}
        orphans = set(self.mirror.orphans)
        ids = sorted(set(by_account) | orphans)
        for first in range(0, len(ids), chunk):
            part = ids[first : first + chunk]
            slots = np.array([by_account[i] for i in part if i in by_account], dtype=np.int64)
            self._write_now(slots, {i: None for i in part if i in orphans}, at)
            if progress is not None:
                progress(min(first + chunk, len(ids)), len(ids))
        for _ in range(10):  # what moved meanwhile (the event loop would do it too)
            if not len(self._dirty):
                break
            self._write_now(np.empty(0, np.int64), {}, at)
        MonitorCursor.objects.update_or_create(name=CURSOR, defaults={"full_screen_at": at})
        self.full_screen_at = at
        self.check_snapshots()
        return len(ids)

    def _write_now(self, slots: np.ndarray, gone: dict[int, int | None], at: datetime) -> None:
        try:
            with writing():
                if self._foreign():
                    self.mirror = CallMirror.load(self.book)
                    self.writer = self._writer()
                gone = {**gone, **self._catch_up(at)}
                dirty, causes, noted = self._take_dirty()
                self.writer.last_counts = self.writer.write(
                    np.concatenate((slots, dirty)),
                    np.concatenate((np.full(len(slots), -1, np.int64), causes)),
                    noted=np.concatenate((np.zeros(len(slots), np.bool_), noted)),
                    at=at,
                    gone=gone,
                )
        except BaseException:
            self.writer.rollback()
            raise
        self.writer.commit()
        self._keep_deferred()

    def flush(self, at: datetime | None = None) -> int:
        """Write deferred updates that are due (``update_every``), ``refresh_batch`` at most;
        the number written. Called when no event waits: at most ten times per
        ``update_every`` (so that they go in few transactions), or at once again while due
        updates are left over from the last call."""
        if not len(self._waiting.slots) or self.update_every <= 0:
            return 0
        now = clock.monotonic()
        if not self._backlog and now - self._flushed < self.update_every / 10:
            return 0
        self._flushed = now
        due = self._waiting.due_count(self.writer.written_at, now, self.update_every)
        self._backlog = due > self.refresh_batch
        if not due:
            return 0
        self._write_now(np.empty(0, np.int64), {}, at or timezone.now())
        return int(sum(self.writer.last_counts.values()))


def quiet_queries() -> None:
    """The monitor process keeps no query log: with DEBUG on (as ``make run`` runs), Django's
    debug cursor timed, formatted and kept each of its thousands of queries a second (~5% of
    the monitor's time on the 1,000,000-account benchmark); the monitor serves no pages."""
    settings.DEBUG = False


def run_forever(
    poll: float = 0.02, *, update_every: float = UPDATE_EVERY, hold: float = 0.0
) -> None:
    """Load the arrays, full screen, then apply book events and ratio changes as they commit
    (looking at the outbox every ``poll`` seconds when idle: one indexed query). The
    scheduler's daily job runs a full screen too (``margincall.tasks``); this monitor sees it
    on the cursor row and reads the calls again. ``update_every`` and ``hold``: see
    ``LiveMonitor``."""
    from riskdesk.site.wal import start_checkpointer

    quiet_queries()
    monitor = LiveMonitor(update_every=update_every, hold=hold)
    start_checkpointer()
    log.warning("monitor: full screen of %d account(s)", monitor.full_screen(reload=False))
    failures = 0
    while True:
        try:
            n = monitor.process_events() + monitor.process_rescreens()
            if not n and not monitor.flush():
                monitor.check_snapshots(CHECKS_WHEN_IDLE)
            failures = 0
        except Exception:  # a database hiccup must not stop the monitor; the cursor holds
            log.exception("monitor: batch failed; retrying")
            n = 0
            failures += 1
            clock.sleep(max(poll, 2.0))
            if failures > 1:  # twice in a row: start again from the database
                try:
                    monitor.rebuild()
                except Exception:
                    log.exception("monitor: reload failed")
        if not n:
            clock.sleep(poll)
