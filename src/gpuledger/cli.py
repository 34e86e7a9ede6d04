"""The ``gpuledger`` command line: a thin shell over the ledger, planner and reports.

No rule lives here: every command parses its options, calls the same function the
API calls (``gpuledger.services``, the ledger, the planner) and renders the result
as a Rich table for people or as JSON for machines. User errors exit with code 2
and one line on stderr; nothing is written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from gpuledger import __version__, services
from gpuledger.claims import ClaimCheck, claims_report
from gpuledger.cli_admin import role_app, token_app, user_app
from gpuledger.config import database_url
from gpuledger.domain import (
    ClaimKind,
    Decision,
    Diversion,
    DiversionStatus,
    GpuledgerError,
    Lot,
    Movement,
    Order,
    Payback,
    PolicyName,
    TransferKind,
)
from gpuledger.forecast import rich_progress
from gpuledger.ledger import Ledger
from gpuledger.planning import (
    Impact,
)
from gpuledger.scenario import demo_scenario_path, load_scenario, write_scenario

app = typer.Typer(
    name="gpuledger",
    help="Track scarce GPUs from purchase order to rack, plan who gets them, "
    "and say what a diversion costs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
divert_app = typer.Typer(help="Propose, approve, reject and show diversions between orgs.")
audit_app = typer.Typer(help="Check the books for tampering.")
app.add_typer(divert_app, name="divert")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
app.add_typer(role_app, name="role")
app.add_typer(token_app, name="token")

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)


class UsageError(GpuledgerError):
    """A command-line value is malformed (bad date, bad LOT:QTY...)."""


# --------------------------------------------------------------------------- shared state


class _State:
    db: Path | None = None
    actor: str = "cli"


STATE = _State()


def _version(value: bool) -> None:
    if value:
        out.print(f"gpuledger {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="SQLite file of the books (default: $GPULEDGER_DATABASE_URL, "
            "then $GPULEDGER_DB, then ./gpuledger.db).",
        ),
    ] = None,
    actor: Annotated[
        str,
        typer.Option("--as", envvar="GPULEDGER_USER", help="Who is acting (recorded on events)."),
    ] = "cli",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    STATE.db = db
    STATE.actor = actor


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _ledger() -> Iterator[Ledger]:
    ledger = Ledger.open(database_url(STATE.db), clock=_now)
    try:
        yield ledger
    finally:
        ledger.close()


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _required_date(value: str, option: str) -> date:
    parsed = _date(value, option)
    assert parsed is not None
    return parsed


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fmt(n: int | float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    text = f"{n:,.0f}" if isinstance(n, float) else f"{n:,}"
    return f"{text} {unit}".rstrip()


def _payback(values: list[str]) -> tuple[Payback, ...]:
    paybacks = []
    for value in values:
        lot, sep, qty = value.rpartition(":")
        if not sep or not lot or not qty.isdigit():
            raise UsageError(f"--payback {value!r} is not LOT:QTY")
        paybacks.append(Payback(lot=lot, qty=int(qty)))
    return tuple(paybacks)


# --------------------------------------------------------------------------- books


@app.command()
def init() -> None:
    """Create (or migrate) the books."""
    with _ledger():
        pass
    out.print(f"books ready at {database_url(STATE.db)}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A scenario YAML file.")],
) -> None:
    """Import a scenario file atomically: any bad record and nothing is written."""
    scenario = load_scenario(file)
    with _ledger() as ledger:
        report = ledger.import_scenario(scenario, actor=STATE.actor)
    out.print(
        f"imported {file}: {report.new_events:,} new events "
        f"({report.new_transfers:,} transfers, {report.new_documents:,} documents), "
        f"{report.existing_events:,} already in the books"
    )


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the scenario YAML.")],
    as_of: Annotated[str | None, typer.Option(help="Export the books as of this date.")] = None,
) -> None:
    """Write the books back as a scenario file (the same format import reads)."""
    with _ledger() as ledger:
        scenario = ledger.to_scenario(as_of=_date(as_of, "--as-of"))
    write_scenario(scenario, file)
    out.print(f"exported to {file}")


@app.command()
def order(
    order_id: Annotated[str, typer.Argument(metavar="ID")],
    org: Annotated[str, typer.Option(help="The ordering org.")],
    vendor: Annotated[str, typer.Option()],
    sku: Annotated[str, typer.Option()],
    qty: Annotated[int, typer.Option()],
    on: Annotated[str, typer.Option(help="Order date.")],
) -> None:
    """Record a purchase order line."""
    with _ledger() as ledger:
        ledger.order(
            Order(order_id, org, vendor, sku, qty, _required_date(on, "--on")), actor=STATE.actor
        )
    out.print(f"order {order_id}: {qty:,} {sku} for {org}")


@app.command()
def ship(
    lot: Annotated[str, typer.Argument(metavar="LOT")],
    order_id: Annotated[str, typer.Option("--order")],
    qty: Annotated[int, typer.Option()],
    on: Annotated[str, typer.Option(help="Ship date.")],
    arrives: Annotated[str, typer.Option(help="Expected arrival date.")],
    to: Annotated[str, typer.Option(help="Consignee org.")],
) -> None:
    """Record a lot shipped against an order (vendor -> consignee in transit)."""
    with _ledger() as ledger:
        ledger.ship(
            Lot(
                lot,
                order_id,
                qty,
                _required_date(on, "--on"),
                _required_date(arrives, "--arrives"),
                to,
            ),
            actor=STATE.actor,
        )
    out.print(f"lot {lot}: {qty:,} shipped to {to}")


@app.command()
def receive(
    lot: Annotated[str, typer.Argument(metavar="LOT")],
    on: Annotated[str, typer.Option(help="Arrival date.")],
) -> None:
    """Record a lot's arrival (in transit -> stock, for every org holding part of it)."""
    with _ledger() as ledger:
        ledger.receive(lot, _required_date(on, "--on"), actor=STATE.actor)
    out.print(f"lot {lot}: received")


