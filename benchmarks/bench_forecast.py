"""Forecast benchmark: Monte Carlo samples at hyperscaler size (issue 4).

The speed-up compares CPU time with CPU time for a local run (robust on a shared
machine), and the naive loop's CPU time with the wall time of a Dask run.

Run: ``python -m benchmarks.bench_forecast [--samples N] [--size hyperscaler]
[--naive-samples K] [--no-failures] [--workers N | --threads N] [--sites]``.

``--sites`` also times each policy on the same fleet with every org's sites
stating a capacity (:func:`fleet_power`), so the powered measure is computed,
and prints its cost over the run without sites (issue 13).

A local run uses ``forecast()``'s default thread pool (``min(2, cpu_count)``
threads) unless ``--threads`` says otherwise; its CPU time then exceeds its
wall time, and the speed-up compares the naive loop's CPU time with the
forecast's wall time whenever more than one thread or worker runs.

It times the *floor* (issue 16): what any Monte Carlo over these lots must
at least do, in NumPy, one thread, by blocks of ``BLOCK_SIZE`` samples: one
uniform per sample and lot, one sort of each sample's row, and four passes over
the ``[samples x lots]`` int64 array (a cast, a running sum, a subtraction, a
comparison). Each policy's line then gives the forecast's CPU time over the
floor's (the aim: within 5x). The floor is timed again right before each
policy, and each ratio uses the floor timed next to it, so a shared machine's
load drifting during the run moves both sides alike.

For ``consigned`` and ``priority`` it times ``forecast()`` (batch kernels) on
``--samples`` samples and a naive loop that replans one sample at a time with
``plan()`` on ``--naive-samples`` samples (same draws, same failures), then
extrapolates the naive time linearly to ``--samples`` and says so.

The forecast's kernels are compiled by numba (issue 16, fourth round) on first
use and cached on disk. Before any timing the benchmark runs one block of each
policy (compiling the kernels, or loading them from numba's cache) and prints
how long that took; it also prints the *cold* compile time, measured in a child
process given an empty cache directory of its own (``NUMBA_CACHE_DIR``, set for
that child only): its first one-block forecasts less its second ones. With
``--workers`` every run starts workers of its own, which load the kernels from
the cache again inside the timed wall time (as they start their processes).
Figures go to stdout; the lead copies them into docs/benchmarks.md. Not a test: nothing asserts
a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from benchmarks.fleet import make_fleet
from gpuledger.domain import PolicyName
from gpuledger.forecast import Forecast, forecast
from gpuledger.forecast.blocks import BLOCK_SIZE, Job, run_block
from gpuledger.forecast.engine import curve_day0, default_threads
from gpuledger.forecast.kernels import reference_pieces
from gpuledger.forecast.layout import build_layout
from gpuledger.forecast.sampling import arrival_model
from gpuledger.planning.snapshot import PlanningSnapshot


def naive_seconds(
    snapshot: PlanningSnapshot,
    policy: PolicyName,
    samples: int,
    seed: int,
    args: argparse.Namespace,
) -> float:
    """CPU seconds to run ``samples`` samples replanning each one with ``plan()``."""
    import gpuledger.forecast.blocks as blocks

    layout = build_layout(
        snapshot,
        day0=curve_day0(snapshot),
        curve_step_days=args.curve_step_days,
        failures=not args.no_failures,
    )
    job = Job(
        snapshot, policy, arrival_model(snapshot), layout, seed, samples, args.failure_bucket_days
    )
    namespace = vars(blocks)
    saved = namespace["gross_pieces"]
    namespace["gross_pieces"] = reference_pieces  # the same block, planned sample by sample
    try:
        start = time.process_time()
        for b in range(job.n_blocks):
            run_block(job, b)
        return time.process_time() - start
    finally:
        namespace["gross_pieces"] = saved


def fleet_power(snapshot: PlanningSnapshot) -> PlanningSnapshot:
    """The fleet with every org's sites stating a capacity, so the powered measure binds.

    Per org and SKU: 60% of the units it is expected to hold (its supply rows)
    until 180 days after ``as_of``, 90% from then; clusters state none. A bench
    fixture, not data.
    """
    s = snapshot
    n_orgs, n_sku = len(s.orgs), len(s.skus)
    units = np.zeros((n_orgs, n_sku), dtype=np.int64)
    np.add.at(units, (s.supply_holder, s.supply_sku), s.supply_qty)
    cap = np.full((len(s.consumers), n_sku, 2), -1, dtype=np.int64)
    cap[:n_orgs, :, 0] = units * 6 // 10
    cap[:n_orgs, :, 1] = units * 9 // 10
    return replace(s, power_day=np.array([s.as_of_day + 180], dtype=np.int64), power_cap=cap)


def floor_seconds(samples: int, lots: int, seed: int) -> float:
    """CPU seconds of the floor: RNG, one row sort, four int64 passes (one thread)."""
    start = time.process_time()
    checksum = 0
    for b in range(-(-samples // BLOCK_SIZE)):
        n = min(BLOCK_SIZE, samples - b * BLOCK_SIZE)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(b,))))
        day = (rng.random((n, lots)) * 1_000).astype(np.int64)  # RNG + pass 1 (cast)
        day.sort(axis=1)  # the row sort
        end = np.cumsum(day, axis=1)  # pass 2
        start_units = end - day  # pass 3
        checksum += int(np.count_nonzero(start_units < end))  # pass 4
    assert checksum >= 0
    return time.process_time() - start


def warm_up(snapshot: PlanningSnapshot, run: Callable[..., Forecast]) -> float:
    """Wall seconds of one block of each policy: numba compiles or loads the kernels."""
    start = time.perf_counter()
    for policy in (PolicyName.CONSIGNED, PolicyName.PRIORITY):
        run(snapshot, policy, samples=BLOCK_SIZE)
    return time.perf_counter() - start


def cold_compile_seconds(argv: list[str]) -> float:
    """Seconds numba takes to compile the kernels with no cache: in a child process.

    The child (this benchmark with ``--compile-only``) gets an empty cache
    directory of its own and prints its first warm-up (compiling) and its second
    (compiled); the difference is the compile time.
    """
    with tempfile.TemporaryDirectory() as cache:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_forecast", *argv, "--compile-only"],
            env={**os.environ, "NUMBA_CACHE_DIR": cache},
            check=True,
            capture_output=True,
            text=True,
        )
    first, second = (float(x) for x in child.stdout.split())
    return first - second


def main() -> None:
    """Parse the arguments, run, print one line per policy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="hyperscaler")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--naive-samples", type=int, default=BLOCK_SIZE // 8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-failures", action="store_true")
    parser.add_argument("--curve-step-days", type=int, default=28)
    parser.add_argument("--failure-bucket-days", type=int, default=1)
    parser.add_argument("--sites", action="store_true", help="also time the powered measure")
    parser.add_argument("--compile-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    snap = make_fleet(args.size, seed=0)
    threads = args.threads or default_threads()

    def run(
        snapshot: PlanningSnapshot, policy: PolicyName, samples: int = args.samples
    ) -> Forecast:
        """The forecast the benchmark times, of ``snapshot`` under ``policy``."""
        return forecast(
            snapshot,
            policy,
            samples=samples,
            seed=args.seed,
            workers=args.workers,
            threads=None if args.workers else threads,
            failures=not args.no_failures,
            curve_step_days=args.curve_step_days,
            failure_bucket_days=args.failure_bucket_days,
        )

    if args.compile_only:
        print(warm_up(snap, run), warm_up(snap, run))
        return
    lots = len(snap.supply_id)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    where = f"{args.workers} Dask workers" if args.workers else f"local, {threads} thread(s)"
    print(
        f"fleet {args.size}: {lots} supply rows, {len(snap.target_id)} targets, "
        f"{len(snap.consumers)} consumers; {args.samples} samples; "
        f"failures {'off' if args.no_failures else 'on'}; cpus {os.cpu_count()}; "
        f"{where}; curves every {args.curve_step_days} days; "
        f"failure buckets of {args.failure_bucket_days} days"
    )
    argv = [a for a in sys.argv[1:] if a != "--sites"]  # the child compiles without sites
    print(
        f"numba: cold compile {cold_compile_seconds(argv):.2f} s (child process, empty cache); "
        f"warm-up here {warm_up(snap, run):.2f} s wall (compile or load from cache, untimed below)"
    )
    for policy in (PolicyName.CONSIGNED, PolicyName.PRIORITY):
        floor = floor_seconds(args.samples, lots, args.seed)
        print(
            f"floor (RNG, one row sort, four int64 passes; 1 thread): {floor:.2f} s CPU "
            f"for {args.samples} x {lots} sample-lots"
        )
        start, cpu = time.perf_counter(), time.process_time()
        result = run(snap, policy)
        fast = time.perf_counter() - start
        cpu = time.process_time() - cpu
        naive_n = min(args.naive_samples, args.samples)
        naive = naive_seconds(snap, policy, naive_n, args.seed, args) * args.samples / naive_n
        on_time = float(np.mean(result.on_time_probability()))
        parallel = bool(args.workers) or threads > 1
        base = fast if parallel else cpu
        print(
            f"{policy!s:10s} forecast {fast:7.2f} s wall"
            + (
                ""
                if args.workers
                else f" ({cpu:.2f} s CPU, {cpu / args.samples * 1e3:.2f} ms/sample)"
            )
            + "  "
            f"{args.samples * lots / fast / 1e6:7.2f} M sample-lots/s  "
            f"naive plan() loop {naive:8.1f} s CPU (timed on {naive_n} samples, extrapolated "
            f"x{args.samples / naive_n:.0f})  speed-up x{naive / base:.1f}  "
            f"mean on-time {on_time:.3f}; CPU / floor x{cpu / floor:.1f}; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        if args.sites:
            powered_cpu = time.process_time()
            with_sites = run(fleet_power(snap), policy)
            powered_cpu = time.process_time() - powered_cpu
            held_same = with_sites.on_time_probability() == result.on_time_probability()
            print(
                f"{policy!s:10s} with sites: {powered_cpu:.2f} s CPU, x{powered_cpu / cpu:.2f} the "
                f"run without (powered measure); CPU / floor x{powered_cpu / floor:.1f}; mean "
                f"on-time held {on_time:.3f} (unchanged: {held_same}), powered "
                f"{float(np.mean(with_sites.powered_on_time_probability())):.3f}; "
                f"load average {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
