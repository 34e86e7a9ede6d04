"""Golden scenarios: scenario YAML -> ledger -> snapshot -> plan JSON, per policy.

The expected JSON files are written by hand; golden/README.md shows the arithmetic.
Targets are compared sorted by id so the ledger's row order does not matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuledger.domain import PolicyName
from gpuledger.planning import plan

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    pytest.param(folder.name, policy, id=f"{folder.name}-{policy}")
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    for policy in PolicyName
]


def load_snapshot(folder: Path):
    """The real path: parse the scenario, import it into an in-memory ledger, snapshot."""
    ledger_mod = pytest.importorskip("gpuledger.ledger")
    scenario_mod = pytest.importorskip("gpuledger.scenario")
    if not hasattr(ledger_mod, "Ledger"):
        pytest.skip("gpuledger.ledger.Ledger is not available yet")
    scenario = scenario_mod.parse_scenario(
        (folder / "scenario.yaml").read_text(encoding="utf-8"),
        filename=str(folder / "scenario.yaml"),
    )
    ledger = ledger_mod.Ledger.open("sqlite://")
    try:
        ledger.import_scenario(scenario)
        return ledger.snapshot(scenario.as_of)
    finally:
        ledger.close()


def by_id(doc: dict) -> dict:
    return {**doc, "targets": sorted(doc["targets"], key=lambda t: t["id"])}


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_golden_plan(name: str, policy: PolicyName) -> None:
    folder = GOLDEN / name
    expected = json.loads((folder / f"expected_{policy}.json").read_text(encoding="utf-8"))
    got = plan(load_snapshot(folder), policy).to_json()
    assert by_id(got) == by_id(expected)


def test_founding_story_posted_diversion() -> None:
    """The demo scenario through the real path: the posted diversion delays Tesla."""
    scenario_mod = pytest.importorskip("gpuledger.scenario")
    ledger_mod = pytest.importorskip("gpuledger.ledger")
    if not hasattr(ledger_mod, "Ledger") or not hasattr(scenario_mod, "demo_scenario_path"):
        pytest.skip("ledger or demo scenario not available yet")
    from gpuledger.planning import DivertChange, impact_of_posted

    scenario = scenario_mod.load_scenario(scenario_mod.demo_scenario_path())
    ledger = ledger_mod.Ledger.open("sqlite://")
    try:
        ledger.import_scenario(scenario)
        books = ledger.snapshot(scenario.as_of)
    finally:
        ledger.close()
    d = next(x for x in scenario.diversions if x.from_org == "tesla")
    change = DivertChange(d.lot, d.qty, d.from_org, d.to_org, d.on)  # without its payback
    with_payback = DivertChange(
        d.lot, d.qty, d.from_org, d.to_org, d.on, tuple((p.lot, p.qty) for p in d.payback)
    )
    imp = impact_of_posted(books, with_payback, PolicyName.CONSIGNED)
    lost = {t.id: t.gpu_days_lost for t in imp.targets if t.id.startswith("tesla")}
    assert sum(lost.values()) > 0
    # Without the payback Tesla loses more than with it (same diversion, same books).
    base = with_payback.inverse().apply(books)
    from gpuledger.planning import impact

    worse = impact(base, change, PolicyName.CONSIGNED)
    lost_without = {t.id: t.gpu_days_lost for t in worse.targets if t.id.startswith("tesla")}
    assert sum(lost_without.values()) > sum(lost.values())
    assert all(r.reorder_arrives_p50 is not None for r in imp.recovery)
