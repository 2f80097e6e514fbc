"""Synthetic books for the benchmarks (fixed seeds), and the peers' inputs built from them.

``make_synthetic`` lays a book out directly as ``BookArrays`` (no Decimal objects, so a
10-million-position book takes seconds). ``sample_scenario`` turns a subset of its accounts
into a ``Scenario`` for the scalar reference; ``load_duckdb`` loads it into DuckDB tables.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

import numpy as np

from riskdesk.engine.arrays import BookArrays, client_groups, make_book, make_instruments
from riskdesk.engine.margin import MarginFactors
from riskdesk.engine.scenario import Account, Instrument, Scenario
from riskdesk.engine.stress import StressParams

CURRENCIES = ("HKD", "USD", "CNH")
FX = np.array([100_000_000, 781_234_567, 108_765_432], dtype=np.int64)  # ×10⁸
STATUSES = ("normal", "suspended", "long_suspended", "delisted")
KINDS = ("stock", "option")


class Ids(Sequence[str]):
    """Lazy ids ``prefix0000042`` (sorted order = index order)."""

    def __init__(self, prefix: str, n: int) -> None:
        self.prefix, self.n = prefix, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(self.n))]
        if not -self.n <= k < self.n:
            raise IndexError(k)
        return f"{self.prefix}{k % self.n:07d}"


@dataclass
class Synthetic:
    book: BookArrays
    haircut: np.ndarray  # ×10⁴
    raw_factors: np.ndarray  # (4, n) ×10⁴ before exclusion
    status: np.ndarray  # index into STATUSES
    kind: np.ndarray  # index into KINDS


def timed(fn, *args, repeat: int = 5, **kwargs):
    """(best seconds, median seconds, last result) over ``repeat`` runs."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), result