def _movement(
    op: TransferKind,
    movement_id: str | None,
    qty: int,
    on: str,
    org: str,
    lot: str | None,
    cluster: str | None,
) -> Movement:
    day = _required_date(on, "--on")
    ident = movement_id or f"{op}:{lot or '-'}:{cluster or org}:{qty}:{day.isoformat()}"
    return Movement(id=ident, op=op, qty=qty, on=day, org=org, lot=lot, cluster=cluster)


@app.command()
def deploy(
    lot: Annotated[str, typer.Argument(metavar="LOT")],
    qty: Annotated[int, typer.Option()],
    org: Annotated[str, typer.Option()],
    cluster: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option()],
    movement_id: Annotated[str | None, typer.Option("--id", help="Idempotency id.")] = None,
) -> None:
    """Deploy units of a lot from an org's stock into one of its clusters."""
    with _ledger() as ledger:
        ledger.deploy(
            _movement(TransferKind.DEPLOY, movement_id, qty, on, org, lot, cluster),
            actor=STATE.actor,
        )
    out.print(f"deployed {qty:,} of {lot} to {cluster}")


@app.command()
def fail(
    qty: Annotated[int, typer.Option()],
    org: Annotated[str, typer.Option()],
    cluster: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option()],
    lot: Annotated[str | None, typer.Option()] = None,
    movement_id: Annotated[str | None, typer.Option("--id", help="Idempotency id.")] = None,
) -> None:
    """Record deployed units that failed (cluster -> org's failed bucket)."""
    with _ledger() as ledger:
        ledger.fail(
            _movement(TransferKind.FAIL, movement_id, qty, on, org, lot, cluster),
            actor=STATE.actor,
        )
    out.print(f"failed {qty:,} in {cluster}")


# --------------------------------------------------------------------------- diversions


