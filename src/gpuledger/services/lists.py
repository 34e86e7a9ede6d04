"""Lists of the books' records with filters: ``gpuledger list`` and the API's lists.

One function, :func:`list_records`, for every interface: the records of one
kind the reader sees (``services.visibility``), filtered by org, SKU, status and
a range of dates, each as a flat row whose fields are the columns. The filters
a kind takes are stated once in :data:`SPECS`; a filter a kind does not take is
refused (one line naming the option), never ignored.

- orgs: ``--org`` (the org itself); no SKU, status or dates.
- orders: org, SKU, status (open: units without a lot; covered), dates on ``ordered_on``.
- lots: the consignee, SKU (its order's), status (expected, in_transit,
  received), dates on ``arrives_on``; each row says what is ``left`` of its
  order (units no lot covers yet).
- targets: the consumer's org, SKU, dates on ``by``.
- claims: org, SKU, status is the claim's kind (actual, target), dates on ``by``.
- diversions: either side, the lot's SKU, status (pending, posted, voided), dates on ``on``.

- sites: the org; each row gives the power in force on the books' date (``mw``,
  None when the site states no capacity), since when, and the steps in all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gpuledger.domain import ClaimKind, DiversionStatus, InvalidInput, Scenario, UnknownRecord
from gpuledger.domain.enums import ListKind, LotStatus, OrderStatus
from gpuledger.domain.serialize import jsonable
from gpuledger.services import requests as rq
from gpuledger.services.books import visibility

if TYPE_CHECKING:
    from gpuledger.ledger import Ledger
    from gpuledger.services.visibility import Visibility

#: What each filter is called where the caller typed it (the CLI's; the API passes its own).
CLI_NAMES = {
    "org": "--org",
    "sku": "--sku",
    "status": "--status",
    "start": "--from",
    "end": "--to",
}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class OrgItem:
    """An org of the books."""

    id: str
    name: str | None
    group: str | None


@dataclass(frozen=True)
class SiteItem:
    """A site, the power in force on the books' date and since when (None: no stated capacity)."""

    id: str
    org: str
    name: str | None
    mw: float | None
    since: date | None
    steps: int
    assumed: bool


@dataclass(frozen=True)
class OrderItem:
    """An order line and how much of it lots cover (``left``: units without a lot yet)."""

    id: str
    org: str
    vendor: str
    sku: str
    qty: int
    ordered_on: date
    in_lots: int
    left: int
    status: OrderStatus


@dataclass(frozen=True)
class LotItem:
    """A lot, where it stands, and what is ``left`` of its order after every lot."""

    id: str
    order: str
    consignee: str
    sku: str
    qty: int
    ships_on: date
    arrives_on: date
    status: LotStatus
    left: int


@dataclass(frozen=True)
class TargetItem:
    """A target and the org of its consumer."""

    id: str
    consumer: str
    org: str
    sku: str
    qty: int
    by: date
    priority: int
    weight: float


@dataclass(frozen=True)
class ClaimItem:
    """A public claim."""

    id: str
    org: str
    sku: str
    qty: int
    by: date
    stated_on: date
    kind: ClaimKind


@dataclass(frozen=True)
class DiversionItem:
    """A diversion, its status in the books and the units owed back."""

    id: str
    lot: str
    sku: str
    qty: int
    from_org: str
    to_org: str
    on: date
    status: DiversionStatus | None
    payback: int
    known_on: date | None


Item = OrgItem | SiteItem | OrderItem | LotItem | TargetItem | ClaimItem | DiversionItem


# --------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class ListQuery:
    """Parsed filters of one list (None: no filter)."""

    kind: ListKind
    org: str | None = None
    sku: str | None = None
    status: StrEnum | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Spec:
    """How one kind is listed: its rows, the orgs a row touches, its status and date fields."""

    rows: Callable[[Ledger, Scenario], list[Any]]
    orgs: Callable[[Any], tuple[str, ...]]
    statuses: type[StrEnum] | None
    day: str | None  # the field ``--from``/``--to`` bound
    has_sku: bool = True


