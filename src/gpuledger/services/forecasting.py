"""The Monte Carlo forecast of the books (DESIGN section 6), as every interface runs it."""

from __future__ import annotations

from datetime import date

from gpuledger.domain import PolicyName
from gpuledger.forecast import Forecast, Progress, forecast
from gpuledger.ledger import Ledger
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED


def forecast_report(
    ledger: Ledger,
    policy: PolicyName = DEFAULT_POLICY,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    known_on: date | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Forecast:
    """The forecast of the books as of ``as_of`` (default: the books' today) under ``policy``.

    The holdings curves always include the dates of the books' claims, so the
    claims check reads them exactly. ``known_on`` forecasts the books as they
    were known on that day (None: everything they know).
    """
    scenario = ledger.to_scenario()
    claim_days = sorted({c.by for c in scenario.claims} | {c.stated_on for c in scenario.claims})
    return forecast(
        ledger.snapshot(as_of or scenario.as_of, known_on),
        policy,
        samples=samples,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        curve_days=claim_days,
    )
