"""The risk monitor under a price feed (MC-1, issue 6 item 7): ticks/s sustained and the
latency from a price event's commit to the commit of the margin-call state it causes.

Book: 1,000,000 margin and intraday accounts (``--accounts``), 10 positions each on average,
20,000 instruments held Zipf-like (benchmarks/synthetic.py; per-position ratios: long, short and
intraday ratios, 100% for the unmarginable), about 2% of accounts below maintenance
(``--in-call``), written into a SQLite file with bulk inserts; or the ``riskdesk demo`` broker
(``--book demo --accounts`` = clients). The book is built once and kept (``--db``, default
under $RISKDESK_HOME or a temp dir), with its first full screen done, and every run starts from
a copy of it.

Measured: the monitor (``riskdesk.margincall.live.LiveMonitor``, the ``riskdesk monitor``
loop) runs in its own process: it loads the book into arrays and full-screens it (a restart:
only what differs is written), then applies book events as they commit. This process posts
``price_update`` events through ``book.services.post_event`` at ``--rate`` ticks/s,
``--per-event`` ticks each (a feed batches), on instruments drawn in proportion to how widely
they are held (liquid names tick more), for ``--seconds``. Latency of an event = commit of the
monitor transaction that wrote its state (calls opened, escalated, de-escalated, ended, with
their events and snapshots, and the cursor) − return of ``post_event`` (its commit). Target:
p99 < 50 ms at 1,000 ticks/s. The refreshes of open calls' figures that the monitor spaces
(``--update-every``, default 5 s as ``riskdesk monitor``) are reported apart, as their staleness.

Peer (same process, same events): the scalar monitor (``margincall.monitor``): holders from the
database, then ``account_risk`` (Decimal) per touched account, timed on a sample of the run's
events and their accounts and scaled to all the accounts each event touches. Before the ratio
is printed, the calls the monitor wrote are checked against ``account_risk`` on a sample of
accounts (in call ⇔ alert ≠ none, every figure equal).

    .venv/bin/python benchmarks/bench_monitor.py                        # 1M accounts, 30 s
    .venv/bin/python benchmarks/bench_monitor.py --accounts 20000 --seconds 10   # quick
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--accounts", type=int, default=1_000_000)
parser.add_argument("--positions-per-account", type=float, default=10.0)
parser.add_argument("--instruments", type=int, default=20_000)
parser.add_argument("--in-call", type=float, default=0.02)
parser.add_argument("--book", choices=("synthetic", "demo"), default="synthetic")
parser.add_argument("--rate", type=float, default=1000.0, help="ticks per second")
parser.add_argument("--per-event", type=int, default=10, help="ticks per price_update event")
parser.add_argument("--seconds", type=float, default=30.0)
parser.add_argument("--db", type=Path, default=None, help="the prepared book (kept between runs)")
parser.add_argument(
    "--postgres",
    default=None,
    metavar="URL",
    help="run on PostgreSQL instead (server URL, e.g. postgresql://postgres@127.0.0.1:5432): "
    "the book is prepared in its own database and each run works on a copy (TEMPLATE)",
)
parser.add_argument("--seed", type=int, default=20240607)
parser.add_argument(
    "--update-every",
    type=float,
    default=5.0,
    help="the monitor's update_every (riskdesk monitor's default): an open call's figures are "
    "refreshed after market moves at most every S s; 0 writes every refresh at once",
)
parser.add_argument("--hold", type=float, default=0.0, help="the monitor's hold (seconds)")
parser.add_argument(
    "--ticks",
    choices=("holders", "uniform"),
    default="holders",
    help="which instruments tick: in proportion to their holders (liquid names tick more) or "
    "uniformly",
)


def _env(db) -> None:
    """Point Django at ``db``: a SQLite file, or a PostgreSQL database URL."""
    if str(db).startswith("postgresql://"):
        os.environ["DATABASE_URL"] = str(db)
    else:
        os.environ["RISKDESK_SQLITE"] = str(db)
        os.environ.pop("DATABASE_URL", None)


def _pg(server: str, sql: str) -> list:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as con:
        cur = con.execute(sql)
        return cur.fetchall() if cur.description else []


def _exists(db) -> bool:
    if str(db).startswith("postgresql://"):
        server, name = str(db).rsplit("/", 1)
        return bool(_pg(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
    return Path(db).exists()


# ----------------------------------------------------------------------------- the monitor
def monitor_main(db: str, conn, update_every: float = 0.0, hold: float = 0.0) -> None:
    """The monitor process: load, full screen, then follow the outbox; reports each commit."""
    _env(db)
    from riskdesk.site.bootstrap import setup_django

    setup_django()
    import logging

    logging.disable(logging.INFO)
    from riskdesk.margincall.live import CHECKS_WHEN_IDLE, LiveMonitor, quiet_queries
    from riskdesk.margincall.models import MarginCall
    from riskdesk.site.wal import start_checkpointer

    quiet_queries()  # as run_forever does
    t0 = time.perf_counter()
    monitor = LiveMonitor(update_every=update_every, hold=hold)
    start_checkpointer()  # as run_forever does
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    screened = monitor.full_screen(reload=False)
    t_full = time.perf_counter() - t0
    s = monitor.book.screen
    conn.send(
        {
            "load": t_load,
            "full": t_full,
            "screened": screened,
            "positions": int(s.n_pos),
            "open": MarginCall.objects.filter(status="open").count(),
            "mismatches": monitor.writer.mismatches,
        }
    )
    busy = 0.0
    profile = os.environ.get("BENCH_MONITOR_PROFILE")  # a file for the monitor loop's cProfile
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    while not conn.poll():
        t0 = time.perf_counter()
        n = monitor.process_events(limit=2000)
        if not n and monitor.flush():
            took = time.perf_counter() - t0
            busy += took
            w = monitor.writer
            conn.send(("flush", monitor.applied_event_id, time.time(), took, 0, {}, w.last_updates))
            continue
        if not n and monitor.check_snapshots(CHECKS_WHEN_IDLE):  # as run_forever does
            busy += time.perf_counter() - t0
            continue
        if n:
            done = time.time()
            took = time.perf_counter() - t0
            busy += took
            conn.send(
                (
                    "batch",
                    monitor.applied_event_id,
                    done,
                    took,
                    n,
                    monitor.last_counts,
                    monitor.writer.last_updates,
                )
            )
        else:
            time.sleep(0.0005)
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    monitor.check_snapshots()
    conn.send(("done", busy, monitor.writer.mismatches))


# ----------------------------------------------------------------------------- the book
def prepare(args, db) -> None:
    """Build the book into ``db`` (migrate, bulk insert, first full screen) unless it exists."""
    if _exists(db):
        return
    print(f"building the book into {db} (once; later runs reuse it)")
    if str(db).startswith("postgresql://"):
        server, name = str(db).rsplit("/", 1)
        tmp = f"{server}/{name}_building"
        _pg(server, f"DROP DATABASE IF EXISTS {name}_building")
        _pg(server, f"CREATE DATABASE {name}_building")
    else:
        tmp = db.with_suffix(".building")
        for f in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            f.unlink(missing_ok=True)
    _env(tmp)
    from riskdesk.site.bootstrap import setup_django

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if args.book == "demo":
        from riskdesk.demo.generator import build_demo
        from riskdesk.demo.margin import seed_margin

        build_demo(clients=args.accounts, seed=7)
        seed_margin(seed=7)
    else:
        from synthetic import intraday_accounts, make_synthetic, monitor_cash, write_db

        syn = make_synthetic(
            n_accounts=args.accounts,
            n_positions=int(args.accounts * args.positions_per_account),
            n_instruments=args.instruments,
            n_clients=args.accounts,
            seed=args.seed,
        )
        intraday = intraday_accounts(syn, share=0.08, seed=args.seed)
        cash = monitor_cash(syn, in_call=args.in_call, seed=args.seed, intraday=intraday)
        write_db(syn, cash, intraday=intraday, progress=lambda m: print(m, flush=True))
        del syn
    print(f"  written in {time.perf_counter() - t0:.0f} s; first full screen …", flush=True)
    from riskdesk.book.models import BookEvent
    from riskdesk.margincall.models import MonitorCursor
    from riskdesk.margincall.monitor import full_screen

    t0 = time.perf_counter()
    last = BookEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    n = full_screen(chunk=5000)
    # the full screen read every event up to here: the monitor starts after them
    MonitorCursor.objects.filter(name="default").update(last_event_id=last)
    print(f"  {n:,} accounts screened in {time.perf_counter() - t0:.0f} s", flush=True)
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        tmp.rename(db)
    else:
        connection.close()
        server, name = str(db).rsplit("/", 1)
        _pg(server, f"ALTER DATABASE {name}_building RENAME TO {name}")


def prepare_main(args, db: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    prepare(args, db)


def copy_of(db):
    """A copy of the prepared book to run on (the run writes calls and events)."""
    if str(db).startswith("postgresql://"):
        server, name = str(db).rsplit("/", 1)
        _pg(server, f"DROP DATABASE IF EXISTS {name}_run")
        _pg(server, f"CREATE DATABASE {name}_run TEMPLATE {name}")
        return f"{server}/{name}_run"
    work = db.with_name(db.stem + "-run.sqlite3")
    for f in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        f.unlink(missing_ok=True)
    shutil.copyfile(db, work)
    return work


# ----------------------------------------------------------------------------- the feed
def main() -> None:
    args = parser.parse_args()
    home = Path(os.environ.get("RISKDESK_HOME") or tempfile.mkdtemp(prefix="rd-bench-"))
    os.environ["RISKDESK_HOME"] = str(home)
    db = args.db or home / f"bench-monitor-{args.book}-{args.accounts}.sqlite3"
    if args.postgres:
        db = f"{args.postgres.rstrip('/')}/rd_bench_monitor_{args.book}_{args.accounts}"
    ctx = mp.get_context("spawn")
    if not _exists(db):  # in a process of its own: this one opens the copy
        builder = ctx.Process(target=prepare_main, args=(args, db))
        builder.start()
        builder.join()
        if builder.exitcode:
            raise SystemExit("building the book failed")
    work = copy_of(db)
    _env(work)
    from riskdesk.site.bootstrap import setup_django

    setup_django()
    from django.db import connection

    from riskdesk.book.models import Price
    from riskdesk.book.services import post_event

    # the feeder alone, before the monitor starts: what the book service costs per event
    alone = list(
        Price.objects.filter(instrument__status="normal").values_list("instrument__code", "last")[
            :5000
        ]
    )
    for k in range(120):
        if k == 20:  # after the first calls' set-up costs
            t0 = time.perf_counter()
        picks = [alone[(k * args.per_event + j) % len(alone)] for j in range(args.per_event)]
        warm_last = post_event(
            kind="price_update",
            key=f"bench-warm-{time.time()}-{k}",
            payload={"prices": [{"instrument": c, "last": str(p)} for c, p in picks]},
        ).event_id
    solo = (time.perf_counter() - t0) / 100
    connection.close()
    here, there = ctx.Pipe()
    child = ctx.Process(
        target=monitor_main, args=(str(work), there, args.update_every, args.hold), daemon=True
    )
    child.start()

    from riskdesk.book.models import Account, Position
    from riskdesk.engine.jit import HAVE_NUMBA, thread_count

    # what the feed ticks: normal instruments, drawn in proportion to their holders
    rows = list(
        Price.objects.filter(instrument__status="normal").values_list(
            "instrument_id", "instrument__code", "last"
        )
    )
    holders = dict(
        Position.objects.exclude(quantity=0)
        .values("instrument_id")
        .order_by()
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
        .values_list("instrument_id", "n")
    )
    codes = [r[1] for r in rows]
    price = np.array([float(r[2]) for r in rows])
    weight = np.array([holders.get(r[0], 0) + 1 for r in rows], dtype=np.float64)
    if args.ticks == "uniform":
        weight[:] = 1.0
    weight /= weight.sum()
    mean_holders = float((weight * np.array([holders.get(r[0], 0) for r in rows])).sum())

    ready = here.recv()
    while True:  # the monitor applies the feeder-alone events first: not part of the run
        msg = here.recv()
        if msg[1] >= warm_last:
            break
    print(
        f"book: {ready['screened']:,} screened accounts, {ready['positions']:,} positions, "
        f"{len(rows):,} priced instruments ({args.book}); {ready['open']:,} open calls; "
        f"numba={HAVE_NUMBA}, threads={thread_count()}"
    )
    print(
        f"monitor start: arrays loaded in {ready['load']:.1f} s, full screen (restart: writes "
        f"only what differs) {ready['full']:.1f} s"
    )
    print(
        f"feeder alone (no monitor running): post_event {solo * 1e3:.1f} ms per {args.per_event}-"
        f"tick event: at most {args.per_event / solo:,.0f} ticks/s on this database, "
        f"{args.rate / args.per_event * solo:.0%} of the {connection.vendor} writer at "
        f"{args.rate:,.0f} ticks/s"
    )

    rng = np.random.default_rng(args.seed)
    per = args.per_event
    n_events = int(args.rate * args.seconds / per)
    interval = per / args.rate
    posted: list[tuple[int, float]] = []
    batches: list[tuple] = []
    finished: list[tuple] = []

    def read_reports() -> None:
        # a thread of its own: a monitor whose report finds the pipe full blocks in write()
        # until the feeder reads (measured: 4.5 s of a 20 s run when read between posts)
        while True:
            msg = here.recv()
            if msg[0] == "done":
                finished.append(msg)
                return
            batches.append(msg)

    reader = threading.Thread(target=read_reports, daemon=True)
    reader.start()
    t_start = time.time()
    next_at = time.perf_counter()
    lag = posting = 0.0
    stop_at = time.perf_counter() + args.seconds
    for k in range(n_events):
        now = time.perf_counter()
        if now >= stop_at:  # a feed that cannot keep the rate stops on time: ticks/s sustained
            n_events = k
            break
        if now < next_at:
            time.sleep(next_at - now)
        else:
            lag = max(lag, now - next_at)
        next_at += interval
        pick = rng.choice(len(rows), size=per, replace=False, p=weight)
        price[pick] = np.maximum(
            0.001, np.round(price[pick] * np.exp(rng.normal(0, 0.002, per)), 3)
        )
        ticks = [{"instrument": codes[i], "last": f"{price[i]:.3f}"} for i in pick]
        t0 = time.perf_counter()
        outcome = post_event(
            kind="price_update", key=f"bench-{t_start}-{k}", payload={"prices": ticks}
        )
        posting += time.perf_counter() - t0
        posted.append((outcome.event_id, time.time()))
    t_fed = time.time() - t_start
    last_id = posted[-1][0]
    deadline = time.time() + 120
    while (not batches or batches[-1][1] < last_id) and time.time() < deadline:
        time.sleep(0.01)
    caught_up = time.time()
    time.sleep(args.update_every + 0.2)  # the spaced updates still due (they are flushed)
    here.send("stop")
    reader.join()
    _, busy, mismatches = finished[0]
    child.join(30)

    trace = os.environ.get("BENCH_MONITOR_TRACE")  # a file for the batches and the posts
    if trace:
        import pickle

        with open(trace, "wb") as f:
            pickle.dump({"batches": batches, "posted": posted}, f)
    # latencies: each event's state is written by the first batch that reached its id
    ids = np.array([b[1] for b in batches])
    commits = np.array([b[2] for b in batches])
    ev = np.array([p[0] for p in posted])
    at = np.searchsorted(ids, ev)
    done = at < len(ids)
    lat = (commits[at[done]] - np.array([p[1] for p in posted])[done]) * 1e3
    p50, p99, pmax = np.percentile(lat, [50, 99, 100])
    ticks = n_events * per
    writes = {}
    for b in batches:
        for kind, n in b[5].items():
            writes[str(kind)] = writes.get(str(kind), 0) + n
    print(
        f"feed: {ticks:,} ticks in {n_events:,} events over {t_fed:.1f} s = "
        f"{ticks / t_fed:,.0f} ticks/s posted (target rate {args.rate:,.0f}; feeder max lag "
        f"{lag * 1e3:.0f} ms); ~{mean_holders:,.0f} holders per tick ({args.ticks}); "
        f"post_event took {posting / n_events * 1e3:.1f} ms per event ({posting / t_fed:.0%} of "
        f"the time, holding the {connection.vendor} writer)"
    )
    print(
        f"monitor mode: update_every {args.update_every:g} s "
        f"({'every change of every open call written' if not args.update_every else 'state changes at once, market refreshes spaced'}), "
        f"hold {args.hold * 1e3:g} ms"
    )
    print(
        f"monitor: {len(batches):,} batches, {ticks / max(t_fed, caught_up - t_start):,.0f} "
        f"ticks/s applied (caught up {max(0.0, caught_up - t_start - t_fed) * 1e3:.0f} ms after "
        f"the last post), busy {busy / t_fed:.0%} of the time; calls written {writes}"
    )
    runs = [b for b in batches if b[0] == "batch"]
    took = np.array([b[3] for b in runs]) * 1e3
    print(
        f"  monitor batch (read + follow + write + commit, incl. waiting for the writer lock): "
        f"p50 {np.percentile(took, 50):.1f} ms, p99 {np.percentile(took, 99):.1f} ms, "
        f"{np.mean([b[4] for b in runs]):.1f} events per batch"
    )
    what = (
        "every change of every call"
        if not args.update_every
        else "calls opened/escalated/deescalated/ended, account-event updates, due updates"
    )
    print(
        f"latency event commit → state commit   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {pmax:6.1f} ms   target p99 < 50 ms: {'met' if p99 < 50 else 'MISSED'}  ({what})"
    )
    # figure-only updates: from the first event an update waited for to the commit writing it
    post_at = dict(posted)
    ages = [(b[2] - post_at[c]) * 1e3 for b in batches for c in b[6].tolist() if c in post_at]
    if ages:
        a50, a99, amax = np.percentile(ages, [50, 99, 100])
        print(
            f"figure-only updates of open calls: {len(ages):,} written, staleness (first "
            f"event waited for → commit) p50 {a50:.0f} ms, p99 {a99:.0f} ms, max {amax:.0f} ms"
        )
    print(f"  snapshots whose Decimal figures differed from the arrays': {mismatches}")

    # peer: the scalar monitor on the same events and accounts; and the check
    from riskdesk.book.models import BookEvent
    from riskdesk.margin.figures import account_risk
    from riskdesk.margincall.models import MarginCall
    from riskdesk.margincall.monitor import touched_accounts

    sample_events = BookEvent.objects.filter(id__in=rng.choice(ev, size=min(10, len(ev))).tolist())
    per_event, n_touched = [], []
    for event in sample_events:
        t0 = time.perf_counter()
        touched = sorted(touched_accounts(event))
        t_holders = time.perf_counter() - t0
        some = Account.objects.filter(id__in=touched[:: max(1, len(touched) // 50)]).select_related(
            "client"
        )
        t0 = time.perf_counter()
        some = list(some)
        for account in some:
            account_risk(account)
        each = (time.perf_counter() - t0) / max(1, len(some))
        per_event.append(t_holders + each * len(touched))
        n_touched.append(len(touched))
    scalar = float(np.mean(per_event))
    arrays = busy / n_events
    checked = bad = 0
    calls = {c.account_id: c for c in MarginCall.objects.filter(status="open")}
    screened = list(
        Account.objects.filter(type__in=["margin", "intraday"], status="active")
        .order_by("?")[:300]
        .select_related("client")
    )
    for account in screened:
        f = account_risk(account).figures
        call = calls.get(account.id)
        ok = (call is not None) == (f.alert != "none") and (
            call is None
            or (call.alert, call.lna, call.nar, call.call_amount, call.req_mm, call.equity)
            == (f.alert, f.lna, f.nar, f.call_amount, f.req.mm, f.equity)
        )
        checked += 1
        bad += not ok
        if not ok:
            print(
                f"  DIFFERS {account.number}: call "
                f"{call and (call.alert, call.lna, call.call_amount, call.updated_at)} vs "
                f"account_risk {(f.alert, f.lna, f.call_amount)}"
            )
    print(f"  monitor's calls equal account_risk on {checked - bad}/{checked} sampled accounts")
    print(
        f"scalar monitor (holders + account_risk per touched account), ~{np.mean(n_touched):,.0f} "
        f"accounts/event: {scalar * 1e3:,.0f} ms per event vs arrays {arrays * 1e3:.2f} ms per "
        f"event: {scalar / arrays:,.0f}x slower; at {args.rate / per:,.0f} events/s it would "
        f"need {scalar * args.rate / per:,.0f} s per second"
    )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    main()