def parse_query(
    kind: ListKind,
    *,
    org: str | None = None,
    sku: str | None = None,
    status: str | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    names: Mapping[str, str] = CLI_NAMES,
) -> ListQuery:
    """The filters of a list, parsed and checked against what ``kind`` takes.

    Raises InvalidInput naming the filter (as ``names`` calls it) for a bad
    value, a filter the kind does not take, or ``start`` after ``end``.
    """
    spec = SPECS[kind]

    def refuse(key: str, what: str) -> InvalidInput:
        return InvalidInput(f"{names[key]}: {kind} have no {what}", field=names[key])

    if sku is not None and not spec.has_sku:
        raise refuse("sku", "SKU")
    if status is not None and spec.statuses is None:
        raise refuse("status", "status")
    if (start is not None or end is not None) and spec.day is None:
        raise refuse("start" if start is not None else "end", "dates")
    query = ListQuery(
        kind,
        org=None if org is None else rq.parse_id(org, names["org"]),
        sku=None if sku is None else rq.parse_id(sku, names["sku"]),
        status=None
        if status is None or spec.statuses is None
        else rq.parse_choice(status, spec.statuses, names["status"]),
        start=rq.parse_optional_date(start, names["start"]),
        end=rq.parse_optional_date(end, names["end"]),
    )
    if query.start and query.end and query.start > query.end:
        raise InvalidInput(
            f"{names['start']} {query.start} is after {names['end']} {query.end}",
            field=names["start"],
        )
    return query


