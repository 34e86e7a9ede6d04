"""Results as Rich tables for people (``--json`` prints the machine contract instead).

Loaded by the commands that print a table, never before: Rich's tables and the
result types stay out of ``gpuledger --help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from gpuledger.cli._common import fmt, out

if TYPE_CHECKING:
    from gpuledger.claims import ClaimCheck
    from gpuledger.demo import DemoReport
    from gpuledger.forecast import Forecast
    from gpuledger.ledger import DiversionView, LotTrace
    from gpuledger.planning import Impact, Plan
    from gpuledger.services.books import BalancesReport
    from gpuledger.services.changes import ChangesReport
    from gpuledger.services.diversions import DiversionReport


def _iso(d: date | None) -> str:
    return d.isoformat() if d else "never"


def rows(columns: Sequence[str], items: Sequence[dict[str, Any]], *, title: str) -> None:
    """Rows of a list (``services.lists``) as one table; numbers with thousands separators."""
    table = Table(*columns, title=f"{title} ({len(items):,})")
    for item in items:
        table.add_row(*(_cell(item[c]) for c in columns))
    out().print(table)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return fmt(v)
    if isinstance(v, float):
        return f"{v:,g}"
    return escape(str(v))


def changes(report: ChangesReport) -> None:
    """What was recorded, one table per record: when, who, what, field, old -> new."""
    until = report.until.isoformat() if report.until else "now"
    out().print(f"[bold]Recorded from {report.since.isoformat()} to {until}[/]")
    for r in report.records:
        table = Table("recorded at", "actor", "what", "field", "old", "new", title=escape(r.record))
        for e in r.entries:
            for f in e.fields or ():
                table.add_row(
                    e.recorded_at.isoformat(timespec="seconds"),
                    escape(e.actor),
                    e.what,
                    escape(f.field),
                    _cell(f.old),
                    _cell(f.new),
                )
            if not e.fields:
                table.add_row(
                    e.recorded_at.isoformat(timespec="seconds"), escape(e.actor), e.what, "", "", ""
                )
        out().print(table)


def balances(report: BalancesReport) -> None:
    """Balances per account."""
    as_of, known = report.as_of, report.known_on
    title = f"Balances as of {as_of or 'now'}" + (f", as known on {known}" if known else "")
    table = Table("owner", "bucket", "sku", "posted", "pending", "site", title=title)
    for b in report.balances:
        table.add_row(
            escape(b.owner),
            str(b.bucket),
            escape(b.sku),
            fmt(b.posted),
            fmt(b.pending),
            escape(b.site or ""),
        )
    out().print(table)


def trace(result: LotTrace) -> None:
    """A lot's transfers and who holds it now."""
    data = result.as_json()
    table = Table("effective", "kind", "from", "to", "qty", "phase", title=f"Lot {result.lot}")
    for t in data["transfers"]:
        table.add_row(
            t["effective_at"][:10], t["kind"], t["debit"], t["credit"], fmt(t["qty"]), t["phase"]
        )
    out().print(table)
    held = Table("account", "units", "site", title="Now held")
    for account, units in data["holdings"].items():
        owner = account.rsplit("/", 1)[0]
        held.add_row(account, fmt(units), escape(data["sites"].get(owner, "")))
    out().print(held)


def diversion(report: DiversionReport) -> None:
    """A diversion, its decisions and (under governance) its approvals."""
    view: DiversionView = report.view
    d = view.diversion
    paid = ", ".join(f"{p.qty:,} of {p.lot}" for p in d.payback) or "none"
    out().print(
        f"[bold]{escape(d.id)}[/]: {d.qty:,} GPUs of {escape(d.lot)}, {escape(d.from_org)} -> "
        f"{escape(d.to_org)} on {d.on.isoformat()}; payback: {escape(paid)}; "
        f"status: {view.status or 'not in the books'}"
    )
    table = Table("recorded at", "decision", "actor", title="Decisions")
    for decision in view.decisions:
        table.add_row(decision.recorded_at.isoformat(), str(decision.decision), decision.actor)
    out().print(table)
    if report.approvals is not None:
        out().print(report.approvals.describe(), markup=False)


def _unit_label(doc: dict[str, Any] | None) -> str:
    """What the counts of ``doc`` are in, for titles."""
    return "H100-equivalents" if doc and doc.get("unit") == "h100e" else "GPUs"


def plan(result: Plan, doc: dict[str, Any] | None = None) -> None:
    """Each target's holdings (held and powered) at ``by``, completion and lateness.

    ``doc`` is the plan's JSON in the unit asked for (``services.planning.in_unit``).
    """
    data = doc or result.to_json()
    unit = _unit_label(doc)
    table = Table(
        "target",
        "consumer",
        "qty",
        "by",
        "held at by",
        "powered at by",
        "completed",
        "late",
        title=f"Plan ({data['policy']}) as of {data['as_of']}, in {unit}",
    )
    for t in data["targets"]:
        late = t["days_late"]
        table.add_row(
            t["id"],
            t["consumer"],
            fmt(t["qty"]),
            t["by"],
            fmt(t["held_at_by"]),
            fmt(t["powered_at_by"]),
            t["completed_on"] or "never",
            "never in horizon" if late is None else ("on time" if late == 0 else f"{late:,} days"),
        )
    out().print(table)
    limited = [o for o in data["orgs"] if o["capacity"] is not None]
    if limited:
        orgs = Table(
            "org", "SKU", "held", "powered", "site capacity", title=f"On {data['as_of']}, in {unit}"
        )
        for o in limited:
            orgs.add_row(o["org"], o["sku"], fmt(o["held"]), fmt(o["powered"]), fmt(o["capacity"]))
        out().print(orgs)


