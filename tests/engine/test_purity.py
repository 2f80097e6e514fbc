"""The engine is pure: it imports nothing from Django, the database or the rest of riskdesk."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import riskdesk.engine

ENGINE = Path(riskdesk.engine.__file__).parent
FORBIDDEN_ROOTS = {"django", "ninja", "psycopg", "sqlite3", "simple_history", "django_tasks"}


def engine_modules() -> list[str]:
    return [f"riskdesk.engine.{m.name}" for m in pkgutil.iter_modules([str(ENGINE)])]


def test_engine_sources_import_only_the_engine_stdlib_numpy_and_numba() -> None:
    # Arrange / Act
    offenders = []
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                inside = name.startswith("riskdesk.engine") or name == "riskdesk.engine"
                if root in FORBIDDEN_ROOTS or (root == "riskdesk" and not inside):
                    offenders.append(f"{path.name}: {name}")
    # Assert
    assert offenders == []


def test_importing_every_engine_module_loads_no_django() -> None:
    # Arrange
    code = (
        "import importlib, sys\n"
        f"for m in {engine_modules()!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'ninja')\n"
        "             or (m.startswith('riskdesk.') and not m.startswith('riskdesk.engine')))\n"
        "print(bad)\n"
    )
    # Act
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Assert
    assert out.stdout.strip() == "[]"
