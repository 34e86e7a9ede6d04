"""Golden scenarios: scenario YAML -> ledger -> snapshot -> plan JSON, per policy.

The expected JSON files are written by hand; golden/README.md shows the arithmetic.
Targets are compared sorted by id so the ledger's row order does not matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuledger.domain import PolicyName
from gpuledger.ledger import Ledger
from gpuledger.planning import DivertChange, impact, impact_of_posted, plan
from gpuledger.scenario import demo_scenario_path, load_scenario, parse_scenario
from gpuledger.services.planning import books_snapshot

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    pytest.param(folder.name, policy, id=f"{folder.name}-{policy}")
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    for policy in PolicyName
]


def load_snapshot(folder: Path):
    """The real path: the scenario through the ledger into the snapshot every planning
    path uses (with the targets' ``accepts``, see ``services.planning.books_snapshot``)."""
    path = folder / "scenario.yaml"
    scenario = parse_scenario(path.read_text(encoding="utf-8"), filename=str(path))
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(scenario)
        return books_snapshot(ledger, scenario.as_of)
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
    scenario = load_scenario(demo_scenario_path())
    ledger = Ledger.open("sqlite://")
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
    worse = impact(base, change, PolicyName.CONSIGNED)
    lost_without = {t.id: t.gpu_days_lost for t in worse.targets if t.id.startswith("tesla")}
    assert sum(lost_without.values()) > sum(lost.values())
    assert all(r.reorder_arrives_p50 is not None for r in imp.recovery)
