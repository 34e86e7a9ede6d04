"""The policy registry (issue 9): names, what each policy says about itself, errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gpuledger.domain import InvalidInput, PolicyName
from gpuledger.planning import get_policy, registered

SRC = Path(__file__).resolve().parents[2] / "src" / "gpuledger"


def test_every_policy_name_is_registered_once() -> None:
    assert [p.name for p in registered()] == list(PolicyName)
    for name in PolicyName:
        assert get_policy(name).name is name
        assert get_policy(str(name)) is get_policy(name)


@pytest.mark.parametrize(
    ("name", "pools", "batch"),
    [
        pytest.param(PolicyName.CONSIGNED, False, True, id="consigned"),
        pytest.param(PolicyName.PRIORITY, True, True, id="priority"),
        pytest.param(PolicyName.FAIR_SHARE, True, False, id="fair-share"),
        pytest.param(PolicyName.OPTIMAL, True, False, id="optimal"),
    ],
)
def test_what_each_policy_says(name, pools, batch) -> None:
    p = get_policy(name)
    assert p.pools_supply is pools
    assert (p.passes is not None) is batch


def test_an_unknown_policy_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unknown policy 'fifo'.*consigned") as e:
        get_policy("fifo")
    assert e.value.field_name == "policy"


def _policy_names_compared(path: Path) -> list[int]:
    """Lines where a module compares something with a ``PolicyName`` member."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                named = isinstance(side, ast.Attribute) and isinstance(side.value, ast.Name)
                if named and side.value.id == "PolicyName":  # type: ignore[attr-defined]
                    hits.append(node.lineno)
    return hits


@pytest.mark.parametrize(
    "module",
    sorted(
        str(p.relative_to(SRC))
        for p in [*(SRC / "planning").glob("*.py"), *(SRC / "forecast").glob("*.py")]
    ),
)
def test_no_module_outside_the_registry_branches_on_a_policy_name(module) -> None:
    assert _policy_names_compared(SRC / module) == []


def test_the_check_above_can_fail(tmp_path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("if policy is PolicyName.PRIORITY:\n    pass\n", encoding="utf-8")
    assert _policy_names_compared(planted) == [1]
