"""The liquidation planner (MC-1, MC-2) on hand-computed accounts.

Every expected quantity below is worked out in the test's docstring from the MC-1 formulas
(SCENARIO.md): selling q of a long stock with price P and margin-call factor f raises cash by
qP and lowers MV by qP (equity unchanged) and req(mcm) by f·qP.
"""

from decimal import Decimal as D

import pytest

from riskdesk.engine import liquidation as lq
from riskdesk.engine.margin import MarginFactors

F_TENCENT = MarginFactors(D("0.50"), D("0.45"), D("0.40"), D("0.30"))
F_HIGH = MarginFactors(D("0.80"), D("0.75"), D("0.70"), D("0.60"))
FX = {"USD": D("7.8")}


def pos(code, qty, price, factors=F_TENCENT, **kw):
    return lq.Position(
        code=code,
        quantity=qty,
        price=D(price),
        currency=kw.pop("currency", "HKD"),
        fx_rate=kw.pop("fx_rate", D(1)),
        factors=factors,
        **kw,
    )


def state(*positions, cash="0", currency="HKD", **kw):
    return lq.AccountState(
        positions=positions, cash={currency: D(cash)}, fx=FX, base_currency="HKD", **kw
    )


def test_one_stock_fewest_whole_lots_that_restore_mcm():
    """1,000 700.HK @150 (lot 100), cash −100,000: equity = lna 50,000; req mcm 67,500,
    mm 60,000 → margin call, call 17,500. Selling q: req mcm = 67.5 × (1,000 − q) ≤ 50,000
    ⇔ q ≥ 259.3 → 300 (3 lots). After: cash −55,000, MV 105,000, req mcm 47,250."""
    s = state(pos("700.HK", 1000, "150", lot_size=100), cash="-100000")
    plan = lq.plan(s)
    assert plan.before.alert == "margin_call"
    assert plan.before.call_amount == D("17500.00")
    assert [(x.code, x.side, x.quantity) for x in plan.lines] == [("700.HK", "sell", 300)]
    assert plan.lines[0].consideration == D("45000.00")
    assert plan.cured and plan.after.alert == "none" and plan.after.call_amount == 0
    assert plan.after.cash == D("-55000.00")
    assert plan.after.req.mcm == D("47250.00")
    assert plan.after.lna == D("50000.00")
    # 200 would not do: req mcm 54,000 > 50,000
    assert not lq.cured(lq.close(s, "700.HK", 200))


def test_prefers_the_highest_margin_factor_fewest_dollars_sold():
    """A: 1,000 700.HK @150 f(mcm) .45; B: 2,000 5.HK @50 f .75 (lot 400); cash −160,000.
    equity 90,000; req mcm 67,500 + 75,000 = 142,500; call 52,500. B first: 37.5/share →
    q ≥ 1,400 → 1,600 (4 lots, 80,000 sold; A alone would need 800 = 120,000 sold).
    After: req mcm 82,500 ≤ 90,000."""
    s = state(
        pos("700.HK", 1000, "150", lot_size=100),
        pos("5.HK", 2000, "50", F_HIGH, lot_size=400),
        cash="-160000",
    )
    plan = lq.plan(s)
    assert plan.before.call_amount == D("52500.00")
    assert [(x.code, x.quantity) for x in plan.lines] == [("5.HK", 1600)]
    assert plan.after.req.mcm == D("82500.00")
    assert plan.cured


def test_closes_a_whole_position_then_moves_on():
    """B (f .75) 400 5.HK @50 only = 20,000 MV; A 1,000 700.HK @150; cash −140,000.
    equity 30,000; req mcm 67,500 + 15,000 = 82,500. All of B: req mcm 67,500 > 30,000, not
    cured; cash −120,000. Then A: 67.5 × (1,000 − q) ≤ 30,000 ⇔ q ≥ 555.6 → 600."""
    s = state(
        pos("700.HK", 1000, "150", lot_size=100),
        pos("5.HK", 400, "50", F_HIGH, lot_size=400),
        cash="-140000",
    )
    plan = lq.plan(s)
    assert [(x.code, x.quantity) for x in plan.lines] == [("5.HK", 400), ("700.HK", 600)]
    assert plan.after.cash == D("-30000.00")  # −140,000 + 20,000 + 90,000
    assert plan.after.req.mcm == D("27000.00")  # 0.45 × 400 × 150
    assert plan.cured


