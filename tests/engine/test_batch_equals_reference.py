"""The vectorised kernels report exactly the figures of the Decimal reference (DESIGN
"Money and numbers"): generated books, every reported figure compared to the cent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskdesk.engine import batch_margin, batch_stress
from riskdesk.engine.arrays import BookArrays, MagnitudeError, check_bounds, from_scenario
from riskdesk.engine.reports import margin_figures, shortfall_figures
from riskdesk.engine.rescreen import MarginScreen
from riskdesk.engine.scenario import Scenario, parse_scenario

from .builders import account, instrument, scenario
from .strategies import dec, scenario_docs


def within_bounds(scn: Scenario) -> BookArrays:
    """The scenario's arrays; discards the example when it exceeds the kernels' int64 bounds."""
    book = from_scenario(scn)
    try:
        check_bounds(book)
    except MagnitudeError:
        assume(False)
    return book


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(doc=scenario_docs())
def test_batch_margin_equals_reference_for_every_account(doc: dict) -> None:
    # Arrange
    scn = parse_scenario(doc)
    book = within_bounds(scn)
    # Act
    result = batch_margin.compute(book)
    # Assert
    expected = margin_figures(scn)
    assert [batch_margin.figures(result, k) for k in range(len(result))] == expected
    call_total, in_call = batch_margin.totals(result)
    assert call_total == sum((f.call_amount for f in expected), Decimal(0))
    assert in_call == sum(1 for f in expected if f.alert != "none")


@SETTINGS
@given(doc=scenario_docs(), data=st.data())
def test_batch_margin_on_a_subset_of_accounts_equals_reference(
    doc: dict, data: st.DataObject
) -> None:
    # Arrange
    scn = parse_scenario(doc)
    book = within_bounds(scn)
    subset = data.draw(st.lists(st.integers(0, book.n_accounts - 1), max_size=5))
    # Act
    result = batch_margin.compute(book, np.array(subset, dtype=np.int64))
    # Assert
    expected = margin_figures(scn)
    assert [batch_margin.figures(result, k) for k in range(len(subset))] == [
        expected[a] for a in subset
    ]


@SETTINGS
@given(doc=scenario_docs())
def test_batch_stress_equals_reference_including_top10(doc: dict) -> None:
    # Arrange
    scn = parse_scenario(doc)
    book = within_bounds(scn)
    # Act
    result = batch_stress.to_result(book, batch_stress.compute(book, scn.stress), scn.stress)
    # Assert
    assert result == shortfall_figures(scn)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scenario_docs(), data=st.data())
def test_rescreen_after_price_ticks_equals_reference_on_repriced_book(
    doc: dict, data: st.DataObject
) -> None:
    # Arrange
    scn = parse_scenario(doc)
    screen = MarginScreen(within_bounds(scn))
    ticks = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(scn.instruments) - 1), st.integers(0, 10**8)),
            min_size=1,
            max_size=6,
        )
    )
    # Act
    touched: set[int] = set()
    for k, micros in ticks:
        touched.update(screen.set_price(k, Decimal(dec(micros, 6))).tolist())
    # Assert
    prices = {k: Decimal(dec(m, 6)) for k, m in ticks}  # the last tick of each instrument wins
    repriced = replace(
        scn,
        instruments=tuple(
            replace(i, price=prices.get(k, i.price)) for k, i in enumerate(scn.instruments)
        ),
    )
    expected = margin_figures(repriced)
    assert [screen.account(k) for k in range(len(expected))] == expected
    held = {screen.holders(k).tolist().__len__() for k, _ in ticks}
    assert held  # every tick knew its holders
    for k, _ in ticks:
        assert set(screen.holders(k).tolist()) <= touched


def test_holders_index_lists_accounts_holding_an_instrument_long_or_short() -> None:
    # Arrange: X held long by A1, short by A3; Y held by A2 only
    doc = scenario(
        [instrument("X", "10"), instrument("Y", "20")],
        [
            account("A1", "C1", positions={"X": 5}),
            account("A2", "C2", positions={"Y": 1}),
            account("A3", "C3", positions={"X": -2, "Y": 0}),
        ],
    )
    screen = MarginScreen(from_scenario(parse_scenario(doc)))
    # Act / Assert
    assert sorted(screen.holders(0).tolist()) == [0, 2]
    assert sorted(screen.holders(1).tolist()) == [1, 2]


def test_quantity_beyond_kernel_bound_raises_magnitude_error() -> None:
    # Arrange: |qty| 10^12 + 1 exceeds MAX_QTY
    doc = scenario([instrument("X", "1")], [account("A1", "C1", positions={"X": 10**12 + 1})])
    book = from_scenario(parse_scenario(doc))
    # Act / Assert
    with pytest.raises(MagnitudeError, match="quantity"):
        batch_margin.compute(book)


def test_account_exposure_beyond_kernel_bound_raises_magnitude_error() -> None:
    # Arrange: 10^6 shares × 10^6 HKD = 10^12 HKD = 10^14 cents > 9·10^12 cents per account
    doc = scenario([instrument("X", "1000000")], [account("A1", "C1", positions={"X": 1_000_000})])
    book = from_scenario(parse_scenario(doc))
    # Act / Assert
    with pytest.raises(MagnitudeError, match="exposure"):
        check_bounds(book)
    with pytest.raises(MagnitudeError):
        batch_stress.compute(
            book, parse_scenario({**doc, "stress": {"lc": "2", "rlc": "1"}}).stress
        )


def test_bound_is_per_client_exposure_not_largest_unit_times_largest_quantity() -> None:
    # Arrange: a 5,000,000 HKD stock × 1,000 shares = 5·10^9 HKD (5·10^11 cents ≤ 9·10^12),
    # beside 39 one-dollar stocks held in 10^6 shares each (3.9·10^7 HKD): the product of the
    # largest unit and the largest quantity (5·10^14 cents) would exceed the bound; the sum does not.
    instruments = [instrument("BIG", "5000000")] + [instrument(f"S{k}", "1") for k in range(39)]
    positions = {"BIG": 1_000} | {f"S{k}": 1_000_000 for k in range(39)}
    doc = scenario(instruments, [account("A1", "C1", positions=positions)])
    book = from_scenario(parse_scenario(doc))
    # Act / Assert: no MagnitudeError
    check_bounds(book)
