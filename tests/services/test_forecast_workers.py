"""A server's forecasts in worker processes: the same answer, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gpuledger.config import ServerSettings
from gpuledger.domain import Unavailable
from gpuledger.ledger import Ledger
from gpuledger.scenario import load_scenario
from gpuledger.server import create_app
from gpuledger.services.errors import http_status
from gpuledger.services.forecast_workers import ForecastWorkers
from gpuledger.services.forecasting import forecast_job, forecast_report
from tests.api.conftest import FLEET, add_users, cheap_hasher
from tests.api.live import LiveServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 2, 1, 12, tzinfo=UTC)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def books(tmp_path: Path) -> Iterator[str]:
    """The API tests' fleet in a SQLite file; its URL."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    ledger = Ledger.open(url, clock=lambda: NOW)
    ledger.import_scenario(load_scenario(FLEET), actor="setup")
    ledger.close()
    yield url


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _until(condition: object, what: str, seconds: float = 60.0) -> None:
    """Wait for ``condition()`` (a liveness bound, not a speed claim)."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("samples", "seed", "failures"),
    [(300, 7, True), (64, 0, False)],
    ids=["with-failures", "without-failures"],
)
def test_a_forecast_in_a_worker_equals_the_one_in_process(
    books: str, samples: int, seed: int, failures: bool
) -> None:
    ledger = Ledger.open(books, clock=lambda: NOW)
    workers = ForecastWorkers(1)
    try:
        job = forecast_job(ledger, samples=samples, seed=seed, failures=failures)
        here = forecast_report(ledger, samples=samples, seed=seed, failures=failures).to_json()
        assert workers.forecast_json(job) == here  # not started: in this process
        workers.start()
        assert workers.started and workers.pids()
        there = workers.forecast_json(job)
        assert there == here
        assert there["targets"] and there["samples"] == samples
        assert os.getpid() not in workers.pids()
    finally:
        workers.close()
        ledger.close()


def test_closing_the_pool_ends_its_processes(books: str) -> None:
    workers = ForecastWorkers(2)
    workers.start()
    ledger = Ledger.open(books, clock=lambda: NOW)
    try:
        workers.forecast_json(forecast_job(ledger, samples=10, seed=1))
        pids = workers.pids()
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        workers.close()
        ledger.close()
    assert not workers.started and workers.pids() == []
    assert not [p for p in pids if _alive(p)]


@linux_only
def test_a_dead_worker_is_replaced_for_the_next_forecast(books: str) -> None:
    workers = ForecastWorkers(1)
    workers.start()
    ledger = Ledger.open(books, clock=lambda: NOW)
    try:
        job = forecast_job(ledger, samples=20, seed=6)
        assert workers.forecast_json(job) == job.run().to_json()
        [pid] = workers.pids()
        os.kill(pid, signal.SIGKILL)  # the out-of-memory killer, say
        _until(lambda: not _alive(pid), "the worker did not die")
        with pytest.raises(Unavailable, match="worker stopped") as met:
            workers.forecast_json(job)  # the request that met the dead worker: 503, retry
        assert http_status(met.value) == 503 and met.value.retry_after >= 1
        assert workers.forecast_json(job) == job.run().to_json()  # the next one works
        assert workers.pids() and pid not in workers.pids()
    finally:
        workers.close()
        ledger.close()


def test_no_processes_runs_forecasts_in_the_server(books: str) -> None:
    workers = ForecastWorkers(0)
    workers.start()
    assert not workers.started and workers.pids() == []
    ledger = Ledger.open(books, clock=lambda: NOW)
    try:
        job = forecast_job(ledger, samples=20, seed=2)
        assert workers.forecast_json(job) == job.run().to_json()
    finally:
        ledger.close()


UNGUARDED = """
from datetime import UTC, datetime
from gpuledger.ledger import Ledger
from gpuledger.services.forecast_workers import ForecastWorkers
from gpuledger.services.forecasting import forecast_job

