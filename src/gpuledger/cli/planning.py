"""Planning: plan, impact and forecast (the planner, SciPy and the forecast load here only)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

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


#: ``--unit``: what counts are shown in.
UnitOption = Annotated[
    str | None,
    value(
        "UNIT",
        "Show counts in gpus or h100e (H100-equivalents: each SKU's h100e factor; default gpus).",
        "--unit",
    ),
]


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
    unit: UnitOption = None,
    known_on: KnownOnOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan who gets supply and when each target completes (units held and powered)."""
    chosen = rq.parse_policy(policy, "--policy")
    day = rq.parse_optional_date(as_of, "--as-of")
    shown = rq.parse_unit(unit, "--unit")
    known = rq.parse_optional_date(known_on, "--known-on")
    output = rq.parse_format(fmt, "--format", as_json=as_json)
    from gpuledger.services.planning import in_unit, plan_report

    with books() as ledger:
        result = plan_report(ledger, chosen, day, known)
    doc = in_unit(result.to_json(), result.snapshot, shown)
    if _tabular(output, doc, "Plan"):
        return
    from gpuledger.cli import render

    render.plan(result, doc)


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
    unit: UnitOption = None,
    known_on: KnownOnOption = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """What a change costs each target: delay, GPU-days lost (held and powered), recovery."""
    chosen = rq.parse_policy(policy, "--policy")
    day = rq.parse_optional_date(as_of, "--as-of")
    shown = rq.parse_unit(unit, "--unit")
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
    from gpuledger.services.planning import impact_of_change, impact_of_diversion, in_unit

    with books() as ledger:
        if ident is not None:
            result = impact_of_diversion(ledger, ident, chosen, known_on=known)
        else:
            assert change is not None
            result = impact_of_change(ledger, change, chosen, day, known)
    doc = in_unit(result.to_json(), result.before.snapshot, shown)
    if _tabular(output, doc, "Impact"):
        return
    from gpuledger.cli import render

    render.impact(result, doc=doc)


def forecast(
    samples: SamplesOption = None,
    seed: SeedOption = None,
    policy: PolicyOption = None,
    as_of: Annotated[
        str | None, value("DATE", "Forecast the books as of this date.", "--as-of")
    ] = None,
    known_on: KnownOnOption = None,
    no_failures: Annotated[
        bool,
        typer.Option("--no-failures", help="No interruptions or failures, arrivals only."),
    ] = False,
    workers: Annotated[str | None, value("N", "Run on a local Dask cluster of N workers.")] = None,
    scheduler: Annotated[
        str | None, value("URL", "Run on an existing Dask cluster (tcp://host:port).")
    ] = None,
    fmt: FormatOption = None,
    as_json: JsonFlag = False,
) -> None:
    """How likely each target is: P10/P50/P90 completion, on-time odds held and powered."""
    output = rq.parse_format(fmt, "--format", as_json=as_json)
    request = rq.forecast_request(
        policy=policy,
        samples=samples,
        seed=seed,
        as_of=as_of,
        known_on=known_on,
        no_failures=no_failures,
        workers=workers,
        scheduler=scheduler,
        name=rq.cli_name,
    )
    from gpuledger.forecast import rich_progress
    from gpuledger.services.forecasting import run_forecast

    with books() as ledger, rich_progress(console=err()) as progress:
        result = run_forecast(ledger, request, progress)
    if _tabular(output, result.to_json(), "Forecast"):
        return
    from gpuledger.cli import render

    render.forecast(result)
