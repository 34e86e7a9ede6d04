"""Run a forecast: blocks of samples, locally in NumPy batches or on a Dask cluster.

Both paths run the same :func:`~gpuledger.forecast.blocks.run_block` on the same
blocks and put the results back in block order, so for one seed they give the
same arrays, whatever the batch size, the number of local threads or the number
of workers. Locally, batches run on a pool of threads (NumPy releases the GIL in
its sorts, running sums, ufuncs and random draws).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import mmap
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName
from gpuledger.forecast.blocks import BLOCK_SIZE, BlockResult, Job, run_block
from gpuledger.forecast.failures import FailureModel
from gpuledger.forecast.kernels import batch_plan
from gpuledger.forecast.layout import build_layout
from gpuledger.forecast.powered import build_power_cells
from gpuledger.forecast.result import Forecast
from gpuledger.forecast.sampling import arrival_model
from gpuledger.planning import PlanningSnapshot, plan_day0

__all__ = ["Progress", "curve_day0", "default_threads", "forecast", "tune_malloc"]

Progress = Callable[[int, int], None]
"""A progress hook: called with (samples done, samples in all) after each block."""


def _run_blocks(job: Job, blocks: Sequence[int]) -> list[BlockResult]:
    """A batch: whole blocks run one after the other (a Dask task, or a local step)."""
    return [run_block(job, b) for b in blocks]


def _batches(n_blocks: int, per_batch: int) -> list[list[int]]:
    return [list(range(b, min(b + per_batch, n_blocks))) for b in range(0, n_blocks, per_batch)]


def default_threads() -> int:
    """Threads of a local run when none is asked for: ``min(2, os.cpu_count())``."""
    return max(min(2, os.cpu_count() or 1), 1)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_malloc_tuned = False


def tune_malloc() -> bool:
    """Keep NumPy's large temporaries on one glibc heap (once per process; glibc only).

    With its defaults glibc maps and unmaps every array over a few MB and gives
    each thread its own arena: threads running blocks side by side then spend
    their time in page faults and kernel locks (measured: 2 threads 0.85x the
    speed of 1), and one thread pays the page faults too (every local run
    calls this). Arrays up to 32 MiB come from the heap, freed memory up to
    256 MiB is kept, and all threads share the main arena (the Dask workers we
    start get the same thresholds through their environment). Returns False where
    ``mallopt`` is not available (not glibc), and changes nothing there.
    """
    global _malloc_tuned
    if _malloc_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = all(
        int(mallopt(option, value)) == 1
        for option, value in (
            (_M_TRIM_THRESHOLD, 1 << 28),
            (_M_MMAP_THRESHOLD, 1 << 25),
            (_M_ARENA_MAX, 1),
        )
    )
    _malloc_tuned = ok
    return ok


def _local(job: Job, batches: list[list[int]], threads: int) -> Iterator[list[BlockResult]]:
    tune_malloc()  # one thread too: mapping each large temporary costs page faults
    if threads <= 1 or len(batches) <= 1:
        for batch in batches:
            yield _run_blocks(job, batch)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="forecast")
    try:
        # `threads` batches run at a time; results come back in batch order
        # each future dropped once read, so a batch's arrays are freed once copied
        futures = deque(pool.submit(_run_blocks, job, batch) for batch in batches)
        while futures:
            yield futures.popleft().result()
    finally:
        # on an error (or a progress hook raising) drop the batches not started
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(
    job: Job, batches: list[list[int]], workers: int | None, scheduler: str | None
) -> Iterator[list[BlockResult]]:
    import dask
    import distributed

    dist: Any = distributed  # untyped library: keep its calls out of strict checking
    cluster: Any = None
    if scheduler is None:
        # Dask starts workers with MALLOC_TRIM_THRESHOLD_=64 KiB, which makes glibc map
        # and unmap every large NumPy array of every block: ~30% more CPU, measured.
        # Our own workers keep big arrays on the heap instead (32 MiB mmap threshold).
        environ = "distributed.nanny.pre-spawn-environ."
        with dask.config.set(
            {
                environ + "MALLOC_TRIM_THRESHOLD_": 1 << 28,
                environ + "MALLOC_MMAP_THRESHOLD_": 1 << 25,
            }
        ):
            cluster = dist.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # no fixed port: runs side by side never collide
            )
        client = dist.Client(cluster)
    else:
        client = dist.Client(scheduler)
    try:
        [shared] = client.scatter([job], broadcast=True)
        futures = [client.submit(_run_blocks, shared, batch, pure=False) for batch in batches]
        for future in dist.as_completed(futures):
            batch = future.result()
            future.release()  # the worker may drop the block's arrays now
            yield batch
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_OUTPUTS = ("completed", "curves", "interruptions", "failures", "power_short")
"""The arrays of a :class:`BlockResult` stacked, in sample order, into the :class:`Forecast`."""


_OWN_MAPPING_BYTES = 1 << 25
"""Outputs from this size up get an anonymous mapping of their own (see :func:`_output`)."""


def _output(shape: tuple[int, ...], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """An uninitialised array for a whole-run output, in ordinary pages when large.

    NumPy advises the kernel to back every array of 4 MiB or more with
    transparent huge pages. An output is written once, block by block, and
    where that advice is followed each first write zeroes a fresh 2 MiB page:
    measured on the 2-core machine (2026-11-30), a 10,000-sample hyperscaler
    forecast spent 0.7-1.1 s of system CPU filling its 320 MB of outputs that
    way, against 0.3-0.5 s in 4 KiB pages. A mapping of our own gets no such
    advice (arrays this large are mapped, not taken from the heap, either way).
    Where the system has ``MAP_POPULATE`` (Linux) the mapping's pages are filled
    when it is made, in one go, not by one fault per page as blocks are copied
    in: measured (2026-11-30, one thread, 10,000-sample hyperscaler consigned
    run) 0.09 s of system CPU against 0.21-0.27 s.
    """
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < _OWN_MAPPING_BYTES:
        return np.empty(shape, dtype=dtype)
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate
        return np.frombuffer(mmap.mmap(-1, nbytes, flags=flags), dtype=dtype).reshape(shape)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)


def _gather(
    stream: Iterable[list[BlockResult]], samples: int, n_blocks: int, progress: Progress | None
) -> dict[str, npt.NDArray[Any]]:
    """Each block's arrays copied into whole-run arrays as the block arrives.

    Rather than concatenated at the end: each output is written once, and a block's
    arrays are freed as soon as they are copied, so the next blocks reuse their
    memory instead of growing the heap by the outputs' size (fresh pages cost
    page faults). ``progress`` is called after each batch.
    """
    out: dict[str, npt.NDArray[Any]] = {}
    seen = np.zeros(n_blocks, dtype=bool)
    done = 0
    for batch in stream:
        done += _take(out, seen, batch, samples)
        del batch  # freed before the next batch is computed (one thread: in next())
        if progress is not None:
            progress(done, samples)
    assert bool(seen.all()), "every block must report"
    return out


def _take(
    out: dict[str, npt.NDArray[Any]],
    seen: npt.NDArray[np.bool_],
    batch: list[BlockResult],
    samples: int,
) -> int:
    """A batch's arrays copied into the whole-run ``out`` (made on the first block);
    its samples. A function of its own, so no loop variable outlives the batch."""
    done = 0
    for r in batch:
        lo = r.block * BLOCK_SIZE
        for name in _OUTPUTS:
            part: npt.NDArray[Any] = getattr(r, name)
            if name not in out:
                out[name] = _output((samples, *part.shape[1:]), part.dtype)
            out[name][lo : lo + part.shape[0]] = part
        seen[r.block] = True
        done += r.completed.shape[0]
    return done


def curve_day0(snapshot: PlanningSnapshot) -> int:
    """First day of the curves: the planner's ``day0`` for the snapshot as it stands.

    It is the earliest of ``as_of``, every target's ``by`` and every supply row in
    the horizon; a sample never moves supply before ``as_of + 1``, so every
    sample's plan starts on this day or later.
    """
    return plan_day0(snapshot)


def forecast(
    snapshot: PlanningSnapshot,
    policy: PolicyName | str = PolicyName.PRIORITY,
    *,
    samples: int,
    seed: int,
    batch_size: int = 4 * BLOCK_SIZE,
    workers: int | None = None,
    scheduler: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    failures: bool = True,
    failure_model: FailureModel | None = None,
    failure_bucket_days: int = 1,
    curve_step_days: int = 7,
    curve_days: Iterable[date] = (),
) -> Forecast:
    """Monte Carlo forecast of a plan: completion quantiles and holdings fans.

    Args:
        snapshot: the books and expectations (never modified); with its sites'
            power attached (:func:`gpuledger.planning.with_sites`) the result
            also has the powered measure (powered.py).
        policy: the planning policy each sample is planned under.
        samples: number of samples (>= 1).
        seed: the run's seed; the same seed gives the same answer whatever
            ``batch_size``, ``workers`` or ``scheduler``.
        batch_size: samples per local step or Dask task, rounded up to whole
            blocks of ``BLOCK_SIZE`` samples (memory vs. overhead only).
        workers: start a local Dask cluster of that many single-threaded
            worker processes.
        scheduler: address ``tcp://host:port`` of an existing Dask scheduler
            (takes precedence over ``workers``).
        threads: local runs only (no ``workers``, no ``scheduler``): batches run
            on this many threads; None means :func:`default_threads`. The answer
            does not depend on it.
        progress: called with (samples done, samples in all) after each batch.
        failures: False ignores the SKUs' failure rates (no interruption, no failure).
        failure_model: interruptions, repair and replacement (default:
            :class:`FailureModel`, calibrated on Llama 3, failures replaced).
        failure_bucket_days: length of a loss-draw bucket when failures are not
            replaced (default 1: daily timing; see failures.py).
        curve_step_days: spacing of the days kept in holdings curves.
        curve_days: extra days to keep exactly in the curves (e.g. claim dates).

    Raises:
        ValueError: ``samples`` < 1, or a bucket, step, batch size or thread count < 1.
        ScenarioError: a lead-time or slip model is malformed.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if min(batch_size, failure_bucket_days, curve_step_days) < 1:
        raise ValueError("batch_size, failure_bucket_days and curve_step_days must be >= 1")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    policy = PolicyName(policy)
    model = failure_model or FailureModel()
    # 1. what is fixed for the whole run: arrival model, layout, blocks
    day0 = curve_day0(snapshot)
    layout = build_layout(
        snapshot,
        day0=day0,
        curve_step_days=curve_step_days,
        curve_days=[d.toordinal() for d in curve_days],
        failures=failures,
    )
    job = Job(
        snapshot=snapshot,
        policy=policy,
        model=arrival_model(snapshot),
        layout=layout,
        seed=seed,
        samples=samples,
        failure_bucket_days=failure_bucket_days,
        failure_model=model,
        power=build_power_cells(snapshot, layout),
        kernel=batch_plan(snapshot, policy, layout),
    )
    batches = _batches(job.n_blocks, -(-batch_size // BLOCK_SIZE))
    # 2. run the batches, locally or on Dask
    if scheduler is not None or workers is not None:
        stream = _dask(job, batches, workers, scheduler)
    else:
        stream = _local(job, batches, default_threads() if threads is None else threads)
    out = _gather(stream, samples, job.n_blocks, progress)
    return Forecast(
        samples=samples,
        seed=seed,
        policy=policy,
        snapshot=snapshot,
        layout=layout,
        completed=out["completed"],
        curves=out["curves"],
        interruptions=out["interruptions"],
        failures=out["failures"],
        power_short=out["power_short"],
        failure_model=model if failures else None,
    )
