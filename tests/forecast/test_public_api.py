"""The forecast uses planning's public API only (issue 9): ``gpuledger.planning``, no submodule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gpuledger.planning as planning

FORECAST = Path(__file__).resolve().parents[2] / "src" / "gpuledger" / "forecast"


def private_uses(path: Path) -> list[str]:
    """Imports of planning's submodules, and names not in planning's ``__all__``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("gpuledger.planning."):
                out.append(node.module)
            elif node.module == "gpuledger.planning":
                out += [a.name for a in node.names if a.name not in planning.__all__]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("gpuledger.planning.")]
    return out


@pytest.mark.parametrize("module", sorted(p.name for p in FORECAST.glob("*.py")))
def test_forecast_imports_only_the_facade(module) -> None:
    assert private_uses(FORECAST / module) == []


def test_the_check_can_fail(tmp_path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from gpuledger.planning.plan import compute_needs\n"
        "from gpuledger.planning import _first_reach\n",
        encoding="utf-8",
    )
    assert private_uses(planted) == ["gpuledger.planning.plan", "_first_reach"]
