"""What every command shares: the root options, the books, the consoles and the option kinds.

Every option that takes a value is a string parsed by :mod:`gpuledger.services.requests`
inside the command, before the books are opened, so a bad value is refused the
way the API and the web refuse it and nothing is written. Its metavar names its
kind (DATE, QTY, LOT:QTY...); the tests generate bad values from these kinds.

Only light modules load here: the books, Rich and the planner load in the
commands that use them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpuledger.config import database_url
from gpuledger.domain import PolicyName
from gpuledger.domain.enums import OutputFormat
from gpuledger.services.requests import DEFAULT_ACTOR, DEFAULT_POLICY

if TYPE_CHECKING:
    from rich.console import Console

    from gpuledger.ledger import Ledger


class Settings:
    """The root options of this run: where the books are and who acts."""

    db: str | None = None
    actor: str = DEFAULT_ACTOR


SETTINGS = Settings()


def now() -> datetime:
    """The wall clock in UTC: the recorded time of what this run writes."""
    return datetime.now(UTC)


def books_url() -> str:
    """The database URL of this run (``--db``, then the environment; see ``config``)."""
    return database_url(SETTINGS.db)


@contextmanager
def books(*, create: bool = False) -> Iterator[Ledger]:
    """The books of this run, closed afterwards.

    Only ``init``, ``import`` and ``demo`` pass ``create=True``: every other
    command works on books that exist (``services.books.open_books``).
    """
    from gpuledger.services.books import open_books

    ledger = open_books(books_url(), create=create, clock=now)
    try:
        yield ledger
    finally:
        ledger.close()


@cache
def out() -> Console:
    """Rich console on stdout (a fixed width when piped, so output is stable)."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


@cache
def err() -> Console:
    """Rich console on stderr (progress bars)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def say(text: str) -> None:
    """One plain line on stdout (no markup: ids are printed as typed)."""
    sys.stdout.write(text + "\n")


def print_json(data: Any) -> None:
    """The machine contract on stdout, indented."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fmt(n: int | float | None, unit: str = "") -> str:
    """``12000`` -> ``12,000`` (with ``unit``); None -> ``-``."""
    if n is None:
        return "-"
    text = f"{n:,.0f}" if isinstance(n, float) else f"{n:,}"
    return f"{text} {unit}".rstrip()


def _formats(incomplete: str) -> list[str]:
    return [f.value for f in OutputFormat if f.value.startswith(incomplete)]


def _policies(incomplete: str) -> list[str]:
    return [p.value for p in PolicyName if p.value.startswith(incomplete)]


# --------------------------------------------------------------------------- option kinds


def value(metavar: str, help: str, *names: str, **extra: Any) -> Any:
    """An option taking one value of a kind (``metavar``), parsed in the command."""
    return typer.Option(*names, metavar=metavar, help=help, show_default=False, **extra)


def argument(metavar: str, help: str = "") -> Any:
    """A positional argument of a kind."""
    return typer.Argument(metavar=metavar, help=help, show_default=False)


JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON (the machine contract) instead of tables.")
]
PolicyOption = Annotated[
    str | None,
    value(
        "POLICY",
        f"How supply is handed out: {', '.join(p.value for p in PolicyName)} "
        f"(default {DEFAULT_POLICY.value}: the books as they stand).",
        "--policy",
        autocompletion=_policies,
    ),
]
SamplesOption = Annotated[str | None, value("N", "Monte Carlo samples (default 1,000).")]
SeedOption = Annotated[
    str | None, value("SEED", "Random seed: same seed, same answer (default 0).")
]
AsOfOption = Annotated[str | None, value("DATE", "Read the books as of this date.", "--as-of")]
FormatOption = Annotated[
    str | None,
    value("FORMAT", "Output: table (default), json or csv.", "--format", autocompletion=_formats),
]
KnownOnOption = Annotated[
    str | None,
    value("DATE", "Only what the books knew on this date (recorded by its end).", "--known-on"),
]


def emit_rows(
    chosen: OutputFormat, columns: Sequence[str], rows: list[dict[str, Any]], *, title: str
) -> None:
    """Tabular rows on stdout as a table, a JSON list or CSV (a header, then one line a row)."""
    if chosen is OutputFormat.JSON:
        print_json(rows)
    elif chosen is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if r[c] is None else r[c] for c in columns] for r in rows])
    else:
        from gpuledger.cli import render

        render.rows(columns, rows, title=title)
