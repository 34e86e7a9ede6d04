"""The dependency direction of STYLE.md: domain <- ledger, planning, forecast <- api, web, cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gpuledger"

# module prefix -> imports it must never make
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "gpuledger.domain": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "rich",
        "gpuledger.ledger",
        "gpuledger.planning",
        "gpuledger.cli",
    ),
    "gpuledger.planning": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "rich",
        "gpuledger.ledger",
        "gpuledger.scenario",
        "gpuledger.cli",
        "gpuledger.api",
        "gpuledger.web",
    ),
    "gpuledger.forecast": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "gpuledger.ledger",
        "gpuledger.scenario",
        "gpuledger.cli",
        "gpuledger.api",
        "gpuledger.web",
    ),
    "gpuledger.claims": ("sqlalchemy", "fastapi", "typer", "gpuledger.ledger", "gpuledger.cli"),
    "gpuledger.scenario": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "gpuledger.ledger",
        "gpuledger.planning",
        "gpuledger.cli",
    ),
    "gpuledger.ledger": (
        "fastapi",
        "typer",
        "rich",
        "gpuledger.cli",
        "gpuledger.api",
        "gpuledger.web",
    ),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_the_dependency_direction(path: Path) -> None:
    name = _module_name(path)
    rules = [
        bad for prefix, bad in FORBIDDEN.items() if name == prefix or name.startswith(prefix + ".")
    ]
    offending = sorted(
        imp
        for imp in _imports(path)
        for bad in (b for rule in rules for b in rule)
        if imp == bad or imp.startswith(bad + ".")
    )
    assert not offending, f"{name} imports {offending}"


def test_the_rule_table_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom gpuledger.ledger import Ledger\n")
    assert {"sqlalchemy", "gpuledger.ledger"} <= _imports(bad)