def make_synthetic(
    *,
    n_accounts: int,
    n_positions: int,
    n_instruments: int,
    n_clients: int,
    seed: int,
    debt: tuple[float, float] = (0.2, 1.1),
    reserved_instrument: int | None = None,
    debt_floor: int = 10**6,
) -> Synthetic:
    """A margin book: popular stocks held widely (Zipf-like), 5% options (multiplier 100),
    3% excluded statuses, 5% shorts, HKD debt of ``debt`` × long value + ``debt_floor`` cents,
    some USD/CNH cash.
    ``reserved_instrument`` is left out of every account (a bench adds its own holders)."""
    rng = np.random.default_rng(seed)
    n_i = n_instruments
    kind = (rng.random(n_i) < 0.05).astype(np.int8)  # 1 = option
    currency = rng.choice(3, size=n_i, p=[0.7, 0.25, 0.05]).astype(np.int32)
    price = np.exp(rng.uniform(np.log(0.2), np.log(800.0), n_i))
    price = np.where(kind == 1, price / 40, price)
    price6 = (np.round(price * 1000).astype(np.int64) + 1) * 1000  # 3 dp
    multiplier = np.where(kind == 1, 100, 1).astype(np.int64)
    status = rng.choice(4, size=n_i, p=[0.97, 0.01, 0.01, 0.01]).astype(np.int8)
    im = rng.choice(np.array([2500, 3000, 4000, 5000, 6000, 10000]), size=n_i)
    raw = np.stack([im, im - 500, im - 1000, im - 1500]).clip(0, 10000).astype(np.int64)
    haircut = rng.choice(np.array([1000, 1500, 2000, 3000, 5000, 10000]), size=n_i).astype(np.int64)
    level = rng.choice(3, size=n_i, p=[0.4, 0.3, 0.3]).astype(np.int8)  # 0 other
    instruments = make_instruments(
        codes=Ids("S", n_i),
        currency=currency,
        price=price6,
        multiplier=multiplier,
        fx=FX,
        factors=raw,
        excluded=(status >= 2),
        frr=np.where(kind == 1, 0, 10000 - haircut),
        level=level,
        code_rank=np.arange(n_i, dtype=np.int64),
    )
    # positions: counts per account, instruments by popularity, (account, instrument) unique
    avg = n_positions / n_accounts
    counts = rng.integers(1, int(2 * avg), size=n_accounts, endpoint=False)
    counts = np.maximum(1, np.round(counts * (n_positions / counts.sum()))).astype(np.int64)
    acc = np.repeat(np.arange(n_accounts, dtype=np.int64), counts)
    pop = 1.0 / (np.arange(n_i) + 20.0) ** 0.9
    if reserved_instrument is not None:
        pop[reserved_instrument] = 0
    perm = rng.permutation(n_i)
    instr = perm[np.searchsorted(np.cumsum(pop / pop.sum()), rng.random(len(acc)))]
    instr = np.minimum(instr, n_i - 1)
    if reserved_instrument is not None:
        instr = np.where(instr == reserved_instrument, (reserved_instrument + 1) % n_i, instr)
    key = np.sort(acc * n_i + instr, kind="stable")  # radix sort; then drop repeats
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    acc, instr = key // n_i, (key % n_i).astype(np.int32)
    lots = np.where(kind[instr] == 1, 1, 100)
    qty = (
        rng.integers(1, 50, size=len(acc)) * rng.choice([1, 1, 2, 5, 10, 40], size=len(acc))
    ) * lots
    qty = np.where(rng.random(len(acc)) < 0.05, -qty, qty).astype(np.int64)
    pos_offsets = np.zeros(n_accounts + 1, dtype=np.int64)
    np.cumsum(np.bincount(acc, minlength=n_accounts), out=pos_offsets[1:])
    # cash: HKD debt against the long value; 30% of accounts also hold USD or CNH
    mv = qty * (price6[instr] / 1e6) * multiplier[instr] * (FX[currency[instr]] / 1e8)
    long_value = np.add.reduceat(np.where(qty > 0, mv, 0.0), pos_offsets[:-1]) if len(acc) else 0
    long_value = np.where(np.diff(pos_offsets) > 0, long_value, 0.0)
    hkd = -np.round(long_value * 100 * rng.uniform(*debt, n_accounts)).astype(np.int64) - debt_floor
    extra = rng.random(n_accounts) < 0.3
    cash_counts = 1 + extra.astype(np.int64)
    cash_offsets = np.zeros(n_accounts + 1, dtype=np.int64)
    np.cumsum(cash_counts, out=cash_offsets[1:])
    cash_ccy = np.zeros(int(cash_offsets[-1]), dtype=np.int32)
    cash = np.zeros(int(cash_offsets[-1]), dtype=np.int64)
    cash[cash_offsets[:-1]] = hkd
    second = cash_offsets[:-1][extra] + 1
    cash_ccy[second] = rng.integers(1, 3, size=len(second))
    cash[second] = rng.integers(-(10**5), 10**5, size=len(second))  # keeps every client in debt
    # clients: the first n_clients accounts, then the rest spread over random clients
    account_client = np.concatenate(
        [
            np.arange(min(n_clients, n_accounts)),
            rng.integers(0, n_clients, size=max(0, n_accounts - n_clients)),
        ]
    ).astype(np.int64)
    client_offsets, client_accounts = client_groups(account_client, n_clients)
    has_limit = rng.random(n_accounts) < 0.5
    book = make_book(
        base_currency="HKD",
        currencies=CURRENCIES,
        fx=FX,
        instruments=instruments,
        account_ids=Ids("A", n_accounts),
        account_client=account_client,
        pos_offsets=pos_offsets,
        pos_instr=instr,
        pos_qty=qty,
        cash_offsets=cash_offsets,
        cash_ccy=cash_ccy,
        cash=cash,
        interest_receivable=rng.integers(0, 10**6, size=n_accounts).astype(np.int64),
        trading_credit=np.where(
            rng.random(n_accounts) < 0.2, rng.integers(0, 10**7, size=n_accounts), 0
        ).astype(np.int64),
        credit_limit=np.where(
            has_limit, -hkd // 2 + rng.integers(0, 10**8, size=n_accounts), 0
        ).astype(np.int64),
        has_credit_limit=has_limit,
        client_ids=Ids("C", n_clients),
        client_rank=np.arange(n_clients, dtype=np.int64),
        client_offsets=client_offsets,
        client_accounts=client_accounts,
    )
    return Synthetic(book, haircut, raw, status, kind)


