"""Scenario parsing: defaults and one-line errors naming the JSON path (SCENARIO.md)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from riskdesk.engine.scenario import ScenarioError, load_scenario, parse_scenario, read_scenario

from .builders import STD_MARGIN, account, instrument, scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario-basic.json"


def basic() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def error_of(doc: Any) -> str:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(doc)
    return str(e.value)


def test_example_parses_with_its_values() -> None:
    scn = read_scenario(EXAMPLE)
    assert scn.base_currency == "HKD" and scn.fx == {"USD": D("7.8")}
    assert [i.code for i in scn.instruments] == ["700.HK", "9988.HK", "AAPL.US", "1234.HK"]
    assert scn.accounts[1].credit_limit == D(200000)
    assert scn.accounts[0].positions == {"700.HK": 2000, "9988.HK": -1000}
    assert scn.stress is not None and (scn.stress.lc, scn.stress.rlc) == (D(100000000), D(30000000))


def test_defaults_per_scenario_md() -> None:
    # Arrange: only the required keys
    doc = {
        "base_currency": "HKD",
        "instruments": [{"code": "X", "currency": "HKD", "price": "1", "margin": STD_MARGIN}],
        "accounts": [{"id": "A1", "client": "C1"}],
        "stress": {"lc": "10", "rlc": "1"},
    }
    # Act
    scn = parse_scenario(doc)
    # Assert
    (i,) = scn.instruments
    assert (i.kind, i.status, i.haircut, i.level, i.multiplier) == (
        "stock",
        "normal",
        D(1),
        None,
        1,
    )
    (a,) = scn.accounts
    assert (a.type, dict(a.cash), dict(a.positions)) == ("margin", {}, {})
    assert (a.interest_receivable, a.trading_credit, a.credit_limit) == (0, 0, None)
    assert scn.fx == {}
    s = scn.stress
    assert s is not None
    assert (s.drops.a, s.drops.b, s.drops.c, s.drops.d) == (
        D("0.15"),
        D("0.25"),
        D("0.30"),
        D("0.50"),
    )
    bench = s.elc_benchmark
    assert (bench.level1, bench.level2, bench.other) == (D("0.50"), D("0.30"), D("0.50"))
    assert parse_scenario({k: v for k, v in doc.items() if k != "stress"}).stress is None


def test_partial_drops_keep_the_other_defaults() -> None:
    doc = scenario(
        [instrument("X", "1")], [], stress={"lc": "2", "rlc": "1", "drops": {"a": "0.2"}}
    )
    s = parse_scenario(doc).stress
    assert s is not None and (s.drops.a, s.drops.b) == (D("0.2"), D("0.25"))


def _set(doc: dict, path: list, value: Any) -> dict:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # the messages the brief names
        (["accounts", 1, "cash", "USD"], "12x", "accounts[1].cash.USD: not a decimal"),
        (["instruments", 0, "price"], _DELETE, "instruments[0]: missing key 'price'"),
        (
            ["accounts", 0, "positions", "XYZ.HK"],
            10,
            "accounts[0].positions.XYZ.HK: unknown instrument",
        ),
        (["accounts", 0, "cash", "EUR"], "5", "accounts[0].cash.EUR: no fx rate for EUR"),
        (["accounts", 2, "colour"], "red", "accounts[2].colour: unknown key"),
        # floats are never decimals; quantities are integers
        (["accounts", 1, "cash", "USD"], 1000.5, "accounts[1].cash.USD: not a decimal"),
        (["instruments", 1, "price"], 100.0, "instruments[1].price: not a decimal"),
        (["instruments", 0, "haircut"], "NaN", "instruments[0].haircut: not a decimal"),
        (["fx", "USD"], "Infinity", "fx.USD: not a decimal"),
        (
            ["accounts", 0, "positions", "700.HK"],
            2000.0,
            "accounts[0].positions.700.HK: not an integer",
        ),
        (
            ["accounts", 0, "positions", "700.HK"],
            "2000",
            "accounts[0].positions.700.HK: not an integer",
        ),
        (
            ["accounts", 0, "positions", "700.HK"],
            True,
            "accounts[0].positions.700.HK: not an integer",
        ),
        # places
        (
            ["instruments", 0, "price"],
            "400.0000001",
            "instruments[0].price: more than 6 decimal places",
        ),
        (["fx", "USD"], "7.812345678", "fx.USD: more than 8 decimal places"),
        (
            ["accounts", 0, "cash", "HKD"],
            "-500000.001",
            "accounts[0].cash.HKD: more than 2 decimal places",
        ),
        (
            ["instruments", 0, "haircut"],
            "0.15001",
            "instruments[0].haircut: more than 4 decimal places",
        ),
        # ranges and enumerations
        (["instruments", 0, "price"], "-1", "instruments[0].price: must not be negative"),
        (["fx", "USD"], "0", "fx.USD: must be positive"),
        (["instruments", 0, "haircut"], "1.5", "instruments[0].haircut: must be at most 1"),
        (["instruments", 0, "level"], 3, "instruments[0].level: must be 1, 2 or null"),
        (["instruments", 0, "level"], 1.0, "instruments[0].level: must be 1, 2 or null"),
        (["instruments", 0, "multiplier"], 0, "instruments[0].multiplier: must be positive"),
        (
            ["instruments", 0, "kind"],
            "bond",
            "instruments[0].kind: unknown kind 'bond' (one of stock, etf, warrant, option)",
        ),
        (
            ["instruments", 0, "status"],
            "halted",
            "instruments[0].status: unknown status 'halted' (one of normal, suspended, long_suspended, delisted)",
        ),
        (
            ["accounts", 0, "type"],
            "crypto",
            "accounts[0].type: unknown type 'crypto' (one of cash, margin, intraday)",
        ),
        (["accounts", 0, "credit_limit"], "-1", "accounts[0].credit_limit: must not be negative"),
        (["instruments", 2, "currency"], "EUR", "instruments[2].currency: no fx rate for EUR"),
        # structure
        (["accounts", 0, "client"], _DELETE, "accounts[0]: missing key 'client'"),
        (["accounts"], _DELETE, "top level: missing key 'accounts'"),
        (["colour"], "red", "colour: unknown key"),
        (["accounts", 3], [], "accounts[3]: not an object"),
        (["instruments"], {}, "instruments: not a list"),
        (["accounts", 0, "id"], "", "accounts[0].id: not a non-empty string"),
        (["accounts", 1, "id"], "A1", "accounts[1].id: duplicate id 'A1'"),
        (["instruments", 1, "code"], "700.HK", "instruments[1].code: duplicate code '700.HK'"),
        (["instruments", 0, "margin", "fm"], _DELETE, "instruments[0].margin: missing key 'fm'"),
        (["stress", "lc"], _DELETE, "stress: missing key 'lc'"),
        (["stress", "drops"], {"e": "0.1"}, "stress.drops.e: unknown key"),
        (["stress", "elc_benchmark"], {"1": "0"}, "stress.elc_benchmark.1: must be positive"),
    ],
)
def test_bad_value_error_names_its_json_path(path: list, value: Any, message: str) -> None:
    # Arrange
    doc = _set(basic(), path, value)
    # Act
    got = error_of(doc)
    # Assert
    assert got == message
    assert "\n" not in got


@pytest.mark.parametrize(
    ("factors", "name", "detail"),
    [
        (("1.1", "0.35", "0.30", "0.25"), "im", "must be at most 1"),
        (("0.40", "0.45", "0.30", "0.25"), "mcm", "must not exceed im"),
        (("0.40", "0.35", "0.36", "0.25"), "mm", "must not exceed mcm"),
        (("0.40", "0.35", "0.30", "0.31"), "fm", "must not exceed mm"),
        (("0.40", "0.35", "0.30", "-0.01"), "fm", "must not be negative"),
    ],
)
def test_margin_factor_order_error_names_the_factor(
    factors: tuple[str, ...], name: str, detail: str
) -> None:
    # Arrange
    margin = dict(zip(("im", "mcm", "mm", "fm"), factors, strict=True))
    doc = scenario([instrument("X", "1", margin=margin)], [account("A1", "C1")])
    # Act
    got = error_of(doc)
    # Assert
    assert got.startswith(f"instruments[0].margin.{name}: {detail}")


def test_invalid_json_names_line_and_column() -> None:
    # Arrange: line 3 column 5 holds "}" after a trailing comma
    text = '{\n "base_currency": "HKD",\n    }'
    # Act
    with pytest.raises(ScenarioError) as e:
        load_scenario(text)
    # Assert
    assert str(e.value).startswith("line 3 column 5: invalid JSON: ")
    assert "\n" not in str(e.value)


def test_duplicate_json_key_is_an_error_not_a_silent_overwrite() -> None:
    text = EXAMPLE.read_text().replace('"700.HK": 2000,', '"700.HK": 2000, "700.HK": 1,', 1)
    with pytest.raises(ScenarioError) as e:
        load_scenario(text)
    assert str(e.value) == "accounts[0].positions.700.HK: duplicate key"


def test_top_level_must_be_an_object() -> None:
    assert error_of([1, 2]) == "top level: not an object"


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ScenarioError, match="cannot read"):
        read_scenario(missing)
