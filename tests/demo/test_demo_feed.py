"""The simulated feed moves prices through post_event and leaves non-trading names alone."""

import threading
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.book.models import BookEvent, Instrument, Price
from riskdesk.demo.feed import FeedError, next_price, run_feed
from riskdesk.demo.generator import build_demo
from riskdesk.demo.ticks import round_to_tick_array, tick_micro, to_micro

pytestmark = pytest.mark.django_db


def _prices():
    return {
        p.instrument.code: (p.last, p.as_of, p.instrument.status)
        for p in Price.objects.select_related("instrument")
    }


def test_the_feed_moves_prices_through_post_event(db):
    # Arrange
    build_demo(clients=30, seed=3)
    before = _prices()
    # Act
    result = run_feed(interval=0, ticks=5, seed=1, instruments_per_tick=40)
    # Assert
    events = BookEvent.objects.filter(kind="price_update")
    assert result.ticks == 5 and events.count() == 5
    assert result.prices == 5 * 40 and result.stale == 0
    keys = list(events.values_list("key", flat=True))
    assert len(set(keys)) == 5 and all(k.startswith("feed-") for k in keys)
    assert all(len(e.payload["prices"]) == 40 for e in events)
    after = _prices()
    changed = [code for code in before if after[code][0] != before[code][0]]
    assert len(changed) >= 40
    assert all(after[code][0] > 0 for code in after)
    # every new price sits on its tick
    for inst in Instrument.objects.filter(code__in=changed):
        micro = to_micro(after[inst.code][0])
        assert round_to_tick_array(inst.market, inst.kind, np.array([micro]))[0] == micro


def test_the_feed_never_touches_suspended_or_delisted_instruments(db):
    build_demo(clients=30, seed=3)
    before = _prices()
    n_normal = Instrument.objects.filter(status="normal").count()
    # Ask for every instrument on every tick: the non-trading ones still must not move.
    run_feed(interval=0, ticks=3, seed=2, instruments_per_tick=10_000)
    after = _prices()
    quiet = [code for code, (_, _, status) in before.items() if status != "normal"]
    assert len(quiet) >= 30
    assert all(after[code][:2] == before[code][:2] for code in quiet)
    moved = {
        t["instrument"]
        for e in BookEvent.objects.filter(kind="price_update")
        for t in e.payload["prices"]
    }
    assert len(moved) == n_normal
    assert not moved & set(quiet)


def test_a_suspension_during_the_run_is_respected(db):
    build_demo(clients=10, seed=3)
    Instrument.objects.filter(code="700.HK").update(status="suspended")
    last = Price.objects.get(instrument__code="700.HK").last
    run_feed(interval=0, ticks=2, seed=2, instruments_per_tick=10_000)
    assert Price.objects.get(instrument__code="700.HK").last == last


def test_a_stop_event_ends_the_feed(db):
    build_demo(clients=10, seed=3)
    stop = threading.Event()
    seen = []

    def on_tick(result):
        seen.append(result.ticks)
        if result.ticks == 2:
            stop.set()

    result = run_feed(
        interval=0.01, ticks=None, seed=1, instruments_per_tick=5, stop_event=stop, on_tick=on_tick
    )
    assert result.ticks == 2 and seen == [1, 2]
    assert BookEvent.objects.filter(kind="price_update").count() == 2


def test_an_empty_book_has_nothing_to_feed(db):
    with pytest.raises(FeedError):
        run_feed(interval=0, ticks=1, seed=1, instruments_per_tick=5)


@pytest.mark.parametrize(
    ("market", "kind", "price"),
    [("HK", "stock", "0.01"), ("HK", "stock", "0.255"), ("HK", "stock", "10"), ("HK", "stock", "480.2"),
     ("US", "stock", "0.0001"), ("US", "stock", "0.9999"), ("US", "etf", "580.12"), ("HK", "option", "0.01"),
     ("CN", "stock", "1500.5")],
)  # fmt: skip
def test_a_step_is_positive_on_tick_and_moves(market, kind, price):
    last = to_micro(Decimal(price))
    rng = np.random.default_rng(5)
    for z in [*rng.standard_normal(200).tolist(), 0.0, -50.0, 50.0]:
        new = next_price(market, kind, last, z)
        assert new > 0
        assert new != last
        assert round_to_tick_array(market, kind, np.array([new]))[0] == new
        # a step of at most a few percent (or a single tick for a tiny price)
        assert abs(new - last) <= max(last * 0.1, 2 * tick_micro(market, kind, last)) or abs(z) > 10
