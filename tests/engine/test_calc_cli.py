"""`riskdesk calc margin|shortfall FILE` through typer's CliRunner (SCENARIO.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.calc import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASIC = EXAMPLES / "scenario-basic.json"
runner = CliRunner()


@pytest.mark.parametrize("command", ["margin", "shortfall"])
def test_published_example_output_is_printed_exactly(command: str) -> None:
    # Arrange
    expected = json.loads((EXAMPLES / f"scenario-basic.{command}.json").read_text())
    # Act
    result = runner.invoke(app, [command, str(BASIC)])
    # Assert
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_bad_file_exits_2_with_one_line_error_on_stderr(tmp_path: Path) -> None:
    # Arrange
    doc = json.loads(BASIC.read_text())
    doc["accounts"][1]["cash"]["USD"] = 1000.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    # Act
    result = runner.invoke(app, ["margin", str(bad)])
    # Assert
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "accounts[1].cash.USD: not a decimal\n"


def test_invalid_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n "base_currency": "HKD",\n    }')
    result = runner.invoke(app, ["shortfall", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith("line 3 column 5: invalid JSON: ")
    assert result.stderr.count("\n") == 1


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["margin", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_shortfall_without_stress_section_exits_2_but_margin_works(tmp_path: Path) -> None:
    # Arrange
    doc = json.loads(BASIC.read_text())
    del doc["stress"]
    path = tmp_path / "no-stress.json"
    path.write_text(json.dumps(doc))
    # Act
    shortfall = runner.invoke(app, ["shortfall", str(path)])
    margin = runner.invoke(app, ["margin", str(path)])
    # Assert
    assert shortfall.exit_code == 2
    assert shortfall.stderr == "top level: missing key 'stress' (calc shortfall needs lc and rlc)\n"
    assert margin.exit_code == 0


def test_zero_elc_exits_2_with_clear_message(tmp_path: Path) -> None:
    doc = json.loads(BASIC.read_text())
    doc["stress"] = {"lc": "30000000", "rlc": "30000000"}
    path = tmp_path / "zero-elc.json"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["shortfall", str(path)])
    assert result.exit_code == 2
    assert result.stderr == ("stress: elc = lc − rlc = 30000000 − 30000000 = 0 must be positive\n")


def test_margin_totals_count_accounts_in_call() -> None:
    # A1, A2 force_close, A3 margin_call, A4 none: 117,200 + 223,000 + 15,000 = 355,200
    result = runner.invoke(app, ["margin", str(BASIC)])
    assert json.loads(result.stdout)["totals"] == {
        "call_amount": "355200.00",
        "accounts_in_call": 3,
    }
