"""The books: init, import, export, balances, trace and audit verify."""

from __future__ import annotations

from typing import Annotated

import typer

from gpuledger.cli._common import (
    SETTINGS,
    AsOfOption,
    JsonFlag,
    argument,
    books,
    books_url,
    err,
    now,
    print_json,
    say,
    value,
)
from gpuledger.services import requests as rq

audit_app = typer.Typer(help="Check the books for tampering.")


def init() -> None:
    """Create (or migrate) the books."""
    with books(create=True):
        pass
    say(f"books ready at {books_url()}")


def import_(
    file: Annotated[str, argument("FILE", "A scenario YAML file.")],
) -> None:
    """Import a scenario file atomically: any bad record and nothing is written.

    On books with users, the --as user must be allowed to import every record
    the file changes (docs/security.md); their roles are checked before the
    file is read.
    """
    from gpuledger.services.books import import_file

    # every problem names the file and line, before any write
    report = import_file(books_url(), file, actor=SETTINGS.actor, clock=now)
    say(
        f"imported {file}: {report.new_events:,} new events "
        f"({report.new_transfers:,} transfers, {report.new_documents:,} documents), "
        f"{report.existing_events:,} already in the books"
    )


def export(
    file: Annotated[str, argument("OUT", "Where to write the scenario YAML.")],
    as_of: AsOfOption = None,
) -> None:
    """Write the books back as a scenario file (the same format import reads)."""
    from gpuledger.services.books import export_file

    path = rq.parse_output_file(file, "FILE")
    day = rq.parse_optional_date(as_of, "--as-of")
    with books() as ledger:
        export_file(ledger, path, day)
    say(f"exported to {path}")


def balances(
    as_of: Annotated[str | None, value("DATE", "Effective date (inclusive).", "--as-of")] = None,
    known_on: Annotated[
        str | None, value("DATE", "Only what the books knew on this date.", "--known-on")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Units per account, posted and pending, as of a date as known on a date."""
    from gpuledger.services.books import balances_report

    as_of_d = rq.parse_optional_date(as_of, "--as-of")
    known_d = rq.parse_optional_date(known_on, "--known-on")
    with books() as ledger:
        report = balances_report(ledger, as_of_d, known_d)
    if as_json:
        print_json(report.to_json())
        return
    from gpuledger.cli import render

    render.balances(report)


def trace(
    lot: Annotated[str, argument("LOT")],
    as_json: JsonFlag = False,
) -> None:
    """Where every unit of a lot went, transfer by transfer."""
    from gpuledger.services.books import trace as trace_lot

    lot_id = rq.parse_id(lot, "LOT")
    with books() as ledger:
        result = trace_lot(ledger, lot_id)
    if as_json:
        print_json(result.as_json())
        return
    from gpuledger.cli import render

    render.trace(result)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Recompute the hash chain; name the first bad event. Exit 1 if tampered."""
    with books() as ledger:
        report = ledger.verify()
    if as_json:
        print_json(report.as_json())
    elif report.ok:
        say(
            f"ok: {report.events_checked:,} events and {report.transfers_checked:,} transfers "
            "checked, chain intact"
        )
    else:
        err().print(
            f"TAMPERED: event #{report.bad_seq} ({report.bad_id}): {report.reason}", markup=False
        )
    if not report.ok:
        raise typer.Exit(1)
