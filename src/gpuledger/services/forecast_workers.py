"""A server's forecasts in worker processes, so its event loop keeps the cores.

A forecast of 20,000 samples is seconds of NumPy work. Run in the server's own
process, its threads take both cores and contend for the GIL with every
request, and a legitimate client waits hundreds of milliseconds behind a flood
of forecasts (``benchmarks/bench_api.py --attack``). Here the work runs in a
pool of worker processes created when the server starts and shut down with it:

- each worker is *spawned* (a fresh interpreter), never forked from a server
  that runs an event loop and threads (a fork copies locks other threads
  hold, which can hang the child); all of them at :meth:`ForecastWorkers.start`,
  without the server's ``__main__``: a spawned child re-runs the parent's main
  script by default, and a script that builds and serves the app without an
  ``if __name__ == "__main__"`` guard would start the app again in every
  worker (multiprocessing refuses, and the pool breaks);
- it runs at a lower priority (``os.nice(WORKER_NICE)``): when the cores are
  short the kernel runs the server's requests first;
- it ignores SIGINT (Ctrl-C reaches the whole process group; the server shuts
  the pool down in order), and it ends itself when the server's process is
  gone, even after a SIGKILL: uvicorn ends a server on SIGTERM by re-raising
  the signal once it has stopped, with no ``atexit``, and workers left behind
  would hold the server's output pipes open (whoever reads them to the end
  hangs);
- it receives a :class:`~gpuledger.services.forecasting.ForecastJob` (the
  books' snapshot, read by the server) and answers ``Forecast.to_json()`` (or,
  for a claims check, the ``Forecast`` itself), the same function a forecast in
  the server's process runs: the same answer for the same seed.

How much may run at once is not decided here: the server's forecast budget
(``services.fair_use``) refuses forecasts beyond it before they reach the pool.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any, Final, TypeVar

from gpuledger.domain import Unavailable
from gpuledger.forecast import Forecast
from gpuledger.services.forecasting import ForecastJob, forecast_json, run_job

T = TypeVar("T")

#: How much lower than the server's the workers' priority is (``os.nice``).
WORKER_NICE: Final = 10


class ForecastWorkers:
    """A pool of ``processes`` forecast workers; 0 runs forecasts in this process.

    Until :meth:`start` (and after :meth:`close`) forecasts run in the calling
    process: an app whose lifespan never runs (some tests) still answers.
    """

    def __init__(self, processes: int) -> None:
        assert processes >= 0, processes
        self.processes = processes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """True while a pool of worker processes is running."""
        return self._pool is not None

    def start(self) -> None:
        """Start the worker processes (idempotent; nothing for 0 processes).

        Each worker is asked to get ready at once, so the first forecast does
        not wait for an interpreter to start and NumPy to load.
        """
        with self._lock:
            if self._pool is not None or self.processes == 0:
                return
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        """A pool whose processes have all been spawned (the lock held)."""
        pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), WORKER_NICE),
        )
        # Each submit with no idle worker spawns one: all of them start here.
        with _main_hidden():
            for _ in range(self.processes):
                pool.submit(_ready)
        return pool

    def close(self) -> None:
        """Stop the workers now: forecasts not started are cancelled, the processes ended.

        The server calls this once it has stopped answering requests, so no
        forecast is waited for; a worker still starting (a server that lived a
        moment, as in tests) is not waited for either. They hold no state.
        """
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in _processes(pool).values():
            process.terminate()
        # The pool's own thread sees them end, fails what was pending and reaps them.
        pool.shutdown(wait=True, cancel_futures=True)

    def forecast_json(self, job: ForecastJob) -> dict[str, Any]:
        """``Forecast.to_json()`` of ``job``, run by a worker (or here when not started)."""
        data = self._run(forecast_json, job)
        assert data["samples"] == job.samples, (data["samples"], job.samples)
        return data

    def forecast(self, job: ForecastJob) -> Forecast:
        """The :class:`~gpuledger.forecast.Forecast` of ``job`` itself, run by a worker.

        For callers that read more than its JSON (the claims check reads
        holdings quantiles): the sample arrays cross the process boundary.
        """
        result = self._run(run_job, job)
        assert result.samples == job.samples, (result.samples, job.samples)
        return result

    def _run(self, work: Callable[[ForecastJob], T], job: ForecastJob) -> T:
        """``work(job)`` in a worker (here when the pool is not started)."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return work(job)
        try:
            future: Future[T] = pool.submit(work, job)
            return future.result()
        except BrokenProcessPool as exc:
            self._replace(pool)  # a worker died (killed, out of memory): fresh ones next time
            raise Unavailable(
                "a forecast worker stopped while running this forecast (killed or out of "
                "memory); a new one is starting: retry",
                retry_after=1,
            ) from exc

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Put a new pool in place of ``broken`` (unless closed or replaced meanwhile)."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and tools), empty when not started."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return []
        return sorted(_processes(pool))


def _processes(pool: ProcessPoolExecutor) -> dict[int, Any]:
    """The pool's worker processes by pid (the executor keeps them; no public accessor)."""
    found: dict[int, Any] = getattr(pool, "_processes", None) or {}
    return dict(found)


@contextmanager
def _main_hidden() -> Iterator[None]:
    """While workers are spawned, ``__main__`` is an empty module: they never import it.

    A worker needs nothing of the server's main script (jobs and the function
    they run live in gpuledger), and a script without a main guard must not run
    again in it.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _start_worker(server_pid: int, nice: int) -> None:
    """A worker's first steps: lower priority, leave Ctrl-C to the server, die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    parent = multiprocessing.parent_process()
    assert parent is not None and parent.pid == server_pid, "not a server's worker"
    threading.Thread(
        target=_exit_with, args=(parent.sentinel,), name="server-watch", daemon=True
    ).start()


def _exit_with(sentinel: int) -> None:
    """End this worker once the server's process has ended (however it ended)."""
    wait([sentinel])
    os._exit(0)


def _ready() -> int:
    """Nothing: makes the pool start a worker (which imports the forecast) ahead of use."""
    return os.getpid()
