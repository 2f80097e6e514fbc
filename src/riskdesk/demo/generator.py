"""Build a plausible Hong Kong broker in an empty book, fast enough for a million clients.

The demo book is one opening event (``BookEvent`` of kind ``opening``, key
``demo-opening-<seed>``): every cash balance has exactly one opening ``CashEntry`` and every
position exactly one ``PositionEntry`` linked to it, so balance = sum of entries holds from the
first second (PL-1). Rows are written in bulk (``executemany`` on SQLite, ``COPY`` on
PostgreSQL) in ONE transaction: either the whole demo is there or nothing is.

Everything is drawn from numpy generators seeded with ``seed`` (one stream for the
instruments, one per chunk of clients), so a seed gives the same book; timestamps and option
expiries are relative to now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    CashEntry,
    Client,
    FxRate,
    Instrument,
    Position,
    PositionEntry,
    Price,
)
from riskdesk.demo.people import make_people
from riskdesk.demo.ticks import MICRO, micro_str, round_to_tick_array
from riskdesk.demo.universe import CURRENCIES, FX_FLOAT, FX_RATES, Universe, build_universe

CHUNK = 50_000  # clients generated and written per step; part of what a seed means
Progress = Callable[[str, int, int], None]  # (description, clients done, clients in total)

CASH, MARGIN, INTRADAY = 0, 1, 2
ACCOUNT_TYPES = ("cash", "margin", "intraday")
TYPE_LETTER = ("C", "M", "I")


class DemoError(Exception):
    """The demo cannot be built (the book is not empty, or a bad argument)."""


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    event_key: str
    event_id: int
    clients: int
    accounts: int
    instruments: int
    options: int
    prices: int
    fx_rates: int
    cash_balances: int
    cash_entries: int
    positions: int
    position_entries: int
    seconds: float

    def rows(self) -> dict[str, int]:
        """Row counts per table, for printing."""
        return {
            k: v
            for k, v in asdict(self).items()
            if k not in {"seed", "event_key", "event_id", "seconds", "options"}
        }


def book_contents() -> dict[str, int]:
    """What already sits in the book; the demo only goes into an empty one."""
    found = {
        "clients": Client.objects.count(),
        "accounts": Account.objects.count(),
        "instruments": Instrument.objects.count(),
        "cash entries": CashEntry.objects.count(),
        "position entries": PositionEntry.objects.count(),
    }
    return {k: v for k, v in found.items() if v}


def ensure_empty_book() -> None:
    found = book_contents()
    if found:
        what = ", ".join(f"{v:,} {k}" for k, v in found.items())
        raise DemoError(
            f"the book is not empty ({what}); the demo broker is only built into an empty "
            "database: point RISKDESK_HOME or DATABASE_URL at a new one"
        )


def build_demo(*, clients: int, seed: int, progress: Progress | None = None) -> DemoSummary:
    """Write a demo broker with ``clients`` clients into an empty book; refuse a non-empty one.

    ``progress(description, clients_done, clients_total)`` is called as chunks are written.
    """
    if clients < 1:
        raise DemoError("clients must be at least 1")
    ensure_empty_book()
    started = time.perf_counter()
    report = progress or (lambda *_: None)
    now = timezone.now().replace(microsecond=0)
    key = f"demo-opening-{seed}"
    if BookEvent.objects.filter(key=key).exists():
        raise DemoError(f"an event with key {key} already exists")
    report("Instruments", 0, clients)
    universe = build_universe(np.random.default_rng([seed, 0]), today=timezone.localdate(now))
    sink = _Sink(now)
    counts = dict.fromkeys(
        ["clients", "accounts", "cash_balances", "cash_entries", "positions", "position_entries"], 0
    )
    with sink.bulk_mode(), transaction.atomic():
        ensure_empty_book()  # again, now that this transaction holds the write lock
        event = BookEvent.objects.create(
            key=key,
            kind=BookEvent.Kind.OPENING,
            payload={"source": "riskdesk demo", "seed": seed, "clients": clients, "fx": FX_RATES},
            created_at=now,
        )
        for currency, rate in FX_RATES.items():
            FxRate.objects.update_or_create(
                currency=currency, defaults={"rate": rate, "as_of": now}
            )
        inst_ids = sink.write_instruments(universe)
        gen = _ChunkGenerator(universe, now.timestamp())
        for number, first in enumerate(range(0, clients, CHUNK)):
            n = min(CHUNK, clients - first)
            rng = np.random.default_rng([seed, 1, number])
            chunk = gen.generate(rng, first, n, forced=number == 0)
            for name, value in sink.write_chunk(chunk, inst_ids, event.id).items():
                counts[name] += value
            report("Clients and accounts", first + n, clients)
        report("Finishing", clients, clients)
        n_options = sum(1 for k in universe.kinds if k == "option")
        summary_counts = {
            **counts,
            "instruments": len(universe),
            "options": n_options,
            "prices": len(universe),
            "fx_rates": len(FX_RATES),
        }
        event.result = summary_counts
        event.save(update_fields=["result"])
        sink.reset_sequences()
    sink.analyze()
    return DemoSummary(
        seed=seed,
        event_key=key,
        event_id=event.id,
        seconds=round(time.perf_counter() - started, 1),
        **summary_counts,
    )


# --- generation -------------------------------------------------------------------------------


@dataclass
class Chunk:
    # clients
    numbers: np.ndarray  # 1-based client numbers
    names: list[str]
    languages: list[str]
    emails: list[str]
    phones: list[str]
    client_created: np.ndarray  # unix seconds
    # accounts (owner is an index into the chunk's clients)
    owner: np.ndarray
    acc_type: np.ndarray
    closed: np.ndarray
    opened: np.ndarray
    interest_cents: np.ndarray
    # cash balances (acc is an index into the chunk's accounts)
    bal_acc: np.ndarray
    bal_cur: np.ndarray
    bal_cents: np.ndarray
    # positions
    pos_acc: np.ndarray
    pos_inst: np.ndarray  # index into the universe
    pos_qty: np.ndarray
    pos_cost: np.ndarray  # micro-units


class _ChunkGenerator:
    def __init__(self, universe: Universe, now_ts: float):
        self.u = universe
        self.a = universe.arrays()
        self.now_ts = now_ts
        a = self.a
        stock = ~a["option"]
        self.stock_idx = np.flatnonzero(stock)
        w = a["weight"][stock]
        # Share of holdings by market: HK 65%, US 28%, China Connect 7%.
        share = {"HK": 0.65, "US": 0.28, "CN": 0.07}
        markets = a["market"][stock]
        for m, s in share.items():
            sel = markets == m
            w = np.where(sel, w / w[sel].sum() * s, w)
        self.stock_p = w / w.sum()
        shortable = stock & a["normal"] & (a["weight"] >= 2)
        self.short_idx = np.flatnonzero(shortable)
        self.short_p = a["weight"][shortable] / a["weight"][shortable].sum()
        self.option_idx = np.flatnonzero(a["option"])
        calls = np.array([t == "call" for t in universe.option_type])
        self.call_idx = np.flatnonzero(calls)
        status = a["status"]
        self.special = {
            s: np.flatnonzero((status == s) & stock)
            for s in ("suspended", "long_suspended", "delisted")
        }

    def generate(self, rng: np.random.Generator, first: int, n: int, *, forced: bool) -> Chunk:
        a = self.a
        numbers = np.arange(first + 1, first + n + 1, dtype=np.int64)
        names, languages, emails, phones = make_people(rng, numbers)

        # Accounts: ~15% of clients have a second account of another type.
        two = rng.random(n) < 0.15
        per = 1 + two.astype(np.int64)
        owner = np.repeat(np.arange(n), per)
        n_acc = len(owner)
        first_type = rng.choice(3, size=n, p=[0.46, 0.46, 0.08])
        u2 = rng.random(n)
        second_type = np.where(
            first_type == CASH,
            np.where(u2 < 0.8, MARGIN, INTRADAY),
            np.where(
                first_type == MARGIN,
                np.where(u2 < 0.7, CASH, INTRADAY),
                np.where(u2 < 0.5, CASH, MARGIN),
            ),
        )
        first_pos = np.cumsum(per) - per
        acc_type = np.empty(n_acc, dtype=np.int64)
        acc_type[first_pos] = first_type
        acc_type[first_pos[two] + 1] = second_type[two]
        closed = rng.random(n_acc) < 0.015
        active = ~closed

        client_age = rng.uniform(30, 3650, n) * 86400
        client_created = (self.now_ts - client_age).astype(np.int64)
        opened = client_created[owner].copy()
        later = rng.uniform(0, 1, n_acc) * client_age[owner]
        second_mask = np.zeros(n_acc, dtype=bool)
        second_mask[first_pos[two] + 1] = True
        opened[second_mask] = (client_created[owner] + later).astype(np.int64)[second_mask]

        margin = active & (acc_type == MARGIN)
        intraday = active & (acc_type == INTRADAY)
        r = rng.random(n_acc)
        debtor = (margin & (r < 0.6)) | (intraday & (r < 0.4))
        deep = margin & debtor & (rng.random(n_acc) < 0.06)
        shorter = margin & ~deep & (rng.random(n_acc) < 0.10)
        opt_long = (
            active & (acc_type != INTRADAY) & (rng.random(n_acc) < np.where(margin, 0.07, 0.03))
        )
        short_call = margin & ~deep & (rng.random(n_acc) < 0.02)

        forced_acc: list[int] = []
        forced_inst: list[int] = []
        forced_qty: list[int] = []
        if forced:
            # A small demo still shows every case a risk officer looks for.
            m = np.flatnonzero(margin)
            if len(m) >= 4:
                debtor[m[0]] = deep[m[0]] = True
                shorter[m[1]] = True
                deep[m[1]] = False
                for k, status in enumerate(("suspended", "long_suspended", "delisted")):
                    if len(self.special[status]):
                        inst = int(self.special[status][k % len(self.special[status])])
                        forced_acc.append(int(m[2]))
                        forced_inst.append(inst)
                        forced_qty.append(int(a["lot"][inst]) * 10)
                short_call[m[3]] = True
                deep[m[3]] = False
            c = np.flatnonzero(active & (acc_type == CASH))
            if len(c):
                opt_long[c[0]] = True

        # Long stock positions.
        cnt = np.select(
            [acc_type == CASH, acc_type == MARGIN],
            [
                np.where(rng.random(n_acc) < 0.15, 0, np.minimum(rng.geometric(0.4, n_acc), 12)),
                np.where(rng.random(n_acc) < 0.08, 0, np.minimum(rng.geometric(0.33, n_acc), 15)),
            ],
            np.where(rng.random(n_acc) < 0.3, 0, np.minimum(rng.geometric(0.5, n_acc), 6)),
        )
        cnt = np.where(debtor, np.maximum(cnt, 1), cnt)
        cnt = np.where(closed, 0, cnt)
        long_acc = np.repeat(np.arange(n_acc), cnt)
        long_inst = rng.choice(self.stock_idx, size=len(long_acc), p=self.stock_p)
        median = np.array([40_000.0, 90_000.0, 60_000.0])[acc_type[long_acc]]
        target = np.exp(rng.normal(np.log(median), 1.1)).clip(1_000, 30_000_000)
        lot_hkd = a["unit_hkd"][long_inst] * a["lot"][long_inst]
        long_qty = np.maximum(1, np.rint(target / lot_hkd)).astype(np.int64) * a["lot"][long_inst]

        # Short stock positions (margin accounts only), options long and short.
        n_short = np.where(shorter, 1 + (rng.random(n_acc) < 0.3), 0)
        short_acc = np.repeat(np.arange(n_acc), n_short)
        short_inst = rng.choice(self.short_idx, size=len(short_acc), p=self.short_p)
        target = np.exp(rng.normal(np.log(60_000), 0.9, len(short_acc))).clip(5_000, 5_000_000)
        lot_hkd = a["unit_hkd"][short_inst] * a["lot"][short_inst]
        short_qty = (
            -np.maximum(1, np.rint(target / lot_hkd)).astype(np.int64) * a["lot"][short_inst]
        )
        ol_acc = np.flatnonzero(opt_long)
        ol_inst = rng.choice(self.option_idx, size=len(ol_acc))
        ol_qty = rng.integers(1, 11, len(ol_acc))
        sc_acc = np.flatnonzero(short_call)
        sc_inst = rng.choice(self.call_idx, size=len(sc_acc))
        sc_qty = -rng.integers(1, 6, len(sc_acc))

        # The first occurrence of an (account, instrument) pair wins, so forced rows and
        # shorts survive a clash with a random long.
        pos_acc = np.concatenate(
            [np.array(forced_acc, dtype=np.int64), short_acc, sc_acc, ol_acc, long_acc]
        )
        pos_inst = np.concatenate(
            [np.array(forced_inst, dtype=np.int64), short_inst, sc_inst, ol_inst, long_inst]
        )
        pos_qty = np.concatenate(
            [np.array(forced_qty, dtype=np.int64), short_qty, sc_qty, ol_qty, long_qty]
        )
        _, keep = np.unique(pos_acc * len(self.u) + pos_inst, return_index=True)
        pos_acc, pos_inst, pos_qty = pos_acc[keep], pos_inst[keep], pos_qty[keep]
        pos_cost = self._cost(rng, pos_inst)

        bal_cents, interest = self._cash(
            rng, n_acc, acc_type, active, debtor, deep, margin, pos_acc, pos_inst, pos_qty
        )
        has_row = active[:, None] & ((bal_cents != 0) | (np.arange(3) == 0)[None, :])
        bal_acc, bal_cur = np.nonzero(has_row)
        return Chunk(
            numbers=numbers,
            names=names,
            languages=languages,
            emails=emails,
            phones=phones,
            client_created=client_created,
            owner=owner,
            acc_type=acc_type,
            closed=closed,
            opened=opened,
            interest_cents=interest,
            bal_acc=bal_acc,
            bal_cur=bal_cur,
            bal_cents=bal_cents[bal_acc, bal_cur],
            pos_acc=pos_acc,
            pos_inst=pos_inst,
            pos_qty=pos_qty,
            pos_cost=pos_cost,
        )

    def _cost(self, rng: np.random.Generator, inst: np.ndarray) -> np.ndarray:
        """Average cost per share or contract: the last price moved by a random past return."""
        a = self.a
        raw = (a["price"][inst] * np.exp(rng.normal(0.0, 0.2, len(inst)))).astype(np.int64)
        cost = np.empty_like(raw)
        for market in ("HK", "US", "CN"):
            for is_option in (False, True):
                sel = (a["market"][inst] == market) & (a["option"][inst] == is_option)
                if sel.any():
                    cost[sel] = round_to_tick_array(
                        market, "option" if is_option else "stock", raw[sel]
                    )
        return cost

    def _cash(self, rng, n_acc, acc_type, active, debtor, deep, margin, pos_acc, pos_inst, pos_qty):
        """Balances per account and currency in cents, and interest receivable in cents."""
        a = self.a
        native = pos_qty * (a["price"][pos_inst] / MICRO) * a["multiplier"][pos_inst]
        slot = pos_acc * 3 + a["currency"][pos_inst]
        long_mv = np.bincount(slot, np.where(native > 0, native, 0), minlength=n_acc * 3).reshape(
            n_acc, 3
        )
        short_mv = np.bincount(slot, np.where(native < 0, -native, 0), minlength=n_acc * 3).reshape(
            n_acc, 3
        )
        long_hkd = long_mv @ FX_FLOAT

        # Free cash: everyone who is not a debtor; more for accounts without positions.
        idle = long_hkd == 0
        scale = np.where(acc_type == CASH, 1.0, 2.0) * np.where(idle, 3.0, 1.0)
        bal = np.zeros((n_acc, 3))
        bal[:, 0] = np.exp(rng.normal(np.log(30_000), 1.4, n_acc)) * scale
        has_usd = (long_mv[:, 1] > 0) | (rng.random(n_acc) < 0.08)
        has_cnh = (long_mv[:, 2] > 0) | (rng.random(n_acc) < 0.04)
        bal[:, 1] = np.where(has_usd, np.exp(rng.normal(np.log(3_000), 1.3, n_acc)) * scale, 0)
        bal[:, 2] = np.where(has_cnh, np.exp(rng.normal(np.log(20_000), 1.2, n_acc)) * scale, 0)

        # Debtors borrow a loan-to-value of their long market value, in HKD or in the
        # currency of the stocks bought; deep debtors owe about as much as the collateral.
        ltv = np.where(
            deep,
            rng.uniform(0.85, 1.3, n_acc),
            np.where(margin, rng.beta(2, 4, n_acc) * 0.85, rng.beta(2, 6, n_acc) * 0.6),
        )
        native_loan = np.column_stack(
            [np.zeros(n_acc, dtype=bool), rng.random(n_acc) < 0.5, rng.random(n_acc) < 0.3]
        )
        debt = np.where(native_loan, -ltv[:, None] * long_mv, 0.0)
        debt[:, 0] = -(ltv * long_hkd + debt[:, 1:] @ FX_FLOAT[1:])
        bal = np.where(debtor[:, None], debt, bal)
        bal += short_mv  # short-sale proceeds are credited in the stock's currency
        bal = np.where(active[:, None], bal, 0.0)
        cents = np.rint(bal * 100).astype(np.int64)
        if (cents[acc_type == CASH] < 0).any():  # pragma: no cover - guarded by construction
            raise DemoError("internal error: a cash account would go negative")

        days = rng.integers(1, 31, n_acc)
        accrues = debtor & margin & (rng.random(n_acc) < 0.08)
        interest = np.where(accrues, np.rint(ltv * long_hkd * 0.068 * days / 365 * 100), 0).astype(
            np.int64
        )
        return cents, interest


# --- writing ----------------------------------------------------------------------------------


def _cents_str(values: Iterable[int]) -> list[str]:
    return [f"{c / 100:.2f}" for c in values]


class _Sink:
    """Bulk writer: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, ids assigned here."""

    def __init__(self, now: datetime):
        connection.ensure_connection()
        self.vendor = connection.vendor
        self.now_ts = int(now.timestamp())
        self.now = self._ts(np.array([self.now_ts]))[0]
        self.next_id: dict[type[models.Model], int] = {}

    # SQLite: a large page cache keeps the index B-trees in memory during the load.
    @contextmanager
    def bulk_mode(self) -> Iterator[None]:
        if self.vendor != "sqlite":
            yield
            return
        with connection.cursor() as cur:
            cur.execute("PRAGMA cache_size")
            previous = cur.fetchone()[0]
            cur.execute("PRAGMA cache_size = -1048576")  # 1 GiB
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute(f"PRAGMA cache_size = {int(previous)}")

    def analyze(self) -> None:
        """Fresh planner statistics for the tables that just grew (sampled, a few seconds)."""
        tables = [
            m._meta.db_table
            for m in (Client, Account, CashBalance, CashEntry, Position, PositionEntry)
        ]
        with connection.cursor() as cur:
            if self.vendor == "sqlite":
                cur.execute("PRAGMA analysis_limit = 1000")
                for t in tables:
                    cur.execute(f'ANALYZE "{t}"')
            elif self.vendor == "postgresql":
                for t in tables:
                    cur.execute(f'ANALYZE "{t}"')

    def _ts(self, seconds: np.ndarray) -> list[str]:
        text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        if self.vendor == "sqlite":  # Django keeps naive UTC text in SQLite
            return [t.replace("T", " ") for t in text.tolist()]
        return [t + "+00:00" for t in text.tolist()]

    def _ids(self, model: type[models.Model], n: int) -> range:
        if model not in self.next_id:
            top = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
            self.next_id[model] = top + 1
        start = self.next_id[model]
        self.next_id[model] = start + n
        return range(start, start + n)

    def insert(self, model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> None:
        """Insert ``rows`` (values for ``fields``, ready for the database); every other concrete
        field gets its model default, so a field added later with a default does not break this."""
        meta = model._meta
        by_name = {f.name: f for f in meta.concrete_fields} | {
            f.attname: f for f in meta.concrete_fields
        }
        given = [by_name[f] for f in fields]
        others = [f for f in meta.concrete_fields if f not in given]
        extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
        columns = [f.column for f in given + others]
        if extra:
            rows = (row + extra for row in rows)
        qn = connection.ops.quote_name
        table = qn(meta.db_table)
        cols = ", ".join(qn(c) for c in columns)
        if self.vendor == "postgresql":
            with (
                connection.cursor() as cur,
                cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        elif self.vendor == "sqlite":
            marks = ", ".join("?" for _ in columns)
            connection.connection.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows
            )
        else:
            with connection.cursor() as cur:
                marks = ", ".join("%s" for _ in columns)
                batch = list(rows)
                for i in range(0, len(batch), 10_000):
                    cur.executemany(
                        f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch[i : i + 10_000]
                    )

    def write_instruments(self, u: Universe) -> np.ndarray:
        ids = np.array(self._ids(Instrument, len(u)), dtype=np.int64)
        rows = []
        for i in range(len(u)):
            und = u.underlying[i]
            rows.append(
                (
                    int(ids[i]),
                    u.codes[i],
                    u.names[i],
                    u.markets[i],
                    u.kinds[i],
                    CURRENCIES[u.currency[i]],
                    u.lot[i],
                    u.statuses[i],
                    u.multiplier[i],
                    int(ids[und]) if und is not None else None,
                    micro_str(u.strike[i]) if u.strike[i] is not None else None,
                    u.expiry[i].isoformat() if u.expiry[i] is not None else None,
                    u.option_type[i],
                )
            )
        fields = ["id", "code", "name", "market", "kind", "currency", "lot_size", "status"]
        fields += ["multiplier", "underlying_id", "strike", "expiry", "option_type"]
        self.insert(Instrument, fields, rows)
        # Suspended and delisted names keep the price of their last trading day.
        as_of = self._ts(self.now_ts - np.array(u.stale_days, dtype=np.int64) * 86400)
        prices = [
            (int(ids[i]), micro_str(u.price[i]), micro_str(u.prev_close[i]), as_of[i])
            for i in range(len(u))
        ]
        self.insert(Price, ["instrument_id", "last", "prev_close", "as_of"], prices)
        return ids

    def write_chunk(self, c: Chunk, inst_ids: np.ndarray, event_id: int) -> dict[str, int]:
        n, n_acc = len(c.numbers), len(c.owner)
        client_ids = np.array(self._ids(Client, n), dtype=np.int64)
        codes = [f"C{k:07d}" for k in c.numbers.tolist()]
        self.insert(
            Client,
            ["id", "code", "name", "language", "email", "phone", "created_at"],
            zip(
                client_ids.tolist(),
                codes,
                c.names,
                c.languages,
                c.emails,
                c.phones,
                self._ts(c.client_created),
                strict=True,
            ),
        )

        acc_ids = np.array(self._ids(Account, n_acc), dtype=np.int64)
        numbers = c.numbers[c.owner].tolist()
        letters = [TYPE_LETTER[t] for t in c.acc_type.tolist()]
        self.insert(
            Account,
            ["id", "number", "client_id", "type", "status", "interest_receivable", "opened_at"],
            zip(
                acc_ids.tolist(),
                [f"{k:07d}-{t}" for k, t in zip(numbers, letters, strict=True)],
                client_ids[c.owner].tolist(),
                [ACCOUNT_TYPES[t] for t in c.acc_type.tolist()],
                ["closed" if x else "active" for x in c.closed.tolist()],
                _cents_str(c.interest_cents.tolist()),
                self._ts(c.opened),
                strict=True,
            ),
        )

        n_bal = len(c.bal_acc)
        bal_account = acc_ids[c.bal_acc].tolist()
        currencies = [CURRENCIES[k] for k in c.bal_cur.tolist()]
        amounts = _cents_str(c.bal_cents.tolist())
        self.insert(
            CashBalance,
            ["id", "account_id", "currency", "balance"],
            zip(self._ids(CashBalance, n_bal), bal_account, currencies, amounts, strict=True),
        )
        self.insert(
            CashEntry,
            ["id", "account_id", "currency", "amount", "kind", "event_id", "note", "created_at"],
            (
                (i, acc, cur, amt, "opening", event_id, "opening balance", self.now)
                for i, acc, cur, amt in zip(
                    self._ids(CashEntry, n_bal), bal_account, currencies, amounts, strict=True
                )
            ),
        )

        n_pos = len(c.pos_acc)
        pos_account = acc_ids[c.pos_acc].tolist()
        pos_inst = inst_ids[c.pos_inst].tolist()
        qty = c.pos_qty.tolist()
        self.insert(
            Position,
            ["id", "account_id", "instrument_id", "quantity"],
            zip(self._ids(Position, n_pos), pos_account, pos_inst, qty, strict=True),
        )
        cost = [micro_str(p) for p in c.pos_cost.tolist()]
        self.insert(
            PositionEntry,
            ["id", "account_id", "instrument_id", "quantity", "price", "event_id", "created_at"],
            (
                (i, acc, inst, q, p, event_id, self.now)
                for i, acc, inst, q, p in zip(
                    self._ids(PositionEntry, n_pos), pos_account, pos_inst, qty, cost, strict=True
                )
            ),
        )
        return {
            "clients": n,
            "accounts": n_acc,
            "cash_balances": n_bal,
            "cash_entries": n_bal,
            "positions": n_pos,
            "position_entries": n_pos,
        }

    def reset_sequences(self) -> None:
        """PostgreSQL: move the id sequences past the ids written here (SQLite needs nothing)."""
        sql = connection.ops.sequence_reset_sql(
            no_style(),
            [Client, Account, Instrument, CashBalance, CashEntry, Position, PositionEntry],
        )
        with connection.cursor() as cur:
            for statement in sql:
                cur.execute(statement)