@divert_app.command("propose")
def divert_propose(
    diversion_id: Annotated[str, typer.Argument(metavar="ID")],
    lot: Annotated[str, typer.Option()],
    qty: Annotated[int, typer.Option()],
    from_org: Annotated[str, typer.Option("--from")],
    to_org: Annotated[str, typer.Option("--to")],
    on: Annotated[str, typer.Option()],
    payback: Annotated[
        list[str] | None, typer.Option(help="LOT:QTY of the receiver's future lot (repeatable).")
    ] = None,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Propose a diversion: the units are reserved (pending) until approved or rejected."""
    diversion = Diversion(
        id=diversion_id,
        lot=lot,
        qty=qty,
        from_org=from_org,
        to_org=to_org,
        on=_required_date(on, "--on"),
        payback=_payback(payback or []),
        status=DiversionStatus.PENDING,
        proposed_by=STATE.actor,
        reason=reason,
    )
    with _ledger() as ledger:
        view = services.propose_diversion(ledger, diversion, actor=STATE.actor, clock=_now)
    out.print(f"diversion {diversion_id}: {view.status}")


def _decide(diversion_id: str, decision: Decision) -> None:
    with _ledger() as ledger:
        view = services.decide_diversion(
            ledger, diversion_id, decision, actor=STATE.actor, clock=_now
        )
    out.print(f"diversion {diversion_id}: {decision} by {STATE.actor} -> {view.status}")


@divert_app.command("approve")
def divert_approve(diversion_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Approve a pending diversion (posted once its approvals are complete)."""
    _decide(diversion_id, Decision.APPROVE)


@divert_app.command("reject")
def divert_reject(diversion_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Reject a pending diversion: it is voided and its units released."""
    _decide(diversion_id, Decision.REJECT)


@divert_app.command("show")
def divert_show(
    diversion_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Show a diversion: its status and every decision with its actor."""
    with _ledger() as ledger:
        view = ledger.diversion(diversion_id)
        state = services.approval_state(ledger, view, _now)
    if as_json:
        _print_json(view.as_json())
        return
    d = view.diversion
    paid = ", ".join(f"{p.qty:,} of {p.lot}" for p in d.payback) or "none"
    out.print(
        f"[bold]{d.id}[/]: {d.qty:,} GPUs of {d.lot}, {d.from_org} -> {d.to_org} "
        f"on {d.on.isoformat()}; payback: {paid}; status: {view.status or 'not in the books'}"
    )
    table = Table("recorded at", "decision", "actor", title="Decisions")
    for decision in view.decisions:
        table.add_row(decision.recorded_at.isoformat(), str(decision.decision), decision.actor)
    out.print(table)
    if state is not None:
        out.print(state.describe())


# --------------------------------------------------------------------------- reports


@app.command()
def balances(
    as_of: Annotated[str | None, typer.Option(help="Effective date (inclusive).")] = None,
    known_on: Annotated[
        str | None, typer.Option(help="Only what the books knew on this date.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Units per account, posted and pending, as of a date as known on a date."""
    as_of_d, known_d = _date(as_of, "--as-of"), _date(known_on, "--known-on")
    with _ledger() as ledger:
        report = services.balances_report(ledger, as_of_d, known_d)
    if as_json:
        _print_json(report.to_json())
        return
    title = f"Balances as of {as_of_d or 'now'}" + (f", as known on {known_d}" if known_d else "")
    table = Table("owner", "bucket", "sku", "posted", "pending", title=title)
    for b in report.rows:
        table.add_row(b.owner, str(b.bucket), b.sku, _fmt(b.posted), _fmt(b.pending))
    out.print(table)


@app.command()
def trace(
    lot: Annotated[str, typer.Argument(metavar="LOT")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Where every unit of a lot went, transfer by transfer."""
    with _ledger() as ledger:
        result = ledger.trace(lot)
    data = result.as_json()
    if as_json:
        _print_json(data)
        return
    table = Table("effective", "kind", "from", "to", "qty", "phase", title=f"Lot {lot}")
    for t in data["transfers"]:
        table.add_row(
            t["effective_at"][:10], t["kind"], t["debit"], t["credit"], _fmt(t["qty"]), t["phase"]
        )
    out.print(table)
    held = Table("account", "units", title="Now held")
    for account, units in data["holdings"].items():
        held.add_row(account, _fmt(units))
    out.print(held)


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Recompute the hash chain; name the first bad event. Exit 1 if tampered."""
    with _ledger() as ledger:
        report = ledger.verify()
    if as_json:
        _print_json(report.as_json())
    elif report.ok:
        out.print(
            f"ok: {report.events_checked:,} events and {report.transfers_checked:,} transfers "
            "checked, chain intact"
        )
    else:
        err.print(f"TAMPERED: event #{report.bad_seq} ({report.bad_id}): {report.reason}")
    if not report.ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- planning

PolicyOption = Annotated[
    PolicyName, typer.Option("--policy", help="How supply is handed out.", case_sensitive=False)
]


def _iso(d: date | None) -> str:
    return d.isoformat() if d else "never"


@app.command("plan")
def plan_cmd(
    policy: PolicyOption = PolicyName.PRIORITY,
    as_of: Annotated[str | None, typer.Option(help="Plan the books as of this date.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Plan who gets supply and when each target completes."""
    with _ledger() as ledger:
        result = services.plan_report(ledger, policy, _date(as_of, "--as-of"))
    data = result.to_json()
    if as_json:
        _print_json(data)
        return
    table = Table(
        "target",
        "consumer",
        "qty",
        "by",
        "held at by",
        "completed",
        "late",
        title=f"Plan ({data['policy']}) as of {data['as_of']}",
    )
    for t in data["targets"]:
        late = t["days_late"]
        table.add_row(
            t["id"],
            t["consumer"],
            _fmt(t["qty"], "GPUs"),
            t["by"],
            _fmt(t["held_at_by"]),
            t["completed_on"] or "never",
            "never in horizon" if late is None else ("on time" if late == 0 else f"{late:,} days"),
        )
    out.print(table)


@app.command("impact")
def impact_cmd(
    divert: Annotated[
        str | None, typer.Option(help="LOT:QTY:FROM:TO, a hypothetical diversion.")
    ] = None,
    on: Annotated[str | None, typer.Option(help="Date of the change (decision date).")] = None,
    payback: Annotated[
        list[str] | None, typer.Option(help="LOT:QTY of the receiver's lot paid back (repeatable).")
    ] = None,
    diversion: Annotated[str | None, typer.Option(help="ID of a diversion in the books.")] = None,
    slip: Annotated[str | None, typer.Option(help="LOT:DAYS, a lot arriving later.")] = None,
    new_order: Annotated[
        str | None, typer.Option(help="ORG:VENDOR:SKU:QTY placed --on DATE.")
    ] = None,
    priority: Annotated[
        str | None, typer.Option(help="TARGET:PRIORITY, a changed priority.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Evaluate on the books as of this date.")
    ] = None,
    policy: PolicyOption = PolicyName.CONSIGNED,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """What a change costs each target: delay, GPU-days lost, and how to recover."""
    with _ledger() as ledger:
        if diversion:
            if any((divert, slip, new_order, priority)):
                raise UsageError("--diversion cannot be combined with another change")
            result = services.impact_of_diversion(ledger, diversion, policy)
        else:
            change = services.parse_change(
                divert=divert,
                on=_date(on, "--on"),
                payback=payback or [],
                slip=slip,
                new_order=new_order,
                priority=priority,
            )
            result = services.impact_of_change(ledger, change, policy, _date(as_of, "--as-of"))
    if as_json:
        _print_json(result.to_json())
        return
    render_impact(result)


def render_impact(result: Impact, title: str | None = None) -> None:
    """Print an impact as a table of affected targets, verdicts and recovery options."""
    data = result.to_json()
    out.print(f"[bold]{title or 'Impact'}[/]: {data['change']} (policy {data['policy']})")
    affected = result.affected()
    if not affected:
        out.print("No target changes.")
        return
    table = Table("target", "completed before", "after", "delay", "held at by", "GPU-days lost")
    for t in affected:
        delay = "no longer completes" if t.delay_days is None else f"{t.delay_days:+,} days"
        table.add_row(
            t.id,
            _iso(t.completed_before),
            _iso(t.completed_after),
            delay,
            f"{t.held_at_by_before:,} -> {t.held_at_by_after:,} GPUs",
            _fmt(t.gpu_days_lost, "GPU-days"),
        )
    out.print(table)
    for t in affected:
        out.print(f"  {t.verdict}")
    for r in data["recovery"]:
        lots = ", ".join(f"{p['lot']} ({p['qty']:,})" for p in r.get("payback_lots", [])) or "none"
        out.print(
            f"  recovery for {r['target']}: at worst {r['shortfall']:,} GPUs short; a reorder on "
            f"{r['reorder_on']} arrives {r['reorder_arrives_p50'] or '?'} (P50), "
            f"{r['reorder_arrives_p90'] or '?'} (P90); receiver's lots that could pay back: {lots}"
        )


@app.command()
def report(
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML report.")],
    policy: PolicyOption = PolicyName.CONSIGNED,
    samples: Annotated[int, typer.Option(help="Forecast samples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Forecast seed.")] = 0,
) -> None:
    """Write one self-contained HTML report for a board: overview, impacts, forecast, claims."""
    from gpuledger.reports.html import render_report

    with _ledger() as ledger:
        document = render_report(
            ledger, policy=policy, samples=samples, seed=seed, generated_at=_now()
        )
    html.write_text(document, encoding="utf-8")
    out.print(f"report written to {html} ({len(document.encode()):,} bytes)")


# --------------------------------------------------------------------------- forecast and claims

SamplesOption = Annotated[int, typer.Option(min=1, help="Monte Carlo samples.")]
SeedOption = Annotated[int, typer.Option(help="Random seed: same seed, same answer.")]


@app.command("forecast")
def forecast_cmd(
    samples: SamplesOption = 1000,
    seed: SeedOption = 0,
    policy: PolicyOption = PolicyName.PRIORITY,
    as_of: Annotated[str | None, typer.Option(help="Forecast the books as of this date.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Run on a local Dask cluster of N workers.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run on an existing Dask cluster (tcp://host:port).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """How likely each target is: P10/P50/P90 completion and on-time probability."""
    if workers is not None and scheduler is not None:
        raise UsageError("give --workers or --scheduler, not both")
    with _ledger() as ledger, rich_progress(console=err) as progress:
        result = services.forecast_report(
            ledger,
            policy,
            samples=samples,
            seed=seed,
            as_of=_date(as_of, "--as-of"),
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    data = result.to_json()
    if as_json:
        _print_json(data)
        return
    table = Table(
        "target",
        "by",
        "P10",
        "P50",
        "P90",
        "on time",
        title=f"Forecast ({data['policy']}, {data['samples']:,} samples, seed {data['seed']})",
    )
    snap = result.snapshot
    by = {
        tid: date.fromordinal(int(day)).isoformat()
        for tid, day in zip(snap.target_id, snap.target_by, strict=True)
    }
    for t in data["targets"]:
        table.add_row(
            t["id"],
            by[t["id"]],
            t["p10"] or "never",
            t["p50"] or "never",
            t["p90"] or "never",
            f"{t['on_time_probability']:.0%}",
        )
    out.print(table)


@app.command("claims")
def claims_cmd(
    samples: SamplesOption = 1000,
    seed: SeedOption = 0,
    policy: PolicyOption = PolicyName.CONSIGNED,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Check each public claim against the books (actual) or the forecast (target)."""
    with _ledger() as ledger:
        needs_forecast = any(c.kind is ClaimKind.TARGET for c in ledger.to_scenario().claims)
        fc = None
        if needs_forecast:
            with rich_progress(console=err) as progress:
                fc = services.forecast_report(
                    ledger, policy, samples=samples, seed=seed, progress=progress
                )
        checks = services.claims_report(ledger, fc)
    if as_json:
        _print_json(claims_report(checks))
        return
    render_claims(checks)


def render_claims(checks: Sequence[ClaimCheck]) -> None:
    """Print claim checks for people, with the diversions that explain the gaps."""
    table = Table(
        "claim",
        "org",
        "kind",
        "claimed",
        "books then",
        "books now",
        "forecast P50",
        "gap",
        "overstated",
        title="Public claims against the books",
    )
    for c in checks:
        table.add_row(
            c.id,
            c.org,
            str(c.kind),
            _fmt(c.claimed),
            _fmt(c.books_then),
            _fmt(c.books_now),
            _fmt(c.forecast_p50),
            _fmt(c.gap),
            "[bold red]yes[/]" if c.overstated else "no",
        )
    out.print(table)
    for c in checks:
        for e in c.explained_by:
            out.print(
                f"  {c.id}: {e.qty:,} GPUs diverted {e.direction} on {e.on.isoformat()} "
                f"({e.id}, {e.status}, recorded {(e.known_on or e.on).isoformat()})"
            )


# --------------------------------------------------------------------------- server


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the REST API (/api/v1) and the web dashboard with uvicorn."""
    import uvicorn

    from gpuledger.api import create_app

    url = database_url(STATE.db)
    out.print(
        f"serving {url} on http://{host}:{port} (API at /api/v1, OpenAPI at /api/v1/openapi.json)"
    )
    uvicorn.run(create_app(url, clock=_now), host=host, port=port, log_level="info")


# --------------------------------------------------------------------------- demo

DEMO_DB = Path("gpuledger-demo.db")


@app.command()
def demo(
    policy: PolicyOption = PolicyName.CONSIGNED,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
    ] = False,
) -> None:
    """Replay the founding story (12,000 H100 diverted from Tesla to X) and its cost.

    Uses --db when given, else a fresh ./gpuledger-demo.db.
    """
    if STATE.db is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
        STATE.db = DEMO_DB
    with _ledger() as ledger:
        ledger.import_scenario(load_scenario(demo_scenario_path()), actor="demo")
        report = services.demo_report(ledger, policy=policy)
    if as_json:
        _print_json(report.to_json())
        return
    render_demo(report)


def render_demo(report: services.DemoReport) -> None:
    """Print the founding story's report for people."""
    d = report.diversion
    paid = ", ".join(f"{p.qty:,} of {p.lot}" for p in d.payback) or "none"
    out.rule(f"[bold]gpuledger demo: {report.scenario}[/]")
    out.print(
        f"Diversion {d.id}: {d.qty:,} GPUs of lot {d.lot}, {d.from_org} -> {d.to_org} "
        f"on {d.on.isoformat()}, recorded in the books on "
        f"{(d.known_on or d.on).isoformat()}. Payback: {paid}."
    )
    orgs = sorted({r.org for r in report.books})
    table = Table(
        "reading of the books",
        "as of",
        *[h for o in orgs for h in (f"{o} holds", f"{o} in transit")],
        title="The books around the diversion (GPUs; held = stock + deployed)",
    )
    labels = list(dict.fromkeys(r.label for r in report.books))
    for label in labels:
        rows = {r.org: r for r in report.books if r.label == label}
        first = next(iter(rows.values()))
        table.add_row(
            label,
            first.as_of.isoformat(),
            *[v for o in orgs for v in (_fmt(rows[o].held), _fmt(rows[o].in_transit))],
        )
    out.print(table)
    for name, result in (
        ("without the payback", report.without_payback),
        ("with X's payback lots", report.with_payback),
    ):
        render_impact(result, title=f"Impact {name}")
    out.rule("[bold]What it cost the giver[/]")
    for name, lost in (
        ("without the payback", report.giver_gpu_days_lost),
        ("with X's payback lots", report.giver_gpu_days_lost_with_payback),
    ):
        cost = report.cost_usd(lost)
        price = (
            f", about USD {cost:,.0f} at USD {report.gpu_hour_price_usd:,.2f} per GPU-hour"
            if cost is not None
            else ""
        )
        out.print(
            f"{d.from_org} held {lost:,} GPU-days less from {d.on.isoformat()} to "
            f"{report.window_end.isoformat()} {name}{price}."
        )
    if report.gpu_hour_price_source:
        out.print(f"[dim]Price: {report.gpu_hour_price_source}[/]")
    if report.claims:
        render_claims(report.claims)


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit 2 with one line on stderr, never a traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
    except GpuledgerError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except SQLAlchemyError as exc:
        err.print(
            f"error: database: {str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}"
        )
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
