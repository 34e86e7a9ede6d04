"""What the ledger returns: frozen values, and the JSON contract of each.

A result whose fields are its JSON contract is serialised as it is
(``gpuledger.domain.serialize.jsonable``); one that holds accounts or
timestamps has a ``row()``: a frozen value whose fields are the contract
(accounts as ``owner/bucket``, timestamps as UTC ISO 8601 with microseconds, the
form the hash chain uses). ``as_json()`` is ``jsonable`` of either, kept for
callers of the CLI's and the API's shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from gpuledger.domain import (
    Account,
    Decision,
    Diversion,
    DiversionStatus,
    Phase,
    TransferKind,
)
from gpuledger.domain.serialize import jsonable
from gpuledger.ledger.codec import timestamp


class EventKind(StrEnum):
    """What an event of the log records."""

    DOCUMENT = "document"  # a new version of a record (org, lot, target...)
    OPERATION = "operation"  # a ledger verb: zero or more transfers


class Operation(StrEnum):
    """The verb of an ``operation`` event (its body's ``op``)."""

    SHIP = "ship"
    RECEIVE = "receive"
    MOVEMENT = "movement"
    PROPOSE = "propose"
    DECIDE = "decide"
    PAYBACK = "payback"
    REVERSE = "reverse"


@dataclass(frozen=True)
class Receipt:
    """Input of ``receive`` in a batch: the lot arrived on ``on``."""

    lot: str
    on: date


@dataclass(frozen=True)
class Transfer:
    """One immutable transfer row: ``qty`` units of ``sku`` (from ``lot``) debit -> credit."""

    id: str
    kind: TransferKind
    phase: Phase
    debit: Account
    credit: Account
    sku: str
    lot: str
    qty: int
    effective_at: datetime
    recorded_at: datetime
    pending_id: str | None = None
    diversion: str | None = None

    def body(self) -> dict[str, Any]:
        """The transfer as its event stores it (times are the event's)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "phase": self.phase.value,
            "debit": str(self.debit),
            "credit": str(self.credit),
            "sku": self.sku,
            "lot": self.lot,
            "qty": self.qty,
            "pending_id": self.pending_id,
            "diversion": self.diversion,
        }

    def row(self) -> TransferRow:
        """The transfer's JSON contract."""
        return TransferRow(
            self.id,
            self.kind,
            self.phase,
            str(self.debit),
            str(self.credit),
            self.sku,
            self.lot,
            self.qty,
            self.pending_id,
            self.diversion,
            timestamp(self.effective_at),
            timestamp(self.recorded_at),
        )

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self.row())``."""
        return _json(self.row())


def _json(value: Any) -> dict[str, Any]:
    found = jsonable(value)
    assert isinstance(found, dict)
    return found


@dataclass(frozen=True)
class TransferRow:
    """A transfer's JSON contract: accounts as ``owner/bucket``, times as UTC ISO strings."""

    id: str
    kind: TransferKind
    phase: Phase
    debit: str
    credit: str
    sku: str
    lot: str
    qty: int
    pending_id: str | None
    diversion: str | None
    effective_at: str
    recorded_at: str


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: new events, and events already present (idempotent replays)."""

    new_events: int
    existing_events: int
    new_transfers: int
    new_documents: int

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self)``."""
        return _json(self)


@dataclass(frozen=True)
class LotTrace:
    """Where every unit of a lot went: its transfers in order, and who holds it now.

    ``holdings`` maps each account to its posted units of the lot (zero rows
    dropped); ``pending`` the net reserved change per account; ``sites`` the
    site of each cluster account the lot touched (clusters at a site only).
    """

    lot: str
    sku: str
    shipped: int
    transfers: tuple[Transfer, ...]
    holdings: dict[Account, int]
    pending: dict[Account, int]
    sites: dict[str, str] = field(default_factory=dict)

    def row(self) -> LotTraceRow:
        """The trace's JSON contract (accounts sorted)."""
        return LotTraceRow(
            self.lot,
            self.sku,
            self.shipped,
            tuple(t.row() for t in self.transfers),
            {str(a): q for a, q in sorted(self.holdings.items())},
            {str(a): q for a, q in sorted(self.pending.items())},
            dict(sorted(self.sites.items())),
        )

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self.row())``."""
        return _json(self.row())


@dataclass(frozen=True)
class LotTraceRow:
    """A lot trace's JSON contract: accounts as ``owner/bucket`` keys."""

    lot: str
    sku: str
    shipped: int
    transfers: tuple[TransferRow, ...]
    holdings: dict[str, int]
    pending: dict[str, int]
    sites: dict[str, str]


@dataclass(frozen=True)
class DecisionView:
    """One decision on a diversion: who, what, when."""

    decision: Decision
    actor: str
    effective_at: datetime
    recorded_at: datetime
    seq: int

    def row(self) -> DecisionRow:
        """The decision's JSON contract."""
        return DecisionRow(
            self.decision,
            self.actor,
            timestamp(self.effective_at),
            timestamp(self.recorded_at),
            self.seq,
        )


@dataclass(frozen=True)
class DecisionRow:
    """A decision's JSON contract: times as UTC ISO strings."""

    decision: Decision
    actor: str
    effective_at: str
    recorded_at: str
    seq: int


@dataclass(frozen=True)
class DiversionView:
    """A diversion as the books hold it: latest record, status, decisions, transfers."""

    diversion: Diversion
    status: DiversionStatus | None  # None: an expectation not yet proposed in the books
    decisions: tuple[DecisionView, ...]
    transfers: tuple[Transfer, ...]

    def row(self) -> DiversionRow:
        """The view's JSON contract."""
        return DiversionRow(
            self.diversion,
            self.status,
            tuple(d.row() for d in self.decisions),
            tuple(t.row() for t in self.transfers),
        )

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self.row())``, new at every level each call
        (a caller may change what it gets)."""
        result: dict[str, Any] = json.loads(self._json_text)
        return result

    @cached_property
    def _json_text(self) -> str:
        # Rendered once per view: views are frozen and kept across reads (the ledger's
        # list of diversions keeps the views no write touched), and a page of the list
        # renders a hundred of them per request. Kept as text: parsing it is several
        # times cheaper than rendering, and no caller shares another's objects.
        return json.dumps(_json(self.row()))


@dataclass(frozen=True)
class DiversionRow:
    """A diversion view's JSON contract."""

    diversion: Diversion
    status: DiversionStatus | None
    decisions: tuple[DecisionRow, ...]
    transfers: tuple[TransferRow, ...]


@dataclass(frozen=True)
class EventView:
    """One event of the log, for the audit page."""

    seq: int
    id: str
    kind: EventKind
    body: dict[str, Any]
    actor: str
    effective_at: datetime
    recorded_at: datetime
    hash: str

    def row(self) -> EventRow:
        """The event's JSON contract."""
        return EventRow(
            self.seq,
            self.id,
            self.kind,
            self.body,
            self.actor,
            timestamp(self.effective_at),
            timestamp(self.recorded_at),
            self.hash,
        )

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self.row())``."""
        return _json(self.row())


@dataclass(frozen=True)
class EventRow:
    """An event's JSON contract: times as UTC ISO strings."""

    seq: int
    id: str
    kind: EventKind
    body: dict[str, Any]
    actor: str
    effective_at: str
    recorded_at: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """Result of ``verify``: ok, or the first bad event (seq and id) and why."""

    ok: bool
    events_checked: int
    transfers_checked: int
    bad_seq: int | None = None
    bad_id: str | None = None
    reason: str | None = None
    problems: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape: ``jsonable(self)``."""
        return _json(self)
