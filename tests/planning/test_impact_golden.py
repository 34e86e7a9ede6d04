"""Golden impacts: scenario YAML -> ledger -> snapshot, a change -> impact JSON.

Each folder of ``impact_golden/`` holds ``scenario.yaml``, ``change.yaml`` (the
policy and one change, in the words of the change classes), the expected JSON
(written by hand) and a README with the arithmetic. Lists whose order follows the
ledger's rows (targets, orgs, recovery, explanations) are compared sorted.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuledger.domain import PolicyName
from gpuledger.planning import Change, DivertChange, PriorityChange, SlipChange, impact

from .conftest import load_books

GOLDEN = Path(__file__).parent / "impact_golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def load_change(spec: dict[str, Any]) -> Change:
    """The change a ``change.yaml`` describes (divert, slip or priority)."""
    if "divert" in spec:
        d = spec["divert"]
        pay = tuple((p["lot"], int(p["qty"])) for p in d.get("payback", []))
        return DivertChange(d["lot"], int(d["qty"]), d["from"], d["to"], _day(d["date"]), pay)
    if "slip" in spec:
        s = spec["slip"]
        return SlipChange(s["lot"], int(s["days"]), _day(s["date"]))
    p = spec["priority"]
    return PriorityChange(p["target"], int(p["priority"]), _day(p["date"]))


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "orgs": sorted(doc["orgs"], key=lambda o: (o["org"], o["sku"])),
        "targets": sorted(doc["targets"], key=lambda t: t["id"]),
        "recovery": sorted(doc["recovery"], key=lambda r: r["target"]),
        "explanations": sorted(doc["explanations"], key=lambda e: e["target"]),
    }


@pytest.mark.parametrize("name", CASES)
def test_golden_impact(name: str) -> None:
    folder = GOLDEN / name
    spec = yaml.safe_load((folder / "change.yaml").read_text(encoding="utf-8"))
    books = load_books(folder / "scenario.yaml")
    got = impact(books, load_change(spec), PolicyName(spec["policy"])).to_json()
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert normalised(got) == normalised(expected)


def test_every_case_has_its_hand_computation() -> None:
    for name in CASES:
        assert (GOLDEN / name / "README.md").is_file(), name
