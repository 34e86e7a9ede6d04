"""Hash every output array of ``forecast()`` on fixed fleets (issue 16's equality check).

Run from a tree: ``PYTHONPATH=$PWD/src:$PWD python scripts/forecast_hashes.py > out.txt``;
two trees agree when their outputs are byte-identical. Cases: the hyperscaler fleet
(600 samples; consigned and priority; failures replaced; lost in 7-day buckets;
with sites), and the small example and founding-story books.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from pathlib import Path

import numpy as np
from benchmarks.bench_forecast import fleet_power
from benchmarks.fleet import make_fleet

from gpuledger.forecast import forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.ledger import Ledger
from gpuledger.planning import PlanningSnapshot
from gpuledger.scenario import demo_scenario_path, load_scenario
from gpuledger.services.planning import snapshot


def _digest(result: object) -> str:
    """The first 16 hex digits of a SHA-256 over every array field: name, dtype, shape, bytes."""
    h = hashlib.sha256()
    for f in fields(result):  # type: ignore[arg-type]
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray):
            h.update(f.name.encode())
            h.update(str(value.dtype).encode() + str(value.shape).encode())
            h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()[:16]


def _books(path: Path) -> PlanningSnapshot:
    """The books of a scenario file as of their today, with their sites."""
    ledger = Ledger.open("sqlite://")
    ledger.import_scenario(load_scenario(path), actor="hash")
    return snapshot(ledger)


def main() -> None:
    fleet = make_fleet("hyperscaler", seed=0)
    snaps = {
        "hyperscaler": fleet,
        "hyperscaler+sites": fleet_power(fleet),
        "small": _books(Path("examples/small.yaml")),
        "founding": _books(demo_scenario_path()),
    }
    lost = FailureModel(replace=False)
    for name, snap in snaps.items():
        samples = 600 if name.startswith("hyperscaler") else 300
        for policy in ("consigned", "priority"):
            cases = {"replaced": {}, "lost7": {"failure_model": lost, "failure_bucket_days": 7}}
            if name == "hyperscaler":
                cases["lost1"] = {"failure_model": lost}
                cases["nofail"] = {"failures": False}
            for label, kw in cases.items():
                r = forecast(snap, policy, samples=samples, seed=7, threads=1, **kw)  # type: ignore[arg-type]
                print(f"{name:18s} {policy:10s} {label:8s} {_digest(r)}", flush=True)


if __name__ == "__main__":
    main()