# No `if __name__ == "__main__":` guard: a worker that ran this again would fail.
ledger = Ledger.open(URL, clock=lambda: datetime(2024, 2, 1, tzinfo=UTC))
workers = ForecastWorkers(1)
workers.start()
job = forecast_job(ledger, samples=20, seed=4)
assert workers.forecast_json(job) == job.run().to_json()
workers.close()
print("same answer")
"""


def test_a_main_script_without_a_guard_is_not_run_again_by_the_workers(
    books: str, tmp_path: Path
) -> None:
    script = tmp_path / "serve.py"
    script.write_text(f"URL = {books!r}\n" + UNGUARDED)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "same answer"


@linux_only
def test_the_api_starts_the_workers_with_the_server_and_stops_them_with_it(books: str) -> None:
    settings = ServerSettings(forecast_processes=1)
    app = create_app(books, clock=lambda: NOW, hasher=cheap_hasher(), settings=settings)
    in_process = ServerSettings(forecast_processes=0)
    alone = create_app(books, clock=lambda: NOW, hasher=cheap_hasher(), settings=in_process)
    token = add_users(app.state.backend.gov)["viewer"]
    auth = {"Authorization": f"Bearer {token}"}
    workers: ForecastWorkers = app.state.forecast_workers
    assert not workers.started  # before the server starts
    with TestClient(app) as client, TestClient(alone) as local:
        pids = workers.pids()
        assert workers.started and pids and all(_alive(p) for p in pids)
        assert not alone.state.forecast_workers.started
        query = "/api/v1/forecast?samples=200&seed=5"
        there = client.get(query, headers=auth)
        here = local.get(query, headers=auth)
        assert there.status_code == 200, there.text
        assert there.json() == here.json()
        assert {t["id"] for t in there.json()["targets"]} == {"tesla-h1", "tesla-train-h2"}
    assert not workers.started
    assert not [p for p in pids if _alive(p)]
    app.state.backend.ledger.close()
    alone.state.backend.ledger.close()


@linux_only
def test_the_workers_end_when_the_server_is_killed(books: str) -> None:
    server = LiveServer.start(books)
    try:
        _until(lambda: len(_children(server.process.pid)) >= 3, "the workers never started")
        workers = _children(server.process.pid)
        assert all(_alive(p) for p in workers)
        server.kill()  # SIGKILL: no lifespan shutdown, no atexit
        _until(lambda: not [p for p in workers if _alive(p)], "workers outlived their server")
    finally:
        server.stop()


@linux_only
def test_the_workers_end_when_the_server_is_terminated(books: str) -> None:
    server = LiveServer.start(books)
    try:
        httpx.get(f"{server.base}/openapi.json", timeout=30)
        _until(lambda: len(_children(server.process.pid)) >= 3, "the workers never started")
        workers = _children(server.process.pid)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        _until(lambda: not [p for p in workers if _alive(p)], "workers outlived their server")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (2, 500)),
        ({"GPULEDGER_FORECAST_PROCESSES": "0", "GPULEDGER_REFUSAL_DELAY_MS": "0"}, (0, 0)),
        ({"GPULEDGER_FORECAST_PROCESSES": "4", "GPULEDGER_REFUSAL_DELAY_MS": "250"}, (4, 250)),
    ],
    ids=["defaults", "zero", "given"],
)
def test_the_settings_of_workers_and_tarpit(env: dict[str, str], expected: tuple[int, int]) -> None:
    settings = ServerSettings.from_env(env)
    assert (settings.forecast_processes, settings.refusal_delay_ms) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"GPULEDGER_FORECAST_PROCESSES": "-1"},
        {"GPULEDGER_REFUSAL_DELAY_MS": "-5"},
        {"GPULEDGER_AUTH_FAILURES": "0"},  # zero is allowed only where it means "none"
    ],
    ids=["negative-processes", "negative-delay", "zero-failures"],
)
def test_settings_below_their_floor_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="whole number of"):
        ServerSettings.from_env(env)


def test_a_claims_check_forecasts_in_a_worker_too(
    books: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GET /claims`` forecasts (target claims) in the pool, not in the server's process.

    A forecast run in the server's process here fails (patched); the workers,
    fresh interpreters, run the real one. The answer equals the in-process one.
    """
    in_process = ServerSettings(forecast_processes=0)
    alone = create_app(books, clock=lambda: NOW, hasher=cheap_hasher(), settings=in_process)
    token = add_users(alone.state.backend.gov)["viewer"]
    auth = {"Authorization": f"Bearer {token}"}
    query = "/api/v1/claims?samples=200&seed=5"
    with TestClient(alone) as local:
        here = local.get(query, headers=auth)
    assert here.status_code == 200, here.text
    assert any(c["forecast_p90"] is not None for c in here.json()["claims"]), here.json()
    alone.state.backend.ledger.close()

    def in_the_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a claims forecast ran in the server's process")

    monkeypatch.setattr("gpuledger.services.forecasting.ForecastJob.run", in_the_server)
    settings = ServerSettings(forecast_processes=1)
    app = create_app(books, clock=lambda: NOW, hasher=cheap_hasher(), settings=settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        there = client.get(query, headers={"Authorization": f"Bearer {token}"})
    assert there.status_code == 200, there.text
    assert there.json() == here.json()
    app.state.backend.ledger.close()
