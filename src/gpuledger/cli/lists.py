"""``gpuledger list``: the books' orgs, orders, lots, targets, claims and diversions, filtered.

Each command parses its filters with :func:`gpuledger.services.lists.parse_query`
(a filter its kind does not take is refused there) and prints
:func:`~gpuledger.services.lists.list_records` as a table, JSON or CSV.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gpuledger.cli._common import FormatOption, books, emit_rows, value
from gpuledger.domain.enums import ListKind

list_app = typer.Typer(help="List the records of the books, with filters.")

Org = Annotated[str | None, value("ORG", "Only this org's records (its clusters' included).")]
Sku = Annotated[str | None, value("SKU", "Only this SKU.")]
Start = Annotated[str | None, value("DATE", "From this date (inclusive).", "--from")]
End = Annotated[str | None, value("DATE", "To this date (inclusive).", "--to")]


def _status(kind: ListKind, names: str) -> object:
    return value("STATUS", f"Only {kind} of this status: {names}.")


def _show(
    kind: ListKind,
    fmt: str | None,
    *,
    org: str | None = None,
    sku: str | None = None,
    status: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> None:
    from gpuledger.services import requests as rq
    from gpuledger.services.lists import list_records, parse_query

    chosen = rq.parse_format(fmt, "--format")
    query = parse_query(kind, org=org, sku=sku, status=status, start=start, end=end)
    with books() as ledger:
        result = list_records(ledger, query)
    emit_rows(chosen, result.columns, result.rows(), title=f"{str(kind).capitalize()}")


@list_app.command("orgs")
def orgs(org: Org = None, fmt: FormatOption = None) -> None:
    """The orgs of the books."""
    _show(ListKind.ORGS, fmt, org=org)


@list_app.command("sites")
def sites(org: Org = None, fmt: FormatOption = None) -> None:
    """The sites of the books: the power in force on the books' date, since when."""
    _show(ListKind.SITES, fmt, org=org)


@list_app.command("orders")
def orders(
    org: Org = None,
    sku: Sku = None,
    status: Annotated[str | None, _status(ListKind.ORDERS, "open, covered")] = None,
    start: Start = None,
    end: End = None,
    fmt: FormatOption = None,
) -> None:
    """Order lines, what lots cover and what is left (dates: ordered_on)."""
    _show(ListKind.ORDERS, fmt, org=org, sku=sku, status=status, start=start, end=end)


@list_app.command("lots")
def lots(
    org: Org = None,
    sku: Sku = None,
    status: Annotated[str | None, _status(ListKind.LOTS, "expected, in_transit, received")] = None,
    start: Start = None,
    end: End = None,
    fmt: FormatOption = None,
) -> None:
    """Lots, where each stands, and what is left of its order (dates: arrives_on)."""
    _show(ListKind.LOTS, fmt, org=org, sku=sku, status=status, start=start, end=end)


@list_app.command("targets")
def targets(
    org: Org = None, sku: Sku = None, start: Start = None, end: End = None, fmt: FormatOption = None
) -> None:
    """Targets of the orgs and their clusters (dates: by)."""
    _show(ListKind.TARGETS, fmt, org=org, sku=sku, start=start, end=end)


@list_app.command("claims")
def claims(
    org: Org = None,
    sku: Sku = None,
    status: Annotated[str | None, _status(ListKind.CLAIMS, "actual, target (the kind)")] = None,
    start: Start = None,
    end: End = None,
    fmt: FormatOption = None,
) -> None:
    """Public claims (dates: by)."""
    _show(ListKind.CLAIMS, fmt, org=org, sku=sku, status=status, start=start, end=end)


@list_app.command("diversions")
def diversions(
    org: Annotated[str | None, value("ORG", "Only diversions from or to this org.")] = None,
    sku: Sku = None,
    status: Annotated[str | None, _status(ListKind.DIVERSIONS, "pending, posted, voided")] = None,
    start: Start = None,
    end: End = None,
    fmt: FormatOption = None,
) -> None:
    """Diversions between orgs and their status in the books (dates: on)."""
    _show(ListKind.DIVERSIONS, fmt, org=org, sku=sku, status=status, start=start, end=end)
