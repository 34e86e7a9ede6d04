"""One-thread CPU seconds of a 10,000-sample hyperscaler forecast (issue 16's measure).

Run from a tree: ``PYTHONPATH=$PWD/src:$PWD python scripts/forecast_cpu.py POLICY``.
One block is forecast first, untimed (numba compiles or loads the kernels), then
``process_time`` is read around the forecast the issue profiles. Alternate two
trees' runs to compare them on a shared machine.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.fleet import make_fleet

from gpuledger.forecast import forecast
from gpuledger.forecast.blocks import BLOCK_SIZE


def main() -> None:
    """Print the policy, the CPU seconds and the load average."""
    policy = sys.argv[1]
    fleet = make_fleet("hyperscaler", seed=0)
    forecast(fleet, policy, samples=BLOCK_SIZE, seed=1, threads=1, curve_step_days=28)
    start = time.process_time()
    forecast(fleet, policy, samples=10_000, seed=1, threads=1, curve_step_days=28)
    seconds = time.process_time() - start
    print(f"{policy} {seconds:.2f} s CPU; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