def _dec(n: int, places: int) -> Decimal:
    return Decimal(int(n)).scaleb(-places)


def sample_scenario(
    syn: Synthetic, accounts: np.ndarray, stress: StressParams | None = None
) -> Scenario:
    """A Decimal ``Scenario`` holding the given accounts (all instruments) of the book."""
    b, ins = syn.book, syn.book.instruments
    instruments = tuple(
        Instrument(
            code=ins.codes[k],
            currency=CURRENCIES[int(ins.currency[k])],
            price=_dec(ins.price[k], 6),
            margin=MarginFactors(*(_dec(syn.raw_factors[j, k], 4) for j in range(4))),
            kind=KINDS[int(syn.kind[k])],
            status=STATUSES[int(syn.status[k])],
            haircut=_dec(syn.haircut[k], 4),
            level=int(ins.level[k]) or None,
            multiplier=int(ins.multiplier[k]),
        )
        for k in range(len(ins))
    )
    accs = []
    for a in accounts.tolist():
        lo, hi = b.pos_offsets[a], b.pos_offsets[a + 1]
        clo, chi = b.cash_offsets[a], b.cash_offsets[a + 1]
        cash: dict[str, Decimal] = {}
        for c, v in zip(b.cash_ccy[clo:chi].tolist(), b.cash[clo:chi].tolist(), strict=True):
            cash[CURRENCIES[c]] = cash.get(CURRENCIES[c], Decimal(0)) + _dec(v, 2)
        accs.append(
            Account(
                id=b.account_ids[a],
                client=b.client_ids[int(b.account_client[a])],
                cash=MappingProxyType(cash),
                positions=MappingProxyType(
                    {
                        ins.codes[i]: q
                        for i, q in zip(
                            b.pos_instr[lo:hi].tolist(), b.pos_qty[lo:hi].tolist(), strict=True
                        )
                    }
                ),
                interest_receivable=_dec(b.interest_receivable[a], 2),
                trading_credit=_dec(b.trading_credit[a], 2),
                credit_limit=_dec(b.credit_limit[a], 2) if b.has_credit_limit[a] else None,
            )
        )
    return Scenario(
        base_currency="HKD",
        fx=MappingProxyType(
            {c: _dec(f, 8) for c, f in zip(CURRENCIES[1:], FX[1:].tolist(), strict=True)}
        ),
        instruments=instruments,
        accounts=tuple(accs),
        stress=stress,
    )


def load_duckdb(syn: Synthetic):
    """A DuckDB connection with tables pos, ins, cash, fx, acct (exact integer columns)."""
    import duckdb

    b, ins = syn.book, syn.book.instruments
    con = duckdb.connect()
    n_pos = np.diff(b.pos_offsets)
    pos = {
        "acc": np.repeat(np.arange(b.n_accounts, dtype=np.int64), n_pos),
        "client": np.repeat(b.account_client, n_pos),
        "instr": b.pos_instr,
        "qty": b.pos_qty,
    }
    insd = {
        "instr": np.arange(len(ins), dtype=np.int32),
        "price": ins.price,
        "fx": FX[ins.currency],
        "mult": ins.multiplier,
        "im": ins.factors[0].copy(),
        "mcm": ins.factors[1].copy(),
        "mm": ins.factors[2].copy(),
        "fm": ins.factors[3].copy(),
        "excluded": ins.excluded,
        "frr": ins.frr,
        "level": ins.level.astype(np.int32),
        "code_rank": ins.code_rank,
    }
    n_cash = np.diff(b.cash_offsets)
    cashd = {
        "acc": np.repeat(np.arange(b.n_accounts, dtype=np.int64), n_cash),
        "client": np.repeat(b.account_client, n_cash),
        "fx": FX[b.cash_ccy],
        "amt": b.cash,
    }
    acct = {
        "acc": np.arange(b.n_accounts, dtype=np.int64),
        "ir": b.interest_receivable,
        "tc": b.trading_credit,
        "lim": b.credit_limit,
        "has_lim": b.has_credit_limit,
    }
    for name, data in (("pos", pos), ("ins0", insd), ("cash", cashd), ("acct", acct)):
        con.register(f"{name}_src", data)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_src")
        con.unregister(f"{name}_src")
    con.execute("CREATE TABLE ins AS SELECT *, price::HUGEINT * fx * mult AS u FROM ins0")
    return con


