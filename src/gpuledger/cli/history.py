"""``gpuledger changes``: what the books recorded between two dates, grouped by record."""

from __future__ import annotations

from typing import Annotated

from gpuledger.cli._common import FormatOption, books, emit_rows, print_json, value
from gpuledger.domain.enums import OutputFormat
from gpuledger.services import requests as rq


def changes(
    since: Annotated[str, value("DATE", "From this recorded date (inclusive).", "--since")],
    until: Annotated[
        str | None, value("DATE", "To this recorded date (inclusive; default: today).", "--until")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """What was recorded between two dates: per record, old and new values and who."""
    from gpuledger.services.changes import COLUMNS
    from gpuledger.services.changes import changes as read_changes

    first = rq.parse_date(since, "--since")
    last = rq.parse_optional_date(until, "--until")
    chosen = rq.parse_format(fmt, "--format")
    with books() as ledger:
        report = read_changes(ledger, first, last)
    if chosen is OutputFormat.JSON:
        print_json(report.to_json())
    elif chosen is OutputFormat.CSV or not report.records:
        emit_rows(chosen, COLUMNS, report.rows(), title="Changes")
    else:
        from gpuledger.cli import render

        render.changes(report)
