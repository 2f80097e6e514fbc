"""The console's list page at a million rows (PL-5): key pagination against OFFSET.

Builds the demo broker with 1,000,000 clients (seed 7) in a scratch SQLite file, then pages
through the accounts list and the cash ledger the way a risk officer does, and times:
  - page N by key (the console's ListPage.page: seek from the cursor ... LIMIT 51, plus the
    count capped at 10,001 rows that the page shows)
  - page N by OFFSET (the peer: ORDER BY ... LIMIT 51 OFFSET 50*N), same rows, same process
for N = 1, 100, 1,000 and 10,000, and a filtered page (margin accounts) both ways.

    .venv/bin/python benchmarks/bench_list_pages.py [--clients 1000000]

The build takes about 75 s; set RISKDESK_HOME to reuse a built book.
"""

import argparse
import os
import statistics
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--clients", type=int, default=1_000_000)
args = parser.parse_args()
os.environ.setdefault("RISKDESK_HOME", tempfile.mkdtemp(prefix="rd-bench-"))
os.environ.pop("DATABASE_URL", None)

from riskdesk.site.bootstrap import setup_django  # noqa: E402

setup_django()

from django.core.management import call_command  # noqa: E402

from riskdesk.book.models import Client  # noqa: E402
from riskdesk.book.pages import accounts, ledger  # noqa: E402
from riskdesk.demo.generator import build_demo  # noqa: E402

call_command("migrate", verbosity=0)
if not Client.objects.exists():
    t0 = time.perf_counter()
    build_demo(clients=args.clients, seed=7)
    print(f"demo book: {args.clients:,} clients built in {time.perf_counter() - t0:.0f} s")


def timed(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, rows


def by_key(page, params, n):
    """Walk to page n once (cursor of the last row of page n-1), then time fetching page n."""
    cursor, p = None, page.page(params)
    for _ in range(n - 1):
        cursor = p["next"]
        p = page.page({**params, "after": cursor})

    def fetch():
        return page.page({**params, "after": cursor} if cursor else params)["rows"]

    return timed(fetch)


def by_offset(page, params, n):
    qs, _active, _errors = page.filtered(params)
    key, desc = page.sort_of(params)
    sign = "-" if desc else ""
    order = [f"{sign}{key}", f"{sign}pk"] if key != "pk" else [f"{sign}pk"]
    keys = ["pk", *dict.fromkeys(c.key for c in page.columns)]
    start = (n - 1) * page.page_size
    return timed(lambda: list(qs.order_by(*order).values(*keys)[start : start + page.page_size]))


for page, params, label in [
    (accounts, {}, "accounts"),
    (accounts, {"type": "margin"}, "margin accounts"),
    (ledger, {}, "cash ledger"),
]:
    for n in (1, 100, 1_000, 10_000):
        if n > 1_000 and params:
            continue
        key_ms, key_rows = by_key(page, params, n)
        off_ms, off_rows = by_offset(page, params, n)
        if key_rows is not None:
            assert [r["pk"] for r in key_rows] == [r["pk"] for r in off_rows], (
                "key and OFFSET pages differ"
            )
            print(
                f"{label:16s} page {n:>6,}: key (incl. capped count) {key_ms:7.2f} ms   OFFSET {off_ms:8.2f} ms   ratio {off_ms / key_ms:7.1f}x"
            )
        else:
            print(
                f"{label:16s} page {n:>6,}: OFFSET {off_ms:8.2f} ms  (key pagination costs what page 1 costs)"
            )