@dataclass(frozen=True)
class RecordList:
    """The rows of one list, in the books' order; ``columns`` are the rows' fields."""

    kind: ListKind
    items: tuple[Item, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The field names of the rows (the CSV header, the table's columns)."""
        return COLUMNS[self.kind]

    def rows(self) -> list[dict[str, Any]]:
        """Each row as JSON values (dates ISO, enums their values)."""
        return [jsonable(i) for i in self.items]

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract: ``{"kind", "items": [...]}``."""
        return {"kind": str(self.kind), "items": self.rows()}


def list_records(ledger: Ledger, query: ListQuery, seen: Visibility | None = None) -> RecordList:
    """The records of ``query.kind`` the reader sees, filtered by ``query``.

    ``seen`` None is the holder of the books (everything). An ``org`` the
    reader may not see answers UnknownRecord, as if it did not exist.
    """
    spec = SPECS[query.kind]
    books = ledger.to_scenario()
    reader = (seen or visibility(ledger, None)).only(query.org)
    kept = [
        row
        for row in spec.rows(ledger, books)
        if any(reader.sees_org(o) for o in spec.orgs(row)) and _matches(spec, query, row)
    ]
    return RecordList(query.kind, tuple(kept))


def _matches(spec: Spec, query: ListQuery, row: Any) -> bool:
    if query.sku is not None and row.sku != query.sku:
        return False
    if query.status is not None and _status(row) != query.status:
        return False
    if spec.day is not None:
        day: date = getattr(row, spec.day)
        if (query.start and day < query.start) or (query.end and day > query.end):
            return False
    return True


def _status(row: Any) -> Any:
    return row.kind if isinstance(row, ClaimItem) else row.status


# --------------------------------------------------------------------------- rows of the books


def _orgs(ledger: Ledger, books: Scenario) -> list[OrgItem]:
    return [OrgItem(o.id, o.name, o.group) for o in books.orgs]


def _sites(ledger: Ledger, books: Scenario) -> list[SiteItem]:
    rows = []
    for site in books.sites:
        steps = [p for p in site.power if p.from_date <= books.as_of]
        since = max((p.from_date for p in steps), default=None)
        rows.append(
            SiteItem(
                site.id,
                site.org,
                site.name,
                site.mw_on(books.as_of),
                since,
                len(site.power),
                site.assumed or any(p.assumed for p in site.power),
            )
        )
    return rows


def _lotted(books: Scenario) -> dict[str, int]:
    """Units in lots per order."""
    out: dict[str, int] = {}
    for lot in books.lots:
        out[lot.order] = out.get(lot.order, 0) + lot.qty
    return out


def _orders(ledger: Ledger, books: Scenario) -> list[OrderItem]:
    lotted = _lotted(books)
    rows = []
    for o in books.orders:
        in_lots = lotted.get(o.id, 0)
        left = max(o.qty - in_lots, 0)
        status = OrderStatus.OPEN if left else OrderStatus.COVERED
        rows.append(
            OrderItem(o.id, o.org, o.vendor, o.sku, o.qty, o.ordered_on, in_lots, left, status)
        )
    return rows


def _lots(ledger: Ledger, books: Scenario) -> list[LotItem]:
    orders = {o.id: o for o in books.orders}
    lotted = _lotted(books)
    progress = ledger.lot_statuses()
    rows = []
    for lot in books.lots:
        order = orders[lot.order]
        rows.append(
            LotItem(
                lot.id,
                lot.order,
                lot.consignee,
                order.sku,
                lot.qty,
                lot.ships_on,
                lot.arrives_on,
                progress.get(lot.id, LotStatus.EXPECTED),
                max(order.qty - lotted.get(order.id, 0), 0),
            )
        )
    return rows


def _targets(ledger: Ledger, books: Scenario) -> list[TargetItem]:
    org_of = {o.id: o.id for o in books.orgs} | {c.id: c.org for c in books.clusters}
    return [
        TargetItem(
            t.id,
            t.consumer,
            org_of.get(t.consumer, t.consumer),
            t.sku,
            t.qty,
            t.by,
            t.priority,
            t.weight,
        )
        for t in books.targets
    ]


def _claims(ledger: Ledger, books: Scenario) -> list[ClaimItem]:
    return [ClaimItem(c.id, c.org, c.sku, c.qty, c.by, c.stated_on, c.kind) for c in books.claims]


def _diversions(ledger: Ledger, books: Scenario) -> list[DiversionItem]:
    sku_of = _lot_skus(books)
    rows = []
    for view in ledger.diversions():
        d = view.diversion
        rows.append(
            DiversionItem(
                d.id,
                d.lot,
                sku_of.get(d.lot, ""),
                d.qty,
                d.from_org,
                d.to_org,
                d.on,
                view.status,
                sum(p.qty for p in d.payback),
                d.known_on,
            )
        )
    return rows


def _lot_skus(books: Scenario) -> dict[str, str]:
    order_sku = {o.id: o.sku for o in books.orders}
    return {lot.id: order_sku.get(lot.order, "") for lot in books.lots}


def _one(org: str) -> tuple[str, ...]:
    return (org,)


SPECS: dict[ListKind, Spec] = {
    ListKind.ORGS: Spec(_orgs, lambda r: _one(r.id), None, None, has_sku=False),
    ListKind.SITES: Spec(_sites, lambda r: _one(r.org), None, None, has_sku=False),
    ListKind.ORDERS: Spec(_orders, lambda r: _one(r.org), OrderStatus, "ordered_on"),
    ListKind.LOTS: Spec(_lots, lambda r: _one(r.consignee), LotStatus, "arrives_on"),
    ListKind.TARGETS: Spec(_targets, lambda r: _one(r.org), None, "by"),
    ListKind.CLAIMS: Spec(_claims, lambda r: _one(r.org), ClaimKind, "by"),
    ListKind.DIVERSIONS: Spec(_diversions, lambda r: (r.from_org, r.to_org), DiversionStatus, "on"),
}
ROW_TYPES: dict[ListKind, type[Item]] = {
    ListKind.ORGS: OrgItem,
    ListKind.SITES: SiteItem,
    ListKind.ORDERS: OrderItem,
    ListKind.LOTS: LotItem,
    ListKind.TARGETS: TargetItem,
    ListKind.CLAIMS: ClaimItem,
    ListKind.DIVERSIONS: DiversionItem,
}
COLUMNS: dict[ListKind, tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(cls)) for kind, cls in ROW_TYPES.items()
}
assert set(SPECS) == set(ListKind) == set(COLUMNS), "every kind is listed once"


def describe_filters(kind: ListKind) -> str:
    """The filters ``kind`` takes, for help texts."""
    spec = SPECS[kind]
    parts = ["--org"]
    if spec.has_sku:
        parts.append("--sku")
    if spec.statuses is not None:
        parts.append(f"--status ({', '.join(s.value for s in spec.statuses)})")
    if spec.day is not None:
        parts.append(f"--from/--to (on {spec.day})")
    return ", ".join(parts)


@dataclass(frozen=True)
class ExpectedLot:
    """A lot the books hold with no shipment posted yet: when it ships and arrives."""

    lot: str
    sku: str
    qty: int
    consignee: str
    ships_on: date
    arrives_on: date


def expected_lot(ledger: Ledger, lot_id: str, seen: Visibility | None = None) -> ExpectedLot | None:
    """The lot ``lot_id`` if it is expected (not shipped yet), else None.

    UnknownRecord when the books hold no such lot (or ``seen`` may not see it).
    """
    rows = [r for r in _lots(ledger, ledger.to_scenario()) if r.id == lot_id]
    reader = seen or visibility(ledger, None)
    if not rows or not reader.sees_org(rows[0].consignee):
        raise UnknownRecord(f"lot {lot_id!r} is not in the ledger")
    r = rows[0]
    if r.status is not LotStatus.EXPECTED:
        return None
    return ExpectedLot(r.id, r.sku, r.qty, r.consignee, r.ships_on, r.arrives_on)
