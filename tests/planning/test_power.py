"""Held and powered: sites' power caps the units a consumer could run (golden cases).

Each folder of ``power_golden/`` holds a scenario file without sites, a README with
the arithmetic and the expected JSON written by hand. The sites and the SKUs'
power draw are added here in Python (``SITES``) until the scenario reader parses
them; the records go through the real path (ledger import, snapshot) and then
:func:`gpuledger.planning.power.with_sites`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gpuledger.domain import PolicyName, PowerStep, Scenario, Site, Sku
from gpuledger.ledger import Ledger
from gpuledger.planning import DivertChange, PlanningSnapshot, impact, plan
from gpuledger.planning.power import powered_curves, with_sites
from gpuledger.scenario import parse_scenario

from .conftest import SnapBuilder

GOLDEN = Path(__file__).parent / "power_golden"
# 700 W x 1.82 x 1.2 = 1,528.8 W per H100: 0.7644 MW runs 500, 1.5288 MW 1,000,
# 15.288 MW 10,000 (Epoch AI's method, the scenario's default overhead and PUE).
H100 = Sku(id="H100", tdp_w=700, h100e=1.0)
SITES: dict[str, tuple[Site, ...]] = {
    "site-power-step": (
        Site(
            id="s-a",
            org="a",
            power=(
                PowerStep(date(2023, 6, 1), 0.7644, source="test"),
                PowerStep(date(2024, 3, 1), 1.5288, source="test"),
            ),
        ),
    ),
    "divert-no-room": (
        Site(id="t-site", org="tesla", power=(PowerStep(date(2023, 1, 1), 15.288),)),
    ),
}


def scenario_of(name: str) -> Scenario:
    """The case's scenario file with its sites and SKU power draw added."""
    path = GOLDEN / name / "scenario.yaml"
    s = parse_scenario(path.read_text(encoding="utf-8"), filename=str(path))
    return replace(s, skus=(H100,), sites=SITES[name])


def books(s: Scenario) -> PlanningSnapshot:
    """Scenario -> in-memory ledger -> snapshot -> with its sites."""
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(s)
        return with_sites(ledger.snapshot(s.as_of), s)
    finally:
        ledger.close()


def expected(name: str, file: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((GOLDEN / name / file).read_text(encoding="utf-8"))
    return doc


def test_site_power_caps_usable_holdings_and_steps_up() -> None:
    got = plan(books(scenario_of("site-power-step")), PolicyName.CONSIGNED).to_json()
    want = expected("site-power-step", "expected_consigned.json")
    got["targets"].sort(key=lambda t: t["id"])
    assert got == want


@pytest.mark.parametrize(
    ("on", "held", "powered", "capacity"),
    [
        ("2023-12-01", 800, 500, 500),
        ("2024-01-31", 800, 500, 500),
        ("2024-02-01", 1200, 500, 500),
        ("2024-02-29", 1200, 500, 500),
        ("2024-03-01", 1200, 1000, 1000),
    ],
    ids=["arrival", "before-L1", "L1-arrives", "day-before-step", "step-up"],
)
def test_org_rows_on_each_date(on: str, held: int, powered: int, capacity: int) -> None:
    p = plan(books(scenario_of("site-power-step")), PolicyName.CONSIGNED)
    row = next(r for r in p.orgs_on(date.fromisoformat(on)) if r.org == "a")
    assert (row.held, row.powered, row.capacity) == (held, powered, capacity)
    b = next(r for r in p.orgs_on(date.fromisoformat(on)) if r.org == "b")
    assert b.capacity is None and b.powered == b.held


def test_diversion_from_an_org_without_room_costs_no_powered_gpu_days() -> None:
    s = scenario_of("divert-no-room")
    change = DivertChange("T-DEC", 12000, "tesla", "x", date(2023, 12, 10))
    got = impact(books(s), change, PolicyName.CONSIGNED).to_json()
    want = expected("divert-no-room", "expected_consigned.json")
    assert (got["window_start"], got["window_end"]) == (want["window_start"], want["window_end"])
    assert sorted(got["orgs"], key=lambda o: o["org"]) == want["orgs"]
    assert got["targets"] == want["targets"]


def test_without_sites_powered_is_held() -> None:
    snap = SnapBuilder().lot("L", "a", 10, "2024-02-01").target("t", "a", 10, "2024-03-01").build()
    p = plan(snap, PolicyName.CONSIGNED)
    assert p.powered is p.holdings
    assert [t.powered_at_by for t in p.targets] == [t.held_at_by for t in p.targets]


def test_a_site_without_power_steps_states_no_limit() -> None:
    s = replace(scenario_of("divert-no-room"), sites=(Site(id="t-site", org="tesla"),))
    snap = books(s)
    assert snap.power_cap is None
    p = plan(snap, PolicyName.CONSIGNED)
    assert all(r.capacity is None and r.powered == r.held for r in p.orgs)


def test_two_skus_share_one_site() -> None:
    """One site's power shared by two SKUs, powered in the snapshot's SKU order."""
    s = SnapBuilder(skus=("H100", "HALF"), orgs={"a": None})
    snap = s.lot("L1", "a", 600, "2024-02-01", sku="HALF").lot("L2", "a", 900, "2024-02-01").build()
    # the site runs 1,000 H100 or 2,000 HALF (half the draw); H100 comes first:
    # 900 of 1,000 uses 0.9 of the power, leaving 0.1 x 2,000 = 200 HALF.
    cap = np.array([[[1000, 1000], [2000, 2000]]], dtype=np.int64)
    snap = replace(snap, power_day=np.array([snap.as_of_day], dtype=np.int64), power_cap=cap)
    held = np.array([[[900], [600]]], dtype=np.int64)
    out = powered_curves(snap, held, snap.as_of_day)
    assert out[0, :, 0].tolist() == [900, 200]
