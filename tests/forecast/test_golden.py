"""Golden forecast and claims JSON: scenario -> ledger -> services -> JSON, by hand.

golden/README.md shows the arithmetic. With no spread the forecast is the plan,
failures on (replaced) or off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gpuledger.claims import claims_report
from gpuledger.ledger import Ledger
from gpuledger.scenario import load_scenario
from gpuledger.services.claims import check
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.planning import plan_report

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Path, Ledger]]:
    folder = GOLDEN / request.param
    ledger = Ledger.open("sqlite://")
    ledger.import_scenario(load_scenario(folder / "scenario.yaml"))
    yield folder, ledger
    ledger.close()


def expected(folder: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / f"expected_{name}.json").read_text(encoding="utf-8"))


def test_golden_forecast(case: tuple[Path, Ledger]) -> None:
    folder, ledger = case
    assert forecast_report(ledger, samples=10, seed=0).to_json() == expected(folder, "forecast")


def test_golden_claims(case: tuple[Path, Ledger]) -> None:
    folder, ledger = case
    got = claims_report(check(ledger, samples=10, seed=0))
    assert got == expected(folder, "claims")


@pytest.mark.parametrize("failures", [True, False], ids=["failures-on", "failures-off"])
def test_no_spread_forecast_is_the_plan(case: tuple[Path, Ledger], failures: bool) -> None:
    _, ledger = case
    plan = {t.id: t.completed_on for t in plan_report(ledger).targets}
    fc = forecast_report(ledger, samples=10, seed=0, failures=failures).to_json()
    for t in fc["targets"]:
        done = plan[t["id"]]
        want = None if done is None else date.isoformat(done)
        assert t["p10"] == t["p50"] == t["p90"] == want


def test_a_scenario_saying_no_replacement_loses_units(tmp_path: Path) -> None:
    # the golden case with replace_failed false and a high rate: t loses units for good
    text = (GOLDEN / "payback-claims" / "scenario.yaml").read_text(encoding="utf-8")
    text = text.replace("claim_tolerance: 0.05", "claim_tolerance: 0.05\n  replace_failed: false")
    text = text.replace("annual_failure_rate: 0.09", "annual_failure_rate: 0.9")
    path = tmp_path / "lost.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.parameters.replace_failed is False
    ledger = Ledger.open("sqlite://")
    try:
        ledger.import_scenario(scenario)
        assert ledger.to_scenario().parameters.replace_failed is False  # stored and read back
        fc = forecast_report(ledger, samples=20, seed=0)
    finally:
        ledger.close()
    assert "lost (not replaced)" in fc.to_json()["failures"]
    eoy = next(t for t in fc.to_json()["targets"] if t["id"] == "t-eoy")
    assert eoy["on_time_probability"] == 0.0  # 300 exactly, some lost before the last lot
