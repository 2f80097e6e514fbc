"""ST-7 liquid-capital shortfall, derived by hand from SCENARIO.md "calc shortfall"."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskdesk.engine.reports import shortfall_figures
from riskdesk.engine.scenario import ScenarioError, parse_scenario
from riskdesk.engine.stress import (
    Benchmarks,
    Drops,
    Mix,
    StressError,
    client_loan,
    elc,
    frr_ratio,
    shortfall,
    shortfall_at,
    stress_drop,
    top10_row,
)

from .builders import account, instrument, scenario

STRESS = {"lc": "1000000", "rlc": "0"}  # elc 1,000,000


def test_frr_is_one_minus_haircut_and_zero_for_shorts_and_options() -> None:
    assert frr_ratio(D("0.15"), 100, "stock") == D("0.85")
    assert frr_ratio(D("0.15"), -100, "stock") == 0
    assert frr_ratio(D("0.15"), 100, "option") == 0


def test_shortfall_at_uses_stressed_liquid_asset_capped_at_the_loan() -> None:
    # C2 of the worked example: loan 300,000, la 132,600
    assert shortfall(D(300000), D(132600)) == D(167400)
    assert shortfall_at(D(300000), D(132600), D("0.30")) == D(207180)  # − 132,600×0.7 = 92,820
    assert shortfall_at(D(300000), D(132600), D("0.50")) == D(233700)  # − 66,300
    assert shortfall_at(D(300000), D(132600), D("0.15")) == D(187290)  # − 112,710
    # la × (1 − x) = 140 ≥ loan 100 -> min(100, 140) = 100 -> 0
    assert shortfall_at(D(100), D(200), D("0.30")) == 0


def test_loan_is_the_absolute_negative_sum_of_the_clients_accounts() -> None:
    assert client_loan([D(-100000), D(30000)]) == D(70000)
    assert client_loan([D(-100000), D(130000)]) == 0


def test_client_with_two_accounts_is_summed_across_them() -> None:
    # Arrange: C1 = A1 (cash −100,000; X 1,000 × 50 = 50,000, haircut 0.2 -> la 40,000)
    #             + A2 (cash +30,000; X 500 × 50 = 25,000 -> la 20,000; Y 100 × 10 = 1,000,
    #                   haircut 0 -> la 1,000)
    # C2 (cash +1,000, X 100) has no loan: not listed, not in the mix or market values.
    doc = scenario(
        [
            instrument("X", "50", haircut="0.2", level=1),
            instrument("Y", "10", haircut="0", level=2),
        ],
        [
            account("A1", "C1", cash={"HKD": "-100000"}, positions={"X": 1000}),
            account("A2", "C1", cash={"HKD": "30000"}, positions={"X": 500, "Y": 100}),
            account("A3", "C2", cash={"HKD": "1000"}, positions={"X": 100}),
        ],
        stress=STRESS,
    )
    # Act
    r = shortfall_figures(parse_scenario(doc))
    # Assert: loan |−100,000 + 30,000| = 70,000; la 40,000 + 20,000 + 1,000 = 61,000
    (c1,) = r.clients
    assert (c1.client, c1.loan, c1.la, c1.shortfall) == ("C1", D(70000), D(61000), D(9000))
    assert c1.shortfall_30 == D(27300)  # 70,000 − 61,000×0.7 (42,700)
    assert c1.shortfall_50 == D(39500)  # 70,000 − 30,500
    # mix: X 75,000 (level 1), Y 1,000 (level 2): 75/76 = 0.986842 > 75% -> drop a 15%
    assert r.mix == (D("0.986842"), D("0.013158"), D(0))
    assert r.drop == D("0.15")
    assert r.shortfall_at_drop == D(18150)  # 70,000 − 61,000×0.85 (51,850)
    assert r.buffer == D(481850)  # 50% × 1,000,000 − 18,150
    # Top 10: X leaves 61,000 − 60,000 = 1,000 -> stock shortfall 69,000, impact 60,000
    x, y = r.top10
    assert (x.code, x.market_value, x.stock_shortfall, x.impact) == (
        "X",
        D(75000),
        D(69000),
        D(60000),
    )
    assert (x.elc_drop, x.concentration, x.result) == (D("0.069"), D("0.138"), "pass")
    # Y leaves 60,000 -> 10,000, impact 1,000; level 2 benchmark 30%: 0.01 / 0.3 = 0.033333
    assert (y.code, y.stock_shortfall, y.impact) == ("Y", D(10000), D(1000))
    assert (y.elc_drop, y.concentration) == (D("0.01"), D("0.033333"))


def test_stock_long_for_one_client_and_short_for_another_counts_only_the_long() -> None:
    # Arrange (haircut 0 unless said):
    #  X: cash −12,000; long S 1,000 × 10 = 10,000 -> la 10,000, shortfall 2,000
    #  Y: cash −15,000; short S −500 × 10 (frr 0); long T 2,000 × 10 = 20,000, haircut 0.5
    #     -> la 10,000, shortfall 5,000
    doc = scenario(
        [instrument("S", "10", haircut="0"), instrument("T", "10", haircut="0.5")],
        [
            account("AX", "X", cash={"HKD": "-12000"}, positions={"S": 1000}),
            account("AY", "Y", cash={"HKD": "-15000"}, positions={"S": -500, "T": 2000}),
        ],
        stress=STRESS,
    )
    # Act
    r = shortfall_figures(parse_scenario(doc))
    # Assert: S: X 12,000 + Y unchanged 5,000 = 17,000, impact 17,000 − 7,000 = 10,000;
    # T: X 2,000 + Y 15,000 = 17,000, impact 10,000 -> tie, S before T by code.
    # market value of S = X's long 10,000 only (Y's short is not collateral).
    assert [(t.code, t.market_value, t.stock_shortfall, t.impact) for t in r.top10] == [
        ("S", D(10000), D(17000), D(10000)),
        ("T", D(20000), D(17000), D(10000)),
    ]


def test_top10_keeps_the_ten_largest_impacts_with_ties_by_code() -> None:
    # Arrange: one client, loan 1,000,000; 12 stocks of 1,000 each (haircut 0) in scrambled
    # order, and Z of 5,000. la = 17,000, shortfall 983,000. Removing a 1,000 stock: 984,000,
    # impact 1,000 (all tie); removing Z: 988,000, impact 5,000.
    codes = ["K", "B", "L", "A", "J", "C", "I", "D", "H", "E", "G", "F"]
    doc = scenario(
        [instrument(c, "1000", haircut="0") for c in codes]
        + [instrument("Z", "5000", haircut="0")],
        [
            account(
                "A1",
                "C1",
                cash={"HKD": "-1000000"},
                positions={c: 1 for c in codes} | {"Z": 1},
            )
        ],
        stress=STRESS,
    )
    # Act
    r = shortfall_figures(parse_scenario(doc))
    # Assert: Z first, then the nine smallest codes A..I
    assert [t.code for t in r.top10] == ["Z", "A", "B", "C", "D", "E", "F", "G", "H", "I"]
    assert r.top10[0].impact == D(5000)
    assert {t.impact for t in r.top10[1:]} == {D(1000)}


def test_option_counts_zero_collateral_but_its_market_value_is_reported() -> None:
    # Arrange: loan 10,000; long 1 call × 5 × 100 = 500, haircut 0 but an option -> frr 0
    doc = scenario(
        [instrument("CALL", "5", kind="option", multiplier=100, haircut="0")],
        [account("A1", "C1", cash={"HKD": "-10000"}, positions={"CALL": 1})],
        stress=STRESS,
    )
    # Act
    r = shortfall_figures(parse_scenario(doc))
    # Assert: la 0, shortfall 10,000; impact 0; level null -> mix other 100% -> drop d 50%
    assert (r.clients[0].la, r.clients[0].shortfall) == (0, D(10000))
    (t,) = r.top10
    assert (t.code, t.level, t.market_value, t.impact) == ("CALL", None, D(500), 0)
    assert r.mix == (0, 0, D(1))
    assert r.drop == D("0.50")


@pytest.mark.parametrize(
    ("mix", "expected"),
    [
        (Mix(D(75), D(0), D(25)), "c"),  # level 1 exactly 75% is not > 75%; 1+2 = 75% -> c
        (Mix(D(7501), D(0), D(2499)), "a"),  # 75.01% > 75%
        (Mix(D(50), D(26), D(24)), "b"),  # 1+2 = 76% > 75%
        (Mix(D(0), D(75), D(25)), "c"),  # 1+2 exactly 75%: c (inclusive)
        (Mix(D(25), D(0), D(75)), "c"),  # 1+2 exactly 25%: c (inclusive)
        (Mix(D(2499), D(0), D(7501)), "d"),  # 24.99% < 25%
        (Mix(D(0), D(0), D(0)), "d"),  # no collateral at all: the largest drop
    ],
)
def test_stress_drop_boundaries(mix: Mix, expected: str) -> None:
    drops = Drops()
    assert stress_drop(mix, drops) == getattr(drops, expected)


@pytest.mark.parametrize(("lc", "rlc"), [("100", "100"), ("100", "250")])
def test_zero_or_negative_elc_is_a_clear_error(lc: str, rlc: str) -> None:
    with pytest.raises(StressError, match="must be positive"):
        elc(D(lc), D(rlc))


def test_zero_elc_in_a_scenario_names_the_stress_section() -> None:
    doc = scenario(
        [instrument("X", "10")],
        [account("A1", "C1", cash={"HKD": "-10"}, positions={"X": 1})],
        stress={"lc": "500", "rlc": "500"},
    )
    with pytest.raises(ScenarioError) as e:
        shortfall_figures(parse_scenario(doc))
    assert str(e.value) == "stress: elc = lc − rlc = 500 − 500 = 0 must be positive"


def test_concentration_exactly_one_passes_and_just_above_rejects() -> None:
    # elc 1,000,000, level 2 benchmark 30%: stock shortfall 300,000 -> 0.3 / 0.3 = 1 -> pass
    at = top10_row("X", 2, D(1), D(300000), D(0), D(1000000), Benchmarks())
    assert (at.elc_drop, at.concentration, at.result) == (D("0.3"), D(1), "pass")
    # 300,000.01 -> 1.0000000333 (reported 1.000000) -> reject on the exact value
    above = top10_row("X", 2, D(1), D("300000.01"), D(0), D(1000000), Benchmarks())
    assert (above.concentration, above.result) == (D(1), "reject")


def test_clients_sorted_by_shortfall_descending_then_id() -> None:
    # Arrange: three clients with no collateral: shortfall = loan
    doc = scenario(
        [instrument("X", "10")],
        [
            account("A1", "C9", cash={"HKD": "-100"}),
            account("A2", "C10", cash={"HKD": "-100"}),
            account("A3", "C2", cash={"HKD": "-200"}),
            account("A4", "C3", cash={"HKD": "50"}),  # no loan: not listed
        ],
        stress=STRESS,
    )
    # Act
    r = shortfall_figures(parse_scenario(doc))
    # Assert: 200 first; the 100s by id as text ("C10" < "C9")
    assert [c.client for c in r.clients] == ["C2", "C10", "C9"]
    assert r.top10 == ()  # nobody holds anything long