# ------------------------------------------------------------------ the synthetic book in a DB


def popular(syn: Synthetic, n: int = 500) -> np.ndarray:
    """The ``n`` most widely held instruments (they get short and intraday ratios)."""
    held = np.bincount(syn.book.pos_instr, minlength=len(syn.book.instruments))
    return np.argsort(-held, kind="stable")[:n]


def intraday_accounts(syn: Synthetic, *, share: float, seed: int) -> np.ndarray:
    """Which accounts are intraday-margin accounts (bool per account)."""
    return np.random.default_rng([seed, 3]).random(syn.book.n_accounts) < share


def monitor_cash(syn: Synthetic, *, in_call: float, seed: int, intraday: np.ndarray) -> np.ndarray:
    """HKD cash (cents) per account for a book with about ``in_call`` of its accounts below
    the maintenance level: each account's liquid net assets are set to a multiple of its
    maintenance requirement Σ |mv| × mm, 1.1-4× for most accounts and 0.6-1× for ``in_call``
    of them. mm is the factor ``write_db``'s ratios resolve to (MR-6), taking intraday longs at
    100% (out of session) so that the share holds at any hour: the stock's long ratio for a
    marginable stock, 0.40 short for the popular stocks, 100% otherwise (options, excluded,
    unmarginable). Float arithmetic: the figures are computed exactly later; only the share
    in call is approximate. The USD / CNH balances of the book are kept."""
    b, ins = syn.book, syn.book.instruments
    rng = np.random.default_rng(seed)
    acc = np.repeat(np.arange(b.n_accounts), np.diff(b.pos_offsets))
    unit = ins.price / 1e6 * ins.multiplier * (FX[ins.currency] / 1e8)
    mv = b.pos_qty * unit[b.pos_instr]
    marginable = (syn.raw_factors[0] < 10_000) & (syn.kind == 0) & ~ins.excluded
    long_mm = np.where(marginable, syn.raw_factors[2] / 1e4, 1.0)
    short_mm = np.ones(len(ins))
    short_mm[popular(syn)] = 0.40
    mm = np.where(b.pos_qty > 0, long_mm[b.pos_instr], short_mm[b.pos_instr])
    mm = np.where(ins.excluded[b.pos_instr] | ((b.pos_qty > 0) & intraday[acc]), 1.0, mm)
    need = np.bincount(acc, np.abs(mv) * mm, minlength=b.n_accounts)
    long_mv = np.bincount(acc, np.where(mv > 0, mv, 0.0), minlength=b.n_accounts)
    short_mv = np.bincount(acc, np.where(mv < 0, mv, 0.0), minlength=b.n_accounts)
    excl = ins.excluded[b.pos_instr] & (mv > 0)
    excluded_mv = np.bincount(acc, np.where(excl, mv, 0.0), minlength=b.n_accounts)
    calls = rng.random(b.n_accounts) < in_call
    lna = need * np.where(
        calls, rng.uniform(0.6, 1.0, b.n_accounts), rng.uniform(1.1, 4.0, b.n_accounts)
    )
    cash_acc = np.repeat(np.arange(b.n_accounts), np.diff(b.cash_offsets))
    other = np.where(b.cash_ccy > 0, b.cash * (FX[b.cash_ccy] / 1e8), 0.0)
    other = np.bincount(cash_acc, other, minlength=b.n_accounts)
    base = lna + excluded_mv - long_mv - short_mv
    return np.round(base * 100 - other).astype(np.int64)


