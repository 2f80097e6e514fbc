"""``LiveScreen`` (the risk monitor's arrays, MC-1) keeps every account's figures equal to the
Decimal reference ``margin.account_figures`` to the cent, with a margin ratio per POSITION
(MR-6), through any sequence of price ticks (first prices and prices withdrawn included), FX
moves, accounts rewritten in place or appended elsewhere, new instruments, new accounts,
accounts leaving the screen and compactions. Hypothesis draws the books and the sequences."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdesk.engine.fx import cash_in_base
from riskdesk.engine.margin import NONE, Holding, MarginFactors, account_figures
from riskdesk.engine.rescreen import LiveScreen

STATUSES = ("normal", "suspended", "long_suspended", "delisted")
EXCLUDED = {"long_suspended", "delisted"}
CCY = ("HKD", "USD", "CNH")
TRICKY_PRICES = (5_000, 125_000, 1_500_000, 100_005_000, 1, 0)


def d(n: int, places: int) -> Decimal:
    return Decimal(int(n)).scaleb(-places)


@dataclass
class Model:
    """The book as plain Python values: what the reference is computed from."""

    fx: list[int]  # ×10⁸, base first
    currency: list[int] = field(default_factory=list)
    price: list[int | None] = field(default_factory=list)
    multiplier: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    accounts: list[dict | None] = field(default_factory=list)  # None: left the screen

    def expected(self, a: int):
        acc = self.accounts[a]
        holdings = [
            Holding(
                quantity=q,
                price=d(self.price[i] or 0, 6),
                fx_rate=d(self.fx[self.currency[i]], 8),
                factors=MarginFactors(*(d(f, 4) for f in fac)),
                status=self.status[i],
                multiplier=self.multiplier[i],
            )
            for i, q, fac in acc["positions"]
        ]
        rates = {CCY[k]: d(r, 8) for k, r in enumerate(self.fx)}
        cash = cash_in_base(((CCY[c], d(v, 2)) for c, v in acc["cash"]), rates, "HKD")
        return account_figures(holdings, cash, interest_receivable=d(acc["ir"], 2))


factors = st.lists(st.integers(0, 10_000), min_size=4, max_size=4).map(
    lambda f: tuple(sorted(f, reverse=True))
)
quantities = st.one_of(st.integers(-(10**5), 10**5).filter(bool), st.sampled_from((1, -1, 3)))
prices = st.one_of(st.integers(0, 10**8), st.sampled_from(TRICKY_PRICES))
rates = st.one_of(st.integers(1, 10**9), st.sampled_from((50_000_000, 780_000_000, 12_345_678)))


@st.composite
def accounts(draw, n_instruments: int) -> dict:
    held = draw(st.lists(st.integers(0, n_instruments - 1), unique=True, max_size=5))
    return {
        "positions": [(i, draw(quantities), draw(factors)) for i in held],
        "cash": [
            (c, draw(st.integers(-(10**10), 10**9)))
            for c in draw(st.lists(st.integers(0, 2), unique=True, max_size=3))
        ],
        "ir": draw(st.integers(0, 10**8)),
    }


@st.composite
def models(draw, max_accounts: int) -> Model:
    """A book of 1-6 instruments and 1-``max_accounts`` accounts."""
    n_i = draw(st.integers(1, 6))
    m = Model(fx=[100_000_000, draw(rates), draw(rates)])
    for _ in range(n_i):
        m.currency.append(draw(st.integers(0, 2)))
        m.price.append(draw(st.one_of(st.none(), prices)))
        m.multiplier.append(draw(st.sampled_from((1, 10, 100))))
        m.status.append(draw(st.sampled_from(STATUSES)))
    m.accounts = [draw(accounts(n_i)) for _ in range(draw(st.integers(1, max_accounts)))]
    return m


def screen_of(m: Model) -> LiveScreen:
    accs = [a for a in m.accounts if a is not None]
    pos = [p for a in accs for p in a["positions"]]
    cash = [c for a in accs for c in a["cash"]]
    return LiveScreen(
        fx=np.array(m.fx),
        ins_currency=np.array(m.currency),
        ins_price=np.array([p or 0 for p in m.price]),
        ins_priced=np.array([p is not None for p in m.price]),
        ins_multiplier=np.array(m.multiplier),
        ins_excluded=np.array([s in EXCLUDED for s in m.status]),
        pos_offsets=np.concatenate(([0], np.cumsum([len(a["positions"]) for a in accs]))),
        pos_instr=np.array([i for i, _, _ in pos], dtype=np.int32),
        pos_qty=np.array([q for _, q, _ in pos], dtype=np.int64),
        pos_fac=np.array([f for _, _, f in pos], dtype=np.int64).reshape(-1, 4),
        cash_offsets=np.concatenate(([0], np.cumsum([len(a["cash"]) for a in accs]))),
        cash_ccy=np.array([c for c, _ in cash], dtype=np.int32),
        cash_amt=np.array([v for _, v in cash], dtype=np.int64),
        params=np.array([[a["ir"], 0, 0, 0] for a in accs], dtype=np.int64).reshape(-1, 4),
    )


def assert_equal(screen: LiveScreen, m: Model) -> None:
    for a, acc in enumerate(m.accounts):
        if acc is None:
            assert not screen.active[a]
            continue
        assert screen.account(a) == m.expected(a), a


def assert_watched(screen: LiveScreen, m: Model) -> None:
    """``watched_holders`` (MC-1: the holders a tick may write) = the live holders with a
    quantity that are pinned or, by the reference, in alert."""
    for i in range(len(m.price)):
        expected = {
            a
            for a, acc in enumerate(m.accounts)
            if acc is not None
            and any(p[0] == i and p[1] != 0 for p in acc["positions"])
            and (screen.pinned[a] or m.expected(a).alert != NONE)
        }
        got = screen.watched_holders(i).tolist()
        assert got == sorted(expected), i


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data())
def test_live_screen_equals_reference_through_any_sequence(data: st.DataObject) -> None:
    # Arrange: a book of 1-6 instruments and 1-8 accounts
    draw = data.draw
    m = draw(models(max_accounts=8))
    screen = screen_of(m)
    assert_equal(screen, m)

    # Act / Assert: after every operation, every account equals the reference
    for _ in range(draw(st.integers(1, 12))):
        op = draw(
            st.sampled_from(
                ("price", "fx", "rewrite", "instrument", "new", "leave", "compact", "pin")
            )
        )
        live = [a for a, acc in enumerate(m.accounts) if acc is not None]
        if op == "price":
            i = draw(st.integers(0, len(m.price) - 1))
            m.price[i] = draw(st.one_of(st.none(), prices))
            moved = screen.set_price(i, m.price[i])
            holders = {a for a in live if any(p[0] == i for p in m.accounts[a]["positions"])}
            assert set(moved.tolist()) <= holders
            # a holder screened lazily kept the slack to stay out of alert (MC-1)
            for a in holders - set(moved.tolist()):
                assert m.expected(a).alert == NONE, a
        elif op == "fx":
            c = draw(st.integers(1, 2))
            m.fx[c] = draw(rates)
            screen.set_fx(c, m.fx[c])
        elif op in ("rewrite", "new") or (op == "leave" and not live):
            if op == "new" or not live:
                a = int(screen.add_slots(1)[0])
                m.accounts.append(None)
            else:
                a = draw(st.sampled_from(live))
            acc = draw(accounts(len(m.price)))
            if op == "rewrite" and m.accounts[a] is not None and draw(st.booleans()):
                # a fill on held instruments only: rewritten in place
                held = m.accounts[a]["positions"]
                acc["positions"] = [
                    (i, draw(quantities), draw(factors)) for i, _, _ in held if draw(st.booleans())
                ]
            m.accounts[a] = acc
            screen.set_account(
                a,
                np.array([i for i, _, _ in acc["positions"]], dtype=np.int32),
                np.array([q for _, q, _ in acc["positions"]], dtype=np.int64),
                np.array([f for _, _, f in acc["positions"]], dtype=np.int64).reshape(-1, 4),
                np.array([c for c, _ in acc["cash"]], dtype=np.int32),
                np.array([v for _, v in acc["cash"]], dtype=np.int64),
                np.array([acc["ir"], 0, 0, 0]),
            )
        elif op == "instrument":
            m.currency.append(draw(st.integers(0, 2)))
            m.price.append(draw(st.one_of(st.none(), prices)))
            m.multiplier.append(draw(st.sampled_from((1, 100))))
            m.status.append(draw(st.sampled_from(STATUSES)))
            i = screen.add_instrument(
                currency=m.currency[-1],
                price=m.price[-1],
                multiplier=m.multiplier[-1],
                excluded=m.status[-1] in EXCLUDED,
            )
            assert i == len(m.price) - 1
        elif op == "leave":
            a = draw(st.sampled_from(live))
            m.accounts[a] = None
            screen.deactivate(a)
        elif op == "pin" and live:
            screen.pin(np.array([draw(st.sampled_from(live))]), pinned=draw(st.booleans()))
        elif op == "compact":
            screen.compact()
        assert_equal(screen, m)
        assert_watched(screen, m)


def test_a_tick_touches_only_the_holders_and_adds_the_difference():
    # Arrange: instrument 0 at 10.00 HKD, held long 1,000 by account 0 (ratio 50/40/30/20) and
    # short 500 by account 1 (ratio 80/70/60/50); account 2 holds only instrument 1.
    m = Model(fx=[100_000_000, 780_000_000, 108_000_000])
    m.currency, m.price, m.multiplier, m.status = (
        [0, 1],
        [10_000_000, 200_000_000],
        [1, 1],
        [
            "normal",
            "normal",
        ],
    )
    m.accounts = [
        {"positions": [(0, 1000, (5000, 4000, 3000, 2000))], "cash": [(0, -500_000)], "ir": 0},
        {"positions": [(0, -500, (8000, 7000, 6000, 5000))], "cash": [(0, 800_000)], "ir": 0},
        {"positions": [(1, 10, (10000,) * 4)], "cash": [], "ir": 0},
    ]
    screen = screen_of(m)
    # Act: 10.00 → 12.50
    moved = screen.set_price(0, 12_500_000)
    # Assert: long mv 12,500, req mm 3,750; short mv −6,250, req mm 3,750; account 2 untouched
    assert sorted(moved.tolist()) == [0, 1]
    f0, f1 = screen.account(0), screen.account(1)
    assert (f0.long_mv, f0.req.mm, f0.equity) == (
        Decimal("12500"),
        Decimal("3750"),
        Decimal("7500"),
    )
    assert (f1.short_mv, f1.req.mm, f1.equity) == (
        Decimal("-6250"),
        Decimal("3750"),
        Decimal("1750"),
    )
    assert screen.account(2).long_mv == Decimal("15600")  # 10 × 200 × 7.8


@pytest.mark.parametrize("in_place", [True, False])
def test_a_rewritten_account_is_repriced_with_its_new_positions(in_place):
    # Arrange: account 0 holds 100 of instrument 0 at 10.00
    m = Model(fx=[100_000_000, 780_000_000, 108_000_000])
    m.currency, m.price, m.multiplier, m.status = (
        [0, 0],
        [10_000_000, 5_000_000],
        [1, 1],
        [
            "normal",
            "normal",
        ],
    )
    m.accounts = [{"positions": [(0, 100, (5000,) * 4)], "cash": [(0, 0)], "ir": 0}]
    screen = screen_of(m)
    # Act: a fill: 300 of instrument 0 (in place), or a new position in instrument 1 (appended)
    instr = [0] if in_place else [0, 1]
    qty = [300] if in_place else [100, 200]
    screen.set_account(
        0, np.array(instr, np.int32), np.array(qty), np.full((len(qty), 4), 5000),
        np.array([0], np.int32), np.array([0]), np.zeros(4, np.int64),
    )  # fmt: skip
    assert (screen.appended == 0) is in_place
    screen.set_price(1, 6_000_000)
    screen.set_price(0, 11_000_000)
    # Assert: in place 300 × 11 = 3,300; appended 100 × 11 + 200 × 6 = 2,300
    assert screen.account(0).long_mv == Decimal("3300" if in_place else "2300")
    screen.compact()
    screen.set_price(0, 12_000_000)
    assert screen.account(0).long_mv == Decimal("3600" if in_place else "2400")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_threaded_recompute_of_a_whole_book_equals_the_reference(data):
    """``recompute`` spreads many slots over threads (``kernels.margin_positions``) and keeps a
    few on the calling thread (``kernels.margin_positions``): both equal the reference (MC-1)."""
    m = data.draw(models(max_accounts=40))
    threaded = screen_of(m)
    threaded.SERIAL_BELOW = 0  # every recompute of this screen threaded
    threaded.recompute(np.arange(threaded.n_slots, dtype=np.int64))
    assert_equal(threaded, m)
    assert_equal(screen_of(m), m)
