"""``python -m gpuledger.services.warm`` (run by ``make install``) compiles what forecasts run.

A kernel it does not compile, or compiles for other argument types than a
forecast passes, would compile on a user's first forecast (seconds) instead of
loading from numba's cache. Checked in a fresh interpreter (in this one other
tests have run the kernels already): after ``warm()``, forecasts of other books
under every batch policy and failure mode add no compiled signature.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json
from numba.core.dispatcher import Dispatcher
from gpuledger.forecast import compiled, completion, forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.services.warm import BATCH_POLICIES, warm
from tests.forecast.test_kernels import random_snapshot

kernels = {f"{m.__name__}.{name}": k for m in (compiled, completion)
           for name, k in vars(m).items() if isinstance(k, Dispatcher)}
warm()
warmed = {name: set(k.signatures) for name, k in kernels.items()}
for seed in range(4):
    for policy in BATCH_POLICIES:
        for replace in (True, False):
            for bucket in (1, 7):
                forecast(random_snapshot(seed), policy, samples=16, seed=1, threads=1,
                         failure_model=FailureModel(replace=replace), failure_bucket_days=bucket)
added = {n: sorted(map(str, set(k.signatures) - warmed[n])) for n, k in kernels.items()}
print(json.dumps({"warmed": sum(map(len, warmed.values())),
                  "added": {n: a for n, a in added.items() if a}}))
"""


def test_warming_compiles_what_forecasts_run() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True, text=True, timeout=600, check=True, cwd=root,
    )  # fmt: skip
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["warmed"] >= 5, found
    assert found["added"] == {}, f"compiled after warm(): {found['added']}"
