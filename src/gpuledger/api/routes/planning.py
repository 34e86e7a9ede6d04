"""Planning over the API: plan, impact, forecast and claims, the caller's targets only.

The answers are the CLI's JSON for the same books and options, cut down to what
the caller sees (``services.visibility``). Forecasts are CPU-bound: the work
running at once (samples x lots) stays within the server's budget
(``services.fair_use``); beyond it a forecast is 429 with Retry-After, never
queued, so a burst of them cannot starve every other request of the cores.
``GET /forecast`` runs in the server's forecast worker processes
(``services.forecast_workers``), at a lower priority than the requests. The
API never starts a Dask cluster.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gpuledger.api.changes import DivertQuery, NewOrderQuery, PaybackQuery, PriorityQuery, SlipQuery
from gpuledger.api.deps import (
    Books,
    Day,
    Limits,
    OrgFilter,
    PathId,
    Policy,
    Samples,
    Seed,
    Who,
    Workers,
    seen,
)
from gpuledger.api.models import ClaimsOut, ForecastOut
from gpuledger.api.schemas import counted_model_of
from gpuledger.claims import claims_report
from gpuledger.forecast.failures import DEFAULT_FAILURE_MODEL, describe_failures
from gpuledger.forecast.result import MEASURES
from gpuledger.planning import Impact, Plan
from gpuledger.services import claims, diversions
from gpuledger.services.books import Backend
from gpuledger.services.fair_use import forecast_cost
from gpuledger.services.forecasting import request_job
from gpuledger.services.planning import (
    impact_of_change,
    impact_of_diversion,
    in_unit,
    plan_report,
)
from gpuledger.services.requests import (
    DEFAULT_POLICY,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    SERVER_SAMPLES_MAX,
    forecast_request,
    parse_change,
    parse_unit,
)

router = APIRouter(tags=["planning"])


def _size(books: Backend) -> int:
    """What one sample of a forecast of the books works on: lots + orders."""
    scenario = books.ledger.to_scenario()
    return len(scenario.lots) + len(scenario.orders)


def _cost(books: Backend, samples: int) -> int:
    """The work of a forecast of the books: samples x (lots + orders)."""
    return forecast_cost(samples, _size(books))


@router.get("/plan", response_model=counted_model_of(Plan))
def plan(
    books: Books,
    who: Who,
    policy: Policy = DEFAULT_POLICY,
    as_of: Day = None,
    known_on: Day = None,
    unit: str | None = None,
) -> Any:
    """``gpuledger plan``: per target, holdings at ``by``, completion and days late.

    ``unit``: ``gpus`` (default) or ``h100e`` (each SKU's H100-equivalent factor).
    """
    shown = parse_unit(unit, "unit")
    result = plan_report(books.ledger, policy, as_of, known_on)
    return in_unit(seen(books, who).plan_json(result), result.snapshot, shown)


@router.get("/diversions/{diversion_id}/impact", response_model=counted_model_of(Impact))
def diversion_impact(
    books: Books,
    who: Who,
    diversion_id: PathId,
    policy: Policy = DEFAULT_POLICY,
    with_payback: bool = True,
    known_on: Day = None,
    unit: str | None = None,
) -> Any:
    """``gpuledger impact --diversion ID``: what it costs each of the caller's targets."""
    shown = parse_unit(unit, "unit")
    diversions.show(books.ledger, diversion_id, directory=None, access=who.access)
    result = impact_of_diversion(
        books.ledger, diversion_id, policy, with_payback=with_payback, known_on=known_on
    )
    return in_unit(seen(books, who).impact_json(result), result.before.snapshot, shown)


@router.get("/impact", response_model=counted_model_of(Impact))
def change_impact(
    books: Books,
    who: Who,
    divert: DivertQuery = None,
    on: Day = None,
    payback: PaybackQuery = None,
    slip: SlipQuery = None,
    new_order: NewOrderQuery = None,
    priority: PriorityQuery = None,
    as_of: Day = None,
    known_on: Day = None,
    policy: Policy = DEFAULT_POLICY,
    unit: str | None = None,
) -> Any:
    """``gpuledger impact --divert/--slip/--new-order/--priority``: a hypothetical change.

    Exactly one change; ``divert`` and ``new_order`` need ``on``. It is evaluated
    on the books the day before its date (``as_of`` overrides), against the
    same policy; the answer lists the caller's targets only.
    """
    change = parse_change(
        divert=divert,
        on=on,
        payback=payback or [],
        slip=slip,
        new_order=new_order,
        priority=priority,
    )
    shown = parse_unit(unit, "unit")
    visible = seen(books, who)
    visible.require_change(change, books.ledger.to_scenario())
    result = impact_of_change(books.ledger, change, policy, as_of, known_on)
    return in_unit(visible.impact_json(result), result.before.snapshot, shown)


@router.get("/forecast", response_model=ForecastOut)
def forecast(
    books: Books,
    who: Who,
    limits: Limits,
    workers: Workers,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = DEFAULT_SEED,
    policy: Policy = DEFAULT_POLICY,
    as_of: Day = None,
    known_on: Day = None,
    no_failures: bool = False,
    org: OrgFilter = None,
) -> Any:
    """``gpuledger forecast``: P10/P50/P90 completion and on-time odds of the caller's targets.

    Runs in a forecast worker process (never on Dask). A caller who sees no
    target gets an empty list and no computation. ``no_failures`` is the CLI's
    ``--no-failures``.
    """
    request = forecast_request(
        policy=policy,
        samples=samples,
        seed=seed,
        as_of=as_of,
        known_on=known_on,
        no_failures=no_failures,
        samples_max=SERVER_SAMPLES_MAX,
    )
    visible = seen(books, who).only(org)
    targets = books.ledger.to_scenario().targets
    if not any(visible.sees_consumer(t.consumer) for t in targets):
        failures = describe_failures(DEFAULT_FAILURE_MODEL if request.failures else None)
        return {
            "samples": samples,
            "seed": seed,
            "policy": policy,
            "failures": failures,
            "measures": MEASURES,
            "targets": [],
        }
    size = _size(books)
    with limits.forecasts.running(forecast_cost(samples, size), per_sample=size):
        job = request_job(books.ledger, request)
        data = workers.forecast_json(job)
    return visible.forecast_answer(data, job.snapshot)


@router.get("/claims", response_model=ClaimsOut)
def claims_check(
    books: Books,
    who: Who,
    limits: Limits,
    workers: Workers,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = DEFAULT_SEED,
    policy: Policy = DEFAULT_POLICY,
    org: OrgFilter = None,
) -> Any:
    """``gpuledger claims``: the public claims of the caller's orgs against the books.

    ``target`` claims are checked against a forecast (``samples``, ``seed``,
    ``policy``), run only when the caller sees one, in a forecast worker
    process as ``/forecast`` runs.
    """
    visible = seen(books, who).only(org)
    checks = claims.check(
        books.ledger,
        policy=policy,
        samples=samples,
        seed=seed,
        seen=visible,
        one_at_a_time=limits.forecasts.running(_cost(books, samples)),
        run=workers.forecast,
    )
    return claims_report(checks)