def impact(result: Impact, title: str | None = None, doc: dict[str, Any] | None = None) -> None:
    """An impact: the org-level headline over its window, affected targets, recovery.

    ``doc`` is the impact's JSON in the unit asked for (``services.planning.in_unit``);
    the org lines and the targets' figures are read from it.
    """
    data = doc or result.to_json()
    unit = "H100e-days" if _unit_label(doc) == "H100-equivalents" else "GPU-days"
    out().print(f"[bold]{title or 'Impact'}[/]: {escape(result.change)} (policy {result.policy})")
    window = f"{result.window_start.isoformat()} .. {result.window_end.isoformat()}"
    for o in data["orgs"]:
        if o["gpu_days_lost"] or o["gpu_days_gained"]:
            out().print(
                f"  {o['org']} ({o['sku']}): {fmt(o['gpu_days_lost'])} {unit} held less, "
                f"{fmt(o['gpu_days_gained'])} more, over {window}",
                markup=False,
            )
        if (o["powered_gpu_days_lost"], o["powered_gpu_days_gained"]) != (
            o["gpu_days_lost"],
            o["gpu_days_gained"],
        ):
            out().print(
                f"  {o['org']} ({o['sku']}): {fmt(o['powered_gpu_days_lost'])} {unit} powered "
                f"less, {fmt(o['powered_gpu_days_gained'])} more (units its sites could power)",
                markup=False,
            )
    affected = result.affected()
    if not affected:
        out().print("No target changes.")
        return
    table = Table(
        "target",
        "completed before",
        "after",
        "delay",
        "held on due date",
        f"{unit} lost (held)",
        f"{unit} lost (powered)",
    )
    rows = {r["id"]: r for r in data["targets"]}
    for t in affected:
        r = rows[t.id]
        table.add_row(
            t.id,
            _iso(t.completed_before),
            _iso(t.completed_after),
            t.delay,
            f"{fmt(r['held_at_by_before'])} -> {fmt(r['held_at_by_after'])} {_unit_label(doc)}",
            fmt(r["gpu_days_lost"], unit),
            fmt(r["powered_gpu_days_lost"], unit),
        )
    out().print(table)
    for t in affected:
        out().print(f"  {t.verdict}", markup=False)
    for r in result.recovery:
        lots = ", ".join(f"{p.lot} ({p.qty:,})" for p in r.payback_lots) or "none"
        out().print(
            f"  recovery for {r.target}: {r.shortfall:,} GPUs needed by {r.needed_on}; a "
            f"reorder on {r.reorder_on} arrives {_iso(r.reorder_arrives_p50)} (P50), "
            f"{_iso(r.reorder_arrives_p90)} (P90); receiver's lots that could pay back: {lots}",
            markup=False,
        )


def forecast(result: Forecast) -> None:
    """P10/P50/P90 completion and on-time odds per target, held and powered."""
    from gpuledger.claims import P90_MEANS

    data = result.to_json()
    table = Table(
        "target",
        "by",
        "P10",
        "P50",
        "P90",
        "on time (held)",
        "on time (powered)",
        title=f"Forecast ({data['policy']}, {data['samples']:,} samples, seed {data['seed']})",
        caption=f"{data['failures']}. {P90_MEANS}. {data['measures']}.",
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
            f"{t['powered_on_time_probability']:.0%}",
        )
    out().print(table)


def claims(checks: Sequence[ClaimCheck]) -> None:
    """Claim checks, the terms that reconcile each gap, the verdict rule and P90."""
    from gpuledger.claims import P90_MEANS, VERDICT_RULE

    table = Table(
        "claim",
        "org",
        "kind",
        "claimed",
        "held then",
        "held now",
        "powered then",
        "powered now",
        "forecast P50",
        "forecast P90",
        "gap",
        "verdict",
        title="Public claims against the books",
        caption=f"Verdict: {VERDICT_RULE}. {P90_MEANS}.",
    )
    for c in checks:
        table.add_row(
            c.id,
            c.org,
            str(c.kind),
            fmt(c.claimed),
            fmt(c.books_then),
            fmt(c.books_now),
            fmt(c.powered_then),
            fmt(c.powered_now),
            fmt(c.forecast_p50),
            fmt(c.forecast_p90),
            fmt(c.gap),
            f"[bold red]{c.verdict}[/]" if c.overstated else str(c.verdict),
        )
    out().print(table)
    for c in checks:
        if c.gap is None:
            continue
        out().print(f"  {c.id}: gap {c.gap:,} =", markup=False)
        for e in c.explained_by:
            known = (e.known_on or e.on).isoformat()
            status = f" ({e.status}, recorded {known})" if e.status else ""
            out().print(
                f"    {e.effect:+,} {e.kind} {e.direction} {e.id} on {e.on.isoformat()}{status}",
                markup=False,
            )
        out().print(f"    {c.residual:+,} residual (no listed term explains it)", markup=False)
        if c.assumptions:
            out().print(f"    assumed: {'; '.join(c.assumptions)}", markup=False)


