"""The Monte Carlo forecast of the books (DESIGN section 6), as every interface runs it.

A forecast is read from the books (:func:`forecast_job`: the snapshot, the
claims' days, the failure model) and then computed (:meth:`ForecastJob.run`).
The job holds no connection and pickles, so a server computes it in a worker
process (``services.forecast_workers``) with the very same code and answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gpuledger.domain import Parameters, PolicyName
from gpuledger.forecast import Forecast, Progress, forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.ledger import Ledger
from gpuledger.planning import PlanningSnapshot
from gpuledger.services.planning import books_snapshot
from gpuledger.services.requests import (
    DEFAULT_POLICY,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    ForecastRequest,
)


@dataclass(frozen=True)
class ForecastJob:
    """A forecast read from the books and not yet run: plain data, no connection.

    Attributes:
        snapshot: the books as of / as known on the request's days.
        policy, samples, seed: the Monte Carlo run.
        curve_days: days the holdings curves always include (the claims' days).
        failures: False runs without interruptions or failures.
        failure_model: the books' parameters for interruptions and repairs.
    """

    snapshot: PlanningSnapshot
    policy: PolicyName
    samples: int
    seed: int
    curve_days: tuple[date, ...]
    failures: bool
    failure_model: FailureModel

    def run(
        self,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        progress: Progress | None = None,
    ) -> Forecast:
        """Compute the forecast (locally, or on Dask with ``workers``/``scheduler``)."""
        assert self.samples >= 1, self.samples
        result = forecast(
            self.snapshot,
            self.policy,
            samples=self.samples,
            seed=self.seed,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            curve_days=self.curve_days,
            failures=self.failures,
            failure_model=self.failure_model,
        )
        assert result.samples == self.samples, (result.samples, self.samples)
        return result


def forecast_job(
    ledger: Ledger,
    policy: PolicyName = DEFAULT_POLICY,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    known_on: date | None = None,
    failures: bool = True,
) -> ForecastJob:
    """What a forecast of the books as of ``as_of`` (default: the books' today) needs.

    ``known_on`` reads the books as they were known on that day (None: all they
    know now). The holdings curves always include the dates of the books'
    claims, so the claims check reads them exactly.
    """
    scenario = ledger.to_scenario()
    claim_days = sorted({c.by for c in scenario.claims} | {c.stated_on for c in scenario.claims})
    return ForecastJob(
        snapshot=books_snapshot(ledger, as_of or scenario.as_of, known_on),
        policy=policy,
        samples=samples,
        seed=seed,
        curve_days=tuple(claim_days),
        failures=failures,
        failure_model=failure_model(scenario.parameters),
    )


def forecast_report(
    ledger: Ledger,
    policy: PolicyName = DEFAULT_POLICY,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    known_on: date | None = None,
    failures: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Forecast:
    """The forecast of the books as of ``as_of`` (default: the books' today) under ``policy``.

    ``known_on`` reads the books as they were known on that day (None: all they
    know now); ``failures=False`` runs without interruptions or failures. The
    holdings curves always include the dates of the books' claims, so the claims
    check reads them exactly. The snapshot is the planner's (sites' power and
    targets' accepts attached), so on-time odds come in both measures, held and
    powered.
    """
    job = forecast_job(
        ledger,
        policy,
        samples=samples,
        seed=seed,
        as_of=as_of,
        known_on=known_on,
        failures=failures,
    )
    return job.run(workers=workers, scheduler=scheduler, progress=progress)


def failure_model(parameters: Parameters) -> FailureModel:
    """The forecast's failure model as the scenario's parameters state it."""
    return FailureModel(
        interruptions_per_failure=parameters.interruptions_per_failure,
        repair_days=parameters.repair_days,
        rma_days=parameters.rma_days,
        replace=parameters.replace_failed,
    )


def request_job(ledger: Ledger, request: ForecastRequest) -> ForecastJob:
    """The job a parsed request asks for (read from the books, not yet run)."""
    return forecast_job(
        ledger,
        request.policy,
        samples=request.samples,
        seed=request.seed,
        as_of=request.as_of,
        known_on=request.known_on,
        failures=request.failures,
    )


def run_forecast(
    ledger: Ledger, request: ForecastRequest, progress: Progress | None = None
) -> Forecast:
    """The forecast a parsed request asks for (what the CLI calls)."""
    return request_job(ledger, request).run(
        workers=request.workers, scheduler=request.scheduler, progress=progress
    )


def run_job(job: ForecastJob) -> Forecast:
    """``job`` run locally (what a server's worker process runs for a claims check)."""
    return job.run()


def forecast_json(job: ForecastJob) -> dict[str, Any]:
    """``Forecast.to_json()`` of a job run locally: what a server's worker process answers.

    The JSON (a few numbers per target) crosses the process boundary, not the
    sample arrays.
    """
    return job.run().to_json()