def test_skips_positions_that_are_not_trading_and_ranks_by_liquidity():
    """A suspended stock (f .75) cannot be sold; a warrant (liquidity 1, f 1) comes after the
    stock (liquidity 0) although its factor is higher. 700.HK 1,000 @150, cash −100,000,
    plus suspended 9.HK 100 @10 and warrant W 1,000 @1: equity 50,000 + 1,000 + 1,000 =
    52,000; req mcm 67,500 + 750 + 1,000 = 69,250. Stock first: 67.5(1,000 − q) + 1,750 ≤
    52,000 ⇔ q ≥ 255.6 → 300."""
    full = MarginFactors(D(1), D(1), D(1), D(1))
    s = state(
        pos("700.HK", 1000, "150", lot_size=100),
        pos("9.HK", 100, "10", F_HIGH, status="suspended"),
        pos("W.HK", 1000, "1", full, liquidity=1),
        cash="-100000",
    )
    plan = lq.plan(s)
    assert [(x.code, x.quantity) for x in plan.lines] == [("700.HK", 300)]
    assert plan.cured


def test_odd_lot_goes_only_with_the_whole_position():
    """250 700.HK @100 (lot 100), cash −20,000: equity 5,000; req mcm 11,250. Selling 100:
    6,750 > 5,000; 200: 2,250 ≤ 5,000 → 200 (the 50 odd shares stay)."""
    assert lq.steps(pos("X", 250, "100", lot_size=100)) == [100, 200, 250]
    plan = lq.plan(state(pos("700.HK", 250, "100", lot_size=100), cash="-20000"))
    assert [(x.code, x.quantity) for x in plan.lines] == [("700.HK", 200)]


def test_short_position_is_bought_back():
    """Short 1,000 S.HK @20 with f(short) .45 …; cash +25,000 (proceeds 20,000 + 5,000 own):
    equity 5,000; req mcm 9,000 → call 4,000 (mm 8,000 > 5,000). Buying back q: req mcm
    = 9(1,000 − q) ≤ 5,000 ⇔ q ≥ 444.4 → 500 (lot 100); cash 25,000 − 10,000 = 15,000."""
    s = state(pos("S.HK", -1000, "20", lot_size=100), cash="25000")
    plan = lq.plan(s)
    assert plan.before.call_amount == D("4000.00")
    assert [(x.code, x.side, x.quantity) for x in plan.lines] == [("S.HK", "buy", 500)]
    assert plan.after.cash == D("15000.00")
    assert plan.after.short_mv == D("-10000.00")
    assert plan.cured


def test_foreign_stock_proceeds_in_its_currency():
    """100 AAPL @200 USD (fx 7.8), f .45; cash −120,000 HKD: MV 156,000; equity 36,000;
    req mcm 70,200. Per share 0.45 × 1,560 = 702 → q ≥ 48.7 → 49 (lot 1). After: USD
    +9,800, i.e. 76,440 HKD; req mcm 0.45 × 51 × 1,560 = 35,802 ≤ 36,000."""
    s = lq.AccountState(
        positions=(pos("AAPL.US", 100, "200", currency="USD", fx_rate=D("7.8")),),
        cash={"HKD": D("-120000")},
        fx=FX,
        base_currency="HKD",
    )
    plan = lq.plan(s)
    assert [(x.code, x.quantity, x.currency) for x in plan.lines] == [("AAPL.US", 49, "USD")]
    assert plan.lines[0].consideration == D("9800.00")
    assert plan.after.req.mcm == D("35802.00")
    assert plan.after.cash == D("-43560.00")
    assert plan.cured


def test_uncurable_closes_everything_tradable_and_says_so():
    """Cash −200,000 against 1,000 @150: equity −50,000 — no sale can cure; all 1,000 go."""
    plan = lq.plan(state(pos("700.HK", 1000, "150", lot_size=100), cash="-200000"))
    assert [(x.code, x.quantity) for x in plan.lines] == [("700.HK", 1000)]
    assert not plan.cured
    assert plan.after.lna == D("-50000.00")


def test_only_some_stocks():
    """The example of the factor test restricted to 700.HK: 52,500 / 67.5 = 777.8 → 800."""
    s = state(
        pos("700.HK", 1000, "150", lot_size=100),
        pos("5.HK", 2000, "50", F_HIGH, lot_size=400),
        cash="-160000",
    )
    plan = lq.plan(s, only=["700.HK"])
    assert [(x.code, x.quantity) for x in plan.lines] == [("700.HK", 800)]
    assert plan.cured


def test_nothing_to_do_when_not_in_call():
    plan = lq.plan(state(pos("700.HK", 1000, "150"), cash="0"))
    assert plan.lines == () and plan.cured


def test_evaluate_an_officers_choice_and_refuse_too_much():
    s = state(pos("700.HK", 1000, "150", lot_size=100), cash="-100000")
    chosen = lq.evaluate(s, [("700.HK", 200)])
    assert not chosen.cured and chosen.after.req.mcm == D("54000.00")
    with pytest.raises(ValueError, match="cannot close 1100"):
        lq.evaluate(s, [("700.HK", 1100)])