def write_db(
    syn: Synthetic,
    hkd_cents: np.ndarray,
    *,
    intraday: np.ndarray,
    progress=print,
) -> dict[str, int]:
    """Write the synthetic book into the (migrated, empty) Django database as a broker's book:
    clients, margin and intraday accounts, instruments with prices (options with their terms),
    FX rates, cash balances, positions, long ratios for marginable stocks, short ratios and
    intraday ratios for the 500 most held, and the intraday rules. Bulk inserts (executemany on
    SQLite, COPY on PostgreSQL) through the demo generator's writer; no ledger entries (the
    monitor reads balances and positions, not how they arose)."""
    from datetime import date
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from riskdesk.approvals.governed import seeding
    from riskdesk.book.models import (
        Account,
        CashBalance,
        Client,
        FxRate,
        Instrument,
        Position,
        Price,
    )
    from riskdesk.demo.generator import _Sink
    from riskdesk.margin.models import IntradayMargin, IntradayRule, ShortMargin, StockMargin

    b, ins = syn.book, syn.book.instruments
    now = timezone.now().replace(microsecond=0)
    sink = _Sink(now)
    n_i, n_a = len(ins), b.n_accounts
    markets = ("HK", "US", "CN")
    widely_held = popular(syn)
    with sink.bulk_mode(), transaction.atomic():
        for k, ccy in enumerate(CURRENCIES[1:], start=1):
            FxRate.objects.update_or_create(
                currency=ccy, defaults={"rate": Decimal(int(FX[k])).scaleb(-8), "as_of": now}
            )
        inst_ids = np.array(sink._ids(Instrument, n_i), dtype=np.int64)
        underlying = int(inst_ids[int(np.argmax((syn.kind == 0) & ~ins.excluded))])
        rows = []
        for k in range(n_i):
            option = syn.kind[k] == 1
            rows.append(
                (
                    int(inst_ids[k]), ins.codes[k], f"Synthetic {ins.codes[k]}",
                    markets[int(ins.currency[k])], "option" if option else "stock",
                    CURRENCIES[int(ins.currency[k])], 1 if option else 100,
                    STATUSES[int(syn.status[k])], int(ins.multiplier[k]),
                    underlying if option else None,
                    f"{ins.price[k] / 1e6:.6f}" if option else None,
                    date(2027, 6, 30).isoformat() if option else None,
                    "call" if option else "",
                )
            )  # fmt: skip
        sink.insert(
            Instrument,
            ["id", "code", "name", "market", "kind", "currency", "lot_size", "status",
             "multiplier", "underlying_id", "strike", "expiry", "option_type"],
            rows,
        )  # fmt: skip
        sink.insert(
            Price,
            ["instrument_id", "last", "as_of"],
            (
                (
                    int(inst_ids[k]),
                    f"{int(ins.price[k]) // 10**6}.{int(ins.price[k]) % 10**6:06d}",
                    sink.now,
                )
                for k in range(n_i)
            ),
        )
        progress(f"  {n_i:,} instruments")
        client_ids = np.array(sink._ids(Client, b.n_clients), dtype=np.int64)
        sink.insert(
            Client,
            ["id", "code", "name", "created_at"],
            (
                (int(client_ids[c]), b.client_ids[c], f"Client {c}", sink.now)
                for c in range(b.n_clients)
            ),
        )
        acc_ids = np.array(sink._ids(Account, n_a), dtype=np.int64)
        kinds = np.where(intraday, "intraday", "margin")
        sink.insert(
            Account,
            ["id", "number", "client_id", "type", "status", "interest_receivable", "opened_at"],
            (
                (int(acc_ids[a]), b.account_ids[a], int(client_ids[b.account_client[a]]),
                 str(kinds[a]), "active", _dec_text(int(b.interest_receivable[a])), sink.now)
                for a in range(n_a)
            ),
        )  # fmt: skip
        progress(f"  {b.n_clients:,} clients, {n_a:,} accounts")
        # cash: the book's USD / CNH balances, HKD set by ``hkd_cents``
        cash_acc = np.repeat(np.arange(n_a), np.diff(b.cash_offsets))
        keep = b.cash_ccy > 0
        acc_c = np.concatenate([np.arange(n_a), cash_acc[keep]])
        ccy_c = np.concatenate([np.zeros(n_a, np.int64), b.cash_ccy[keep]])
        amt_c = np.concatenate([hkd_cents, b.cash[keep]])
        order = np.lexsort((ccy_c, acc_c))
        acc_c, ccy_c, amt_c = acc_c[order], ccy_c[order], amt_c[order]
        first = np.ones(len(acc_c), dtype=np.bool_)
        first[1:] = (acc_c[1:] != acc_c[:-1]) | (ccy_c[1:] != ccy_c[:-1])
        sink.insert(
            CashBalance,
            ["id", "account_id", "currency", "balance"],
            zip(
                sink._ids(CashBalance, int(first.sum())),
                acc_ids[acc_c[first]].tolist(),
                [CURRENCIES[c] for c in ccy_c[first].tolist()],
                [_dec_text(v) for v in amt_c[first].tolist()],
                strict=True,
            ),
        )
        progress(f"  {int(first.sum()):,} cash balances")
        n_pos = len(b.pos_qty)
        pos_acc = np.repeat(np.arange(n_a), np.diff(b.pos_offsets))
        sink.insert(
            Position,
            ["id", "account_id", "instrument_id", "quantity"],
            zip(
                sink._ids(Position, n_pos),
                acc_ids[pos_acc].tolist(),
                inst_ids[b.pos_instr].tolist(),
                b.pos_qty.tolist(),
                strict=True,
            ),
        )
        progress(f"  {n_pos:,} positions")

        def factors(k, raw):
            return {
                n: Decimal(int(raw[j])).scaleb(-4) for j, n in enumerate(("im", "mcm", "mm", "fm"))
            }

        with seeding("benchmark"):
            marginable = [
                k for k in range(n_i) if syn.raw_factors[0, k] < 10_000 and syn.kind[k] == 0
            ]
            StockMargin.objects.bulk_create(
                [StockMargin(instrument_id=int(inst_ids[k]), **factors(k, syn.raw_factors[:, k]))
                 for k in marginable],
                batch_size=2000,
            )  # fmt: skip
            short = np.array([5000, 4500, 4000, 3500])
            intraday_ratio = np.array([2000, 1500, 1200, 1000])
            ShortMargin.objects.bulk_create(
                [
                    ShortMargin(instrument_id=int(inst_ids[k]), **factors(k, short))
                    for k in widely_held
                ],
                batch_size=2000,
            )
            IntradayMargin.objects.bulk_create(
                [
                    IntradayMargin(instrument_id=int(inst_ids[k]), **factors(k, intraday_ratio))
                    for k in widely_held
                ],
                batch_size=2000,
            )
            for market in ("HK", "US"):
                IntradayRule.objects.update_or_create(
                    market=market, defaults={"starts_after_open": 0, "ends_before_close": 30}
                )
        sink.reset_sequences()
    sink.analyze()
    return {"instruments": n_i, "accounts": n_a, "positions": n_pos}


def _dec_text(cents: int) -> str:
    a = -cents if cents < 0 else cents
    return f"{'-' if cents < 0 else ''}{a // 100}.{a % 100:02d}"