def demo(report: DemoReport) -> None:
    """The founding story's report."""
    d = report.record
    paid = ", ".join(f"{p.qty:,} of {p.lot}" for p in d.payback) or "none"
    console = out()
    console.rule(f"[bold]gpuledger demo: {escape(report.scenario)}[/]")
    console.print(
        f"Diversion {d.id}: {d.qty:,} GPUs of lot {d.lot}, {d.from_org} -> {d.to_org} "
        f"on {d.on.isoformat()}, recorded in the books on "
        f"{(d.known_on or d.on).isoformat()}. Payback: {paid}.",
        markup=False,
    )
    orgs = sorted({r.org for r in report.books})
    table = Table(
        "reading of the books",
        "as of",
        *[h for o in orgs for h in (f"{o} holds", f"{o} in transit")],
        title="The books around the diversion (GPUs; held = stock + deployed)",
    )
    for label in dict.fromkeys(r.label for r in report.books):
        rows = {r.org: r for r in report.books if r.label == label}
        first = next(iter(rows.values()))
        table.add_row(
            label,
            first.as_of.isoformat(),
            *[v for o in orgs for v in (fmt(rows[o].held), fmt(rows[o].in_transit))],
        )
    console.print(table)
    with_payback, without = report.impacts
    impact(without, title="Impact without the payback")
    impact(with_payback, title="Impact with X's payback lots")
    console.rule("[bold]What it cost the giver[/]")
    for name, lost in (
        ("without the payback", report.giver_gpu_days_lost),
        ("with X's payback lots", report.giver_gpu_days_lost_with_payback),
    ):
        cost = report.cost_usd(lost)
        price = (
            f", about USD {cost:,.0f} at USD {report.gpu_hour_price_usd:,.2f} per GPU-hour"
            if cost is not None and report.gpu_hour_price_usd is not None
            else ""
        )
        console.print(
            f"{d.from_org} held {lost:,} GPU-days less from {d.on.isoformat()} to "
            f"{report.window_end.isoformat()} {name}{price}.",
            markup=False,
        )
    if report.gpu_hour_price_source:
        console.print(f"[dim]Price: {escape(report.gpu_hour_price_source)}[/]")
    if report.checks:
        claims(report.checks)
    if report.power is not None:
        demo_power(report)


def demo_power(report: DemoReport) -> None:
    """The demo's answer to "no place to turn them on": held vs powered, side by side."""
    p, d, console = report.power, report.record, out()
    assert p is not None
    console.rule("[bold]Could the diverted units have been turned on?[/]")
    console.print(
        f"Powered = units {p.org}'s sites ({', '.join(p.sites)}) could run by Epoch AI's "
        "method (TDP x 1.82 system overhead x PUE); held = units in its books.",
        markup=False,
    )
    table = Table(
        "date",
        f"{p.org} site capacity",
        "held without / with the diversion",
        "powered without / with",
        f"of the {d.qty:,} it could have powered",
        title=f"{p.org} on each date (GPUs; the diversion without its payback)",
    )
    for day in p.days:
        table.add_row(
            day.on.isoformat(),
            "no stated limit" if day.capacity is None else fmt(day.capacity),
            f"{day.held_before:,} / {day.held_after:,}",
            f"{day.powered_before:,} / {day.powered_after:,}",
            fmt(day.could_power),
        )
    console.print(table)
    for name, held, powered in (
        ("without the payback", p.gpu_days_lost, p.powered_gpu_days_lost),
        ("with the payback", p.gpu_days_lost_with_payback, p.powered_gpu_days_lost_with_payback),
    ):
        console.print(
            f"GPU-days lost {name}: {held:,} held, {powered:,} powered "
            f"({report.record.on.isoformat()} .. {report.window_end.isoformat()}).",
            markup=False,
        )
    for c in p.claims:
        console.print(
            f"Claim {c.claim}: {c.qty:,} working on {c.on.isoformat()}; the books hold "
            f"{c.held:,}; its sites could power "
            f"{'any number' if c.capacity is None else f'{c.capacity:,}'} "
            f"({c.mw_stated:,} MW stated; the claim needs about {c.mw_needed} MW).",
            markup=False,
        )
    if p.if_claim_holds is not None:
        console.print(
            f"Had the claim been true (power for it from its date, assumed), the diversion "
            f"would have cost {p.org} {p.if_claim_holds:,} powered GPU-days without the payback.",
            markup=False,
        )
    console.print("[bold]What the public record does not settle[/]")
    for line in p.unsettled:
        console.print(f"- {line}", markup=False)
