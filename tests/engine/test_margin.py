"""MC-1 account figures, derived by hand from SCENARIO.md "calc margin" (scalar reference)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskdesk.engine.margin import (
    FULL_MARGIN,
    Holding,
    MarginFactors,
    account_figures,
    factor_order_error,
    market_value,
    net_asset_ratio,
)

HK = MarginFactors(D("0.40"), D("0.35"), D("0.30"), D("0.25"))  # 700.HK
BABA = MarginFactors(D("0.50"), D("0.45"), D("0.40"), D("0.35"))  # 9988.HK
US = MarginFactors(D("0.30"), D("0.25"), D("0.20"), D("0.15"))  # AAPL.US
USD = D("7.8")


def tencent(qty: int) -> Holding:
    return Holding(quantity=qty, price=D(400), fx_rate=D(1), factors=HK)


def test_worked_example_a1_long_and_short_with_usd_cash() -> None:
    # Arrange: 700.HK 2,000 × 400 = 800,000; 9988.HK −1,000 × 100 = −100,000;
    # cash −500,000 + 1,000 × 7.8 = −492,200
    holdings = [tencent(2000), Holding(-1000, D(100), D(1), BABA)]
    # Act
    f = account_figures(holdings, D(-492200))
    # Assert
    assert f.long_mv == D(800000) and f.short_mv == D(-100000) and f.excluded_mv == 0
    assert f.equity == f.lna == D(207800)  # −492,200 + 800,000 − 100,000
    assert f.nar == D("0.230889")  # 207,800 / max(207,800, 800,000 + 100,000)
    # req im = 800,000×0.40 + 100,000×0.50 = 370,000; mcm = 280,000 + 45,000 = 325,000;
    # mm = 240,000 + 40,000 = 280,000; fm = 200,000 + 35,000 = 235,000
    assert (f.req.im, f.req.mcm, f.req.mm, f.req.fm) == (D(370000), D(325000), D(280000), D(235000))
    assert f.loan == D(492200)
    assert f.alert == "force_close"  # 207,800 < 235,000
    assert f.call_amount == D(117200)  # 325,000 − 207,800


def test_worked_example_a2_delisted_stock_is_excluded_and_over_financing_counts() -> None:
    # Arrange: AAPL 100 × 200 × 7.8 = 156,000; 1234.HK delisted 5,000 × 10 = 50,000
    holdings = [
        Holding(100, D(200), USD, US),
        Holding(5000, D(10), D(1), FULL_MARGIN, status="delisted"),
    ]
    # Act
    f = account_figures(holdings, D(-300000), trading_credit=D(10000), credit_limit=D(200000))
    # Assert
    assert f.long_mv == D(206000) and f.excluded_mv == D(50000)
    assert f.equity == D(-94000)  # −300,000 + 206,000
    assert f.lna == D(-144000)  # −94,000 − 50,000
    assert f.nar == D("-0.923077")  # −144,000 / max(−144,000, 206,000 − 50,000) = /156,000
    # mcm = 156,000 × 0.25 + 50,000 × 1 = 89,000
    assert f.req.mcm == D(89000)
    assert f.over_financing == D(100000)  # 300,000 − 200,000
    assert f.alert == "force_close"  # −144,000 < fm 156,000×0.15 + 50,000 = 73,400
    assert f.call_amount == D(223000)  # max(89,000 + 144,000 − 10,000, 100,000, 0)


def test_lna_exactly_at_maintenance_requirement_raises_no_call() -> None:
    # Arrange: 500 × 400 = 200,000; req mm = 60,000; cash −140,000 -> lna 60,000
    # Act
    f = account_figures([tencent(500)], D(-140000))
    # Assert: 60,000 is not < 60,000; below mcm 70,000 does not matter
    assert f.lna == f.req.mm == D(60000)
    assert f.alert == "none"
    assert f.call_amount == 0


def test_lna_exactly_at_force_close_requirement_is_a_margin_call_not_force_close() -> None:
    # Arrange: 200,000 long; req fm = 50,000; cash −150,000 -> lna 50,000
    # Act
    f = account_figures([tencent(500)], D(-150000))
    # Assert: 50,000 is not < 50,000 (fm) but is < 60,000 (mm)
    assert f.lna == f.req.fm == D(50000)
    assert f.alert == "margin_call"
    assert f.call_amount == D(20000)  # mcm 70,000 − 50,000


def test_worked_example_a3_and_a4_either_side_of_maintenance() -> None:
    # A3: lna 55,000 < mm 60,000, ≥ fm 50,000 -> margin_call, call 70,000 − 55,000
    a3 = account_figures([tencent(500)], D(-145000))
    assert (a3.alert, a3.call_amount) == ("margin_call", D(15000))
    # A4: lna 65,000 ≥ mm 60,000 -> none, although below mcm 70,000
    a4 = account_figures([tencent(500)], D(-135000))
    assert (a4.alert, a4.call_amount) == ("none", D(0))


def test_account_with_no_positions_and_positive_cash_is_fine() -> None:
    # Act
    f = account_figures([], D(1000))
    # Assert: equity = lna = 1,000; nar = 1,000 / max(1,000, 0) = 1; no requirement
    assert (f.equity, f.lna, f.nar) == (D(1000), D(1000), D(1))
    assert f.req.im == f.req.fm == 0
    assert (f.loan, f.alert, f.call_amount) == (0, "none", 0)


def test_account_with_no_positions_and_a_debt_is_force_closed_for_the_debt() -> None:
    # Arrange: cash −500; lna −500; max(−500, 0) = 0 -> nar 1 (SCENARIO: 1 when the max is 0)
    # Act
    f = account_figures([], D(-500))
    # Assert: −500 < req fm 0 -> force_close; call = max(0 − (−500) + 0 − 0, 0, 0) = 500
    assert f.nar == D(1)
    assert f.loan == D(500)
    assert (f.alert, f.call_amount) == ("force_close", D(500))


def test_over_financing_alone_raises_a_margin_call() -> None:
    # Arrange: 1,000 × 400 = 400,000; cash −100,000 -> lna 300,000 ≥ mm 120,000;
    # loan 100,000 over an 80,000 credit limit -> over-financing 20,000
    # Act
    f = account_figures([tencent(1000)], D(-100000), credit_limit=D(80000))
    # Assert: call = max(mcm 140,000 − 300,000, 20,000, 0) = 20,000
    assert f.over_financing == D(20000)
    assert (f.alert, f.call_amount) == ("margin_call", D(20000))


def test_no_credit_limit_means_no_over_financing() -> None:
    f = account_figures([tencent(1000)], D(-100000))
    assert f.over_financing == 0 and f.alert == "none"


def test_interest_receivable_adds_and_trading_credit_subtracts_from_the_call() -> None:
    # Arrange: lna 55,000 (A3); mcm 70,000; interest 1,000; trading credit 4,000
    # Act
    f = account_figures(
        [tencent(500)], D(-145000), interest_receivable=D(1000), trading_credit=D(4000)
    )
    # Assert: 70,000 − 55,000 + 1,000 − 4,000 = 12,000
    assert f.call_amount == D(12000)


def test_option_market_value_uses_the_multiplier() -> None:
    # Arrange: short 2 calls × 3.5 × 100 shares = −700; factors 0.2 at every level
    option = MarginFactors(D("0.2"), D("0.2"), D("0.2"), D("0.2"))
    # Act
    f = account_figures([Holding(-2, D("3.5"), D(1), option, multiplier=100)], D(10000))
    # Assert: short_mv −700; equity 10,000 − 700 = 9,300; req = 700 × 0.2 = 140
    assert f.short_mv == D(-700)
    assert f.equity == D(9300)
    assert f.req.im == D(140)


def test_short_position_in_delisted_stock_takes_factor_one_but_is_not_excluded_mv() -> None:
    # Arrange: short 100 × 10 = −1,000 in a delisted stock with factors 0.5
    half = MarginFactors(D("0.5"), D("0.5"), D("0.5"), D("0.5"))
    # Act
    f = account_figures([Holding(-100, D(10), D(1), half, status="delisted")], D(5000))
    # Assert: excluded_mv counts longs only; requirement |−1,000| × 1 at every level
    assert f.excluded_mv == 0
    assert f.req.im == f.req.fm == D(1000)


def test_long_suspended_is_excluded_but_suspended_is_not() -> None:
    long_susp = account_figures([Holding(10, D(100), D(1), HK, status="long_suspended")], D(0))
    suspended = account_figures([Holding(10, D(100), D(1), HK, status="suspended")], D(0))
    # 10 × 100 = 1,000 excluded: lna = 1,000 − 1,000 = 0; req mm = 1,000 × 1
    assert (long_susp.excluded_mv, long_susp.lna, long_susp.req.mm) == (D(1000), 0, D(1000))
    # suspended keeps its factors: req mm = 1,000 × 0.30 = 300
    assert (suspended.excluded_mv, suspended.lna, suspended.req.mm) == (0, D(1000), D(300))


def test_market_value_rounds_half_up_away_from_zero_per_line() -> None:
    # 1 × 0.005 = 0.005 -> 0.01; −1 × 0.005 = −0.005 -> −0.01; 3 × 0.001 × 7.8 = 0.0234 -> 0.02
    assert market_value(1, D("0.005"), 1, D(1)) == D("0.01")
    assert market_value(-1, D("0.005"), 1, D(1)) == D("-0.01")
    assert market_value(3, D("0.001"), 1, USD) == D("0.02")


def test_requirement_lines_are_rounded_before_summing() -> None:
    # Arrange: two lines of 1 × 0.01 with factor 0.25: each 0.0025 -> 0.00 (sum 0.005 would be 0.01)
    f25 = MarginFactors(D("0.25"), D("0.25"), D("0.25"), D("0.25"))
    lines = [Holding(1, D("0.01"), D(1), f25), Holding(1, D("0.01"), D(1), f25)]
    # Act
    f = account_figures(lines, D(0))
    # Assert
    assert f.req.im == 0


def test_nar_is_one_when_the_denominator_is_zero() -> None:
    assert net_asset_ratio(D(0), D(0), D(0), D(0)) == D(1)


@pytest.mark.parametrize(
    ("factors", "name"),
    [
        (("1.01", "0.5", "0.4", "0.3"), "im"),
        (("0.4", "0.5", "0.3", "0.2"), "mcm"),
        (("0.5", "0.4", "0.45", "0.2"), "mm"),
        (("0.5", "0.4", "0.3", "0.35"), "fm"),
        (("0.5", "0.4", "0.3", "-0.01"), "fm"),
    ],
)
def test_factor_order_error_names_the_offending_factor(factors: tuple[str, ...], name: str) -> None:
    problem = factor_order_error(MarginFactors(*(D(f) for f in factors)))
    assert problem is not None and problem[0] == name


def test_valid_factors_have_no_order_error() -> None:
    assert factor_order_error(MarginFactors(D(1), D(1), D(0), D(0))) is None
