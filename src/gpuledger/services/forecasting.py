"""The Monte Carlo forecast of the books (DESIGN section 6), as every interface runs it."""

from __future__ import annotations

from datetime import date

from gpuledger.domain import Parameters, PolicyName
from gpuledger.forecast import Forecast, Progress, forecast
from gpuledger.forecast.failures import FailureModel
from gpuledger.ledger import Ledger
from gpuledger.services.planning import books_snapshot
from gpuledger.services.requests import (
    DEFAULT_POLICY,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    ForecastRequest,
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
    scenario = ledger.to_scenario()
    claim_days = sorted({c.by for c in scenario.claims} | {c.stated_on for c in scenario.claims})
    return forecast(
        books_snapshot(ledger, as_of or scenario.as_of, known_on),
        policy,
        samples=samples,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        curve_days=claim_days,
        failures=failures,
        failure_model=failure_model(scenario.parameters),
    )


def failure_model(parameters: Parameters) -> FailureModel:
    """The forecast's failure model as the scenario's parameters state it."""
    return FailureModel(
        interruptions_per_failure=parameters.interruptions_per_failure,
        repair_days=parameters.repair_days,
        rma_days=parameters.rma_days,
        replace=parameters.replace_failed,
    )


def run_forecast(
    ledger: Ledger, request: ForecastRequest, progress: Progress | None = None
) -> Forecast:
    """The forecast a parsed request asks for (what the CLI and the API call)."""
    return forecast_report(
        ledger,
        request.policy,
        samples=request.samples,
        seed=request.seed,
        as_of=request.as_of,
        known_on=request.known_on,
        failures=request.failures,
        workers=request.workers,
        scheduler=request.scheduler,
        progress=progress,
    )
