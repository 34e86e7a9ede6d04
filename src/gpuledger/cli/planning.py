"""Planning: plan, impact and forecast (the planner, SciPy and the forecast load here only)."""

from __future__ import annotations

from typing import Annotated, Any

from gpuledger.cli._common import (
    AsOfOption,
    FormatOption,
    JsonFlag,
    KnownOnOption,
    PolicyOption,
    SamplesOption,
    SeedOption,
    books,
    emit_rows,
    err,
    print_json,
    value,
)
from gpuledger.domain.enums import OutputFormat
from gpuledger.services import requests as rq

#: How ``impact`` calls the fields of a change (errors name them so).
CHANGE_NAMES = {
    "divert": "--divert",
    "slip": "--slip",
    "new_order": "--new-order",
    "priority": "--priority",
    "payback": "--payback",
    "on": "--on",
}


def _tabular(chosen: OutputFormat, data: dict[str, Any], title: str) -> bool:
    """JSON (the whole contract) or CSV (its targets, one row each); False: print a table."""
    if chosen is OutputFormat.JSON:
        print_json(data)
    elif chosen is OutputFormat.CSV:
        rows = data["targets"]
        emit_rows(chosen, list(rows[0]) if rows else ["id"], rows, title=title)
    return chosen is not OutputFormat.TABLE


def plan(
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    known_on: KnownOnOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan who gets supply and when each target completes."""
    chosen = rq.parse_policy(policy, "--policy")
    day = rq.parse_optional_date(as_of, "--as-of")
    known = rq.parse_optional_date(known_on, "--known-on")
    output = rq.parse_format(fmt, "--format", as_json=as_json)
    from gpuledger.services.planning import plan_report

    with books() as ledger:
        result = plan_report(ledger, chosen, day, known)
    if _tabular(output, result.to_json(), "Plan"):
        return
    from gpuledger.cli import render

    render.plan(result)


def impact(
    divert: Annotated[
        str | None, value("LOT:QTY:FROM:TO", "A hypothetical diversion (needs --on).")
    ] = None,
    on: Annotated[str | None, value("DATE", "Date of the change (decision date).")] = None,
    payback: Annotated[
        list[str] | None,
        value("LOT:QTY", "Units of the receiver's lot paid back (repeatable; with --divert)."),
    ] = None,
    diversion: Annotated[str | None, value("ID", "A diversion in the books.")] = None,
    slip: Annotated[
        str | None, value("LOT:DAYS", "A lot arriving DAYS later, decided --on DATE.")
    ] = None,
    new_order: Annotated[
        str | None, value("ORG:VENDOR:SKU:QTY", "A new order placed --on DATE.")
    ] = None,
    priority: Annotated[
        str | None, value("TARGET:PRIORITY", "A changed priority, from --on DATE.")
    ] = None,
    as_of: Annotated[
        str | None, value("DATE", "Evaluate on the books as of this date.", "--as-of")
    ] = None,
    policy: PolicyOption = None,
    known_on: KnownOnOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """What a change costs each target: delay, GPU-days lost, and how to recover."""
    chosen = rq.parse_policy(policy, "--policy")
    day = rq.parse_optional_date(as_of, "--as-of")
    known = rq.parse_optional_date(known_on, "--known-on")
    output = rq.parse_format(fmt, "--format", as_json=as_json)
    change = None
    if diversion is None:
        change = rq.parse_change(
            divert=divert,
            on=rq.parse_optional_date(on, "--on"),
            payback=payback or [],
            slip=slip,
            new_order=new_order,
            priority=priority,
            names=CHANGE_NAMES,
        )
        ident = None
    else:
        ident = rq.parse_id(diversion, "--diversion")
        given = {"--divert": divert, "--slip": slip, "--new-order": new_order}
        rq.check_one_subject(
            ident, [*given.values(), priority, on, *(payback or [])], "--diversion"
        )
    from gpuledger.services.planning import impact_of_change, impact_of_diversion

    with books() as ledger:
        if ident is not None:
            result = impact_of_diversion(ledger, ident, chosen, known_on=known)
        else:
            assert change is not None
            result = impact_of_change(ledger, change, chosen, day, known)
    if _tabular(output, result.to_json(), "Impact"):
        return
    from gpuledger.cli import render

    render.impact(result)


def forecast(
    samples: SamplesOption = None,
    seed: SeedOption = None,
    policy: PolicyOption = None,
    as_of: Annotated[
        str | None, value("DATE", "Forecast the books as of this date.", "--as-of")
    ] = None,
    workers: Annotated[str | None, value("N", "Run on a local Dask cluster of N workers.")] = None,
    scheduler: Annotated[
        str | None, value("URL", "Run on an existing Dask cluster (tcp://host:port).")
    ] = None,
    known_on: KnownOnOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """How likely each target is: P10/P50/P90 completion and on-time probability."""
    n = rq.parse_samples(samples, "--samples")
    chosen_seed = rq.parse_seed(seed, "--seed")
    chosen = rq.parse_policy(policy, "--policy")
    day = rq.parse_optional_date(as_of, "--as-of")
    n_workers = rq.parse_workers(workers, "--workers")
    address = rq.parse_scheduler(scheduler, "--scheduler")
    rq.check_one_of({"--workers": n_workers, "--scheduler": address}, "--workers")
    known = rq.parse_optional_date(known_on, "--known-on")
    output = rq.parse_format(fmt, "--format", as_json=as_json)
    from gpuledger.forecast import rich_progress
    from gpuledger.services.forecasting import forecast_report

    with books() as ledger, rich_progress(console=err()) as progress:
        result = forecast_report(
            ledger,
            chosen,
            samples=n,
            seed=chosen_seed,
            as_of=day,
            known_on=known,
            workers=n_workers,
            scheduler=address,
            progress=progress,
        )
    if _tabular(output, result.to_json(), "Forecast"):
        return
    from gpuledger.cli import render

    render.forecast(result)
