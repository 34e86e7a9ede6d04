"""Compile the forecast's kernels before a first forecast needs them.

``python -m gpuledger.services.warm`` (``make install`` runs it). numba compiles
each kernel of ``forecast.compiled`` and ``forecast.completion`` on its first
call, 6 to 12 s on a 2-core machine, and caches it on disk; this forecasts the
shipped founding story on in-memory books under every batch policy, with
failures replaced and lost, so that the kernels' cache is written here and a
first real forecast (``make demo``'s, a server's first request, a test's) loads
them instead. A kernel asked for with other argument types later (books of more
than 2**31 units) still compiles on its first call.
"""

from __future__ import annotations

import time

from gpuledger.domain import PolicyName
from gpuledger.forecast import forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.ledger import Ledger
from gpuledger.scenario import demo_scenario_path, load_scenario

#: The policies whose forecasts run the compiled batch kernels.
BATCH_POLICIES = (PolicyName.CONSIGNED, PolicyName.PRIORITY)


def warm() -> float:
    """Run every compiled kernel once (compiled, or loaded from numba's cache); seconds."""
    start = time.perf_counter()
    scenario = load_scenario(demo_scenario_path())
    books = Ledger.open("sqlite://")
    try:
        books.import_scenario(scenario)
        snapshot = books.snapshot(scenario.as_of)
    finally:
        books.close()
    for policy in BATCH_POLICIES:
        for replace in (True, False):
            model = FailureModel(replace=replace)
            forecast(snapshot, policy, samples=8, seed=0, threads=1, failure_model=model)
    return time.perf_counter() - start


def main() -> None:
    """Warm the kernels and say how long it took."""
    print(f"forecast kernels ready in {warm():.1f} s")


if __name__ == "__main__":
    main()
