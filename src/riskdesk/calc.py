"""`riskdesk calc`: risk figures of a scenario file (SCENARIO.md), printed as JSON.

Exit status 0 on success, 2 with a one-line error on stderr for a bad file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from riskdesk.engine.reports import margin_report, shortfall_report
from riskdesk.engine.scenario import Scenario, ScenarioError, read_scenario

app = typer.Typer(
    help="Compute risk figures of a scenario file (a whole book in one JSON document).",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="Scenario JSON file (see SCENARIO.md).")]


def _run(file: Path, report: Callable[[Scenario], dict[str, Any]]) -> None:
    try:
        document = report(read_scenario(file))
    except ScenarioError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(json.dumps(document, indent=1, ensure_ascii=False))


@app.command()
def margin(file: FileArg) -> None:
    """Per account: equity, liquid net assets, net asset ratio, requirements, call (MC-1)."""
    _run(file, margin_report)


@app.command()
def shortfall(file: FileArg) -> None:
    """Per indebted client: liquid-capital shortfall, stress drop, buffer and Top 10 (ST-7)."""
    _run(file, shortfall_report)
