"""The books: init, import, export, balances, trace and audit (verify, keygen, checkpoint)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from gpuledger.domain import InvalidInput
from gpuledger.services import requests as rq

if TYPE_CHECKING:
    from gpuledger.ledger import AuditReport
    from gpuledger.ledger.checkpoint import CheckpointReport

audit_app = typer.Typer(help="Check the books for tampering; sign checkpoints of them.")

#: Key and checkpoint files are small: anything bigger is not one.
_MAX_SMALL_FILE = 64 * 1024


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
    """Where every unit of a lot went, transfer by transfer (or, not shipped yet, when it ships)."""
    from gpuledger.services.books import trace as trace_lot
    from gpuledger.services.lists import expected_lot

    lot_id = rq.parse_id(lot, "LOT")
    with books() as ledger:
        expected = expected_lot(ledger, lot_id)
        result = trace_lot(ledger, lot_id)
    if as_json:
        print_json(result.as_json())
        return
    if expected is not None:
        say(
            f"lot {expected.lot} is expected: {expected.qty:,} {expected.sku} for "
            f"{expected.consignee}, ships on {expected.ships_on.isoformat()}, "
            f"arrives on {expected.arrives_on.isoformat()} (nothing posted yet)"
        )
        return
    from gpuledger.cli import render

    render.trace(result)


def _read_small(text: str, field: str) -> bytes:
    """A key or checkpoint file's bytes; one clear line naming it when unreadable."""
    path = rq.parse_input_file(text, field)
    if path.stat().st_size > _MAX_SMALL_FILE:
        raise InvalidInput(f"{field} {path} is larger than {_MAX_SMALL_FILE:,} bytes", field=field)
    return path.read_bytes()


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        str | None,
        value("FILE", "Also check the books against this signed checkpoint.", "--checkpoint"),
    ] = None,
    public_key: Annotated[
        str | None,
        value("FILE", "The public key the checkpoint must be signed by.", "--public-key"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute the hash chain and the record digests; name the first bad one. Exit 1 if tampered.

    With --checkpoint and --public-key, also check that the books still begin with
    what the checkpoint signed: it detects the last events deleted and a
    consistent re-hash, and is ok when the books only grew since.
    """
    from gpuledger.ledger import checkpoint as cp

    point, key = None, b""
    if (checkpoint is None) != (public_key is None):
        raise InvalidInput("--checkpoint and --public-key go together", field="--checkpoint")
    if checkpoint is not None and public_key is not None:
        point = cp.Checkpoint.from_json(_json_file(checkpoint), checkpoint)
        key = _read_small(public_key, "--public-key")
        cp.public_key(key, public_key)  # a bad key is refused before the books are read
    with books() as ledger:
        report = ledger.verify()
        anchored = None if point is None else cp.check(ledger.engine, point, key)
    ok = report.ok and (anchored is None or anchored.ok)
    if as_json:
        data = report.as_json()
        if anchored is not None:
            data["checkpoint"] = anchored.as_json()
        print_json(data)
    else:
        _say_verified(report, anchored)
    if not ok:
        raise typer.Exit(1)


def _json_file(text: str) -> object:
    import json

    try:
        return json.loads(_read_small(text, "--checkpoint"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            f"--checkpoint {text} is not JSON: {exc}", field="--checkpoint"
        ) from None


def _say_verified(report: AuditReport, anchored: CheckpointReport | None) -> None:
    if report.ok:
        say(
            f"ok: {report.events_checked:,} events and {report.transfers_checked:,} transfers "
            "checked, chain and record digests intact"
        )
    elif report.bad_seq is None:
        err().print(f"TAMPERED: {report.reason}", markup=False)
    else:
        err().print(
            f"TAMPERED: event #{report.bad_seq} ({report.bad_id}): {report.reason}", markup=False
        )
    if anchored is None:
        return
    when = anchored.recorded_at.isoformat()
    if anchored.ok:
        grew = anchored.events_now - anchored.events_then
        say(f"ok: the books begin with the checkpoint of {when} ({grew:,} events since)")
    else:
        err().print(f"TAMPERED: checkpoint of {when}: {anchored.reason}", markup=False)


@audit_app.command("keygen")
def audit_keygen(
    out_file: Annotated[
        str, value("OUT", "Where to write the private key (mode 0600).", "--out")
    ] = "gpuledger-anchor.key",
    public_out: Annotated[
        str | None,
        value("OUT", "Where to write the public key (default: OUT with .pub).", "--public-out"),
    ] = None,
) -> None:
    """Create an ed25519 key pair for checkpoints; print the public key.

    Keep the private key away from the books' database and its backups: whoever
    holds both can sign a checkpoint of tampered books. An existing file is
    never overwritten.
    """
    from gpuledger.ledger import checkpoint as cp

    private_path = rq.parse_output_file(out_file, "--out")
    public_path = _public_path(private_path, public_out)
    for path, field in ((private_path, "--out"), (public_path, "--public-out")):
        if path.exists():
            raise InvalidInput(f"{field} {path} exists: keys are never overwritten", field=field)
    private, public = cp.new_key()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    public_path.write_bytes(public)
    say(public.decode().strip())
    typer.echo(f"private key {private_path} (0600), public key {public_path}", err=True)


def _public_path(private_path: Path, public_out: str | None) -> Path:
    if public_out is not None:
        return rq.parse_output_file(public_out, "--public-out")
    guess = private_path.with_suffix(".pub")
    return guess if guess != private_path else private_path.with_name(private_path.name + ".pub")


@audit_app.command("checkpoint")
def audit_checkpoint(
    key: Annotated[str, value("FILE", "The private key (from `audit keygen`).", "--key")],
    out_file: Annotated[
        str | None, value("OUT", "Write the checkpoint here (default: print it).", "--out")
    ] = None,
) -> None:
    """Sign the books' chain heads now: a JSON checkpoint to keep away from the books.

    The checkpoint holds the event count, the head hash, the last record digest
    and the time, signed with ed25519. `audit verify --checkpoint` later proves
    the books still begin with exactly that.
    """
    from gpuledger.ledger import checkpoint as cp

    path = None if out_file is None else rq.parse_output_file(out_file, "--out")
    private = _read_small(key, "--key")
    cp.private_key(private, key)
    with books() as ledger:
        point = cp.take(ledger.engine, private, now())
    text = cp.dumps(point)
    if path is None:
        typer.echo(text, nl=False)
        return
    path.write_text(text)
    say(f"checkpoint of {point.events:,} events (head {point.head_hash[:12]}) written to {path}")
