"""``gpuledger divert``: propose, approve, reject, void and show diversions between orgs."""

from __future__ import annotations

from typing import Annotated

import typer

from gpuledger.cli._common import SETTINGS, JsonFlag, argument, books, now, print_json, say, value
from gpuledger.domain import Decision
from gpuledger.services import requests as rq

divert_app = typer.Typer(help="Propose, approve, reject, void and show diversions between orgs.")

IdArgument = Annotated[str, argument("ID", "The diversion's id.")]


@divert_app.command("propose")
def propose(
    diversion_id: IdArgument,
    lot: Annotated[str, value("LOT", "The lot the units come from.")],
    qty: Annotated[str, value("QTY", "Units diverted.")],
    from_org: Annotated[str, value("ORG", "The giving org.", "--from")],
    to_org: Annotated[str, value("ORG", "The receiving org.", "--to")],
    on: Annotated[str, value("DATE", "The date of the diversion.")],
    payback: Annotated[
        list[str] | None,
        value("LOT:QTY", "Units of the receiver's future lot owed back (repeatable)."),
    ] = None,
    reason: Annotated[str | None, value("TEXT", "Why (recorded with the proposal).")] = None,
) -> None:
    """Propose a diversion: the units are reserved (pending) until approved or rejected."""
    from gpuledger.services import diversions

    d = rq.diversion_request(
        ident=rq.parse_id(diversion_id, "ID"),
        lot=rq.parse_id(lot, "--lot"),
        qty=rq.parse_qty(qty, "--qty"),
        from_org=rq.parse_id(from_org, "--from"),
        to_org=rq.parse_id(to_org, "--to"),
        on=rq.parse_date(on, "--on"),
        payback=rq.parse_paybacks(payback or [], "--payback"),
        reason=None if reason is None else rq.parse_text(reason, "--reason"),
        proposer=SETTINGS.actor,
    )
    with books() as ledger:
        gov = diversions.books_governance(ledger, now)
        report = diversions.propose(ledger, d, actor=SETTINGS.actor, gov=gov)
    say(f"diversion {d.id}: {report.status}")


def _decide(diversion_id: str, decision: Decision) -> None:
    from gpuledger.services import diversions

    ident = rq.parse_id(diversion_id, "ID")
    with books() as ledger:
        gov = diversions.books_governance(ledger, now)
        report = diversions.decide(ledger, ident, decision, actor=SETTINGS.actor, gov=gov)
    say(f"diversion {ident}: {decision} by {SETTINGS.actor} -> {report.status}")


@divert_app.command("approve")
def approve(diversion_id: IdArgument) -> None:
    """Approve a pending diversion (posted once its approvals are complete)."""
    _decide(diversion_id, Decision.APPROVE)


@divert_app.command("reject")
def reject(diversion_id: IdArgument) -> None:
    """Reject a pending diversion: it is voided and its units released."""
    _decide(diversion_id, Decision.REJECT)


@divert_app.command("void")
def void(diversion_id: IdArgument) -> None:
    """Withdraw a pending diversion (its proposer, or an admin of the giving org)."""
    _decide(diversion_id, Decision.VOID)


@divert_app.command("show")
def show(diversion_id: IdArgument, as_json: JsonFlag = False) -> None:
    """Show a diversion: its status and every decision with its actor."""
    from gpuledger.services import diversions

    ident = rq.parse_id(diversion_id, "ID")
    with books() as ledger:
        gov = diversions.books_governance(ledger, now)
        report = diversions.show(ledger, ident, directory=gov.directory() if gov else None)
    if as_json:
        print_json(report.view.as_json())  # the API adds the approvals; the CLI contract does not
        return
    from gpuledger.cli import render

    render.diversion(report)
