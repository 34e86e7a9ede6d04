"""Rooms a reader can hold in their head: module and function sizes (issue 9).

A module over 500 lines states at its top why (a docstring line starting "Over 500
lines:"); in the planner, the ledger and the services no function runs over 80
lines. Both limits are counted on the source, blank lines and docstrings included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gpuledger"
MODULE_LINES = 500
FUNCTION_LINES = 80
STRICT_ROOMS = ("planning", "ledger", "services")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def long_modules(paths: list[Path], root: Path = PACKAGE) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > MODULE_LINES and "Over 500 lines:" not in doc:
            found.append(f"{path.relative_to(root)}: {text.count(chr(10))} lines")
    return found


def long_functions(paths: list[Path], root: Path = PACKAGE) -> list[str]:
    found = []
    for path in paths:
        rel = path.relative_to(root)
        if rel.parts[0] not in STRICT_ROOMS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    found.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_module_runs_over_500_lines_without_saying_why() -> None:
    assert long_modules(modules()) == []


def test_no_function_of_the_planner_ledger_or_services_runs_over_80_lines() -> None:
    assert long_functions(modules()) == []


@pytest.mark.parametrize("rooms", [("ledger",)])
def test_the_checks_can_fail(tmp_path: Path, rooms: tuple[str, ...]) -> None:
    room = tmp_path / rooms[0]
    room.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES + 1))
    long = room / "long.py"
    long.write_text('"""A planted module."""\n\n\ndef f() -> None:\n' + body + "\n" * 420)
    lines = long.read_text().count("\n")
    assert long_functions([long], tmp_path) == [f"ledger/long.py:4 f: {FUNCTION_LINES + 2} lines"]
    assert long_modules([long], tmp_path) == [f"ledger/long.py: {lines} lines"]
