"""A simulated price feed: a random walk pushed through ``post_event`` like a real feed.

Each tick picks ``instruments_per_tick`` instruments of status *normal* that have a price, moves
each by a small log-normal step (1 tick at least, rounded to the instrument's tick size, never
below the market's minimum price) and posts them as ONE ``price_update`` event with a fresh
idempotency key ``feed-<uuid>``. Suspended, long-suspended and delisted instruments do not
trade, so they are never touched. The universe is re-read on every tick, so a suspension or a
manual price entered meanwhile is respected.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from riskdesk.book.models import Instrument, Price
from riskdesk.book.services import post_event
from riskdesk.demo.ticks import micro_str, round_to_tick, tick_micro, to_micro

STOCK_SIGMA = 0.002  # log-return standard deviation per tick
OPTION_SIGMA = 0.02


class FeedError(Exception):
    """The feed cannot run (nothing to price)."""


@dataclass(frozen=True)
class FeedResult:
    ticks: int  # price_update events posted
    prices: int  # prices applied
    stale: int  # prices the book refused as older than what it holds


def next_price(market: str, kind: str, last: int, z: float) -> int:
    """One random-walk step from ``last`` (micro-units) for a standard normal draw ``z``."""
    sigma = OPTION_SIGMA if kind == Instrument.Kind.OPTION else STOCK_SIGMA
    new = round_to_tick(market, kind, int(last * math.exp(sigma * z - sigma * sigma / 2)))
    if new == last:  # too small a step for the tick: move one tick the way the draw points
        tick = tick_micro(market, kind, last)
        new = round_to_tick(market, kind, last + tick if z >= 0 else last - tick)
        if new == last:  # at the floor
            new = round_to_tick(market, kind, last + tick)
    return new


def _universe() -> list[tuple[str, str, str, int]]:
    rows = (
        Price.objects.filter(instrument__status=Instrument.Status.NORMAL)
        .order_by("instrument__code")
        .values_list("instrument__code", "instrument__market", "instrument__kind", "last")
    )
    return [(code, market, kind, to_micro(last)) for code, market, kind, last in rows]


def run_feed(
    *,
    interval: float,
    ticks: int | None,
    seed: int,
    instruments_per_tick: int,
    stop_event: threading.Event | None = None,
    on_tick: Callable[[FeedResult], None] | None = None,
) -> FeedResult:
    """Post random-walk price ticks every ``interval`` seconds until ``ticks`` are posted or
    ``stop_event`` is set; returns the counts. ``on_tick`` sees the running counts."""
    if instruments_per_tick < 1:
        raise FeedError("instruments_per_tick must be at least 1")
    rng = np.random.default_rng(seed)
    done = prices = stale = 0
    result = FeedResult(0, 0, 0)
    while ticks is None or done < ticks:
        if stop_event is not None and stop_event.is_set():
            break
        universe = _universe()
        if not universe:
            raise FeedError("no instrument of status normal has a price: build the demo first")
        k = min(instruments_per_tick, len(universe))
        picks = np.sort(rng.choice(len(universe), size=k, replace=False))
        draws = rng.standard_normal(k)
        as_of = timezone.now().isoformat()
        batch = []
        for i, z in zip(picks.tolist(), draws.tolist(), strict=True):
            code, market, kind, last = universe[i]
            new = next_price(market, kind, last, z)
            batch.append({"instrument": code, "last": micro_str(new), "as_of": as_of})
        outcome = post_event(
            kind="price_update", key=f"feed-{uuid.uuid4().hex}", payload={"prices": batch}
        )
        done += 1
        prices += len(outcome.result.get("applied", []))
        stale += len(outcome.result.get("stale", []))
        result = FeedResult(done, prices, stale)
        if on_tick is not None:
            on_tick(result)
        if ticks is not None and done >= ticks:
            break
        if stop_event is not None:
            if stop_event.wait(interval):
                break
        elif interval > 0:
            time.sleep(interval)
    return result
