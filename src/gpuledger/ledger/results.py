"""What the ledger returns: frozen values, each with ``as_json`` for the CLI and API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from gpuledger.domain import (
    Account,
    Decision,
    Diversion,
    DiversionStatus,
    Phase,
    TransferKind,
)
from gpuledger.ledger.codec import to_json


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

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return self.body() | {
            "effective_at": to_json(self.effective_at),
            "recorded_at": to_json(self.recorded_at),
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: new events, and events already present (idempotent replays)."""

    new_events: int
    existing_events: int
    new_transfers: int
    new_documents: int

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return to_json(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LotTrace:
    """Where every unit of a lot went: its transfers in order, and who holds it now.

    ``holdings`` maps each account to its posted units of the lot (zero rows
    dropped); ``pending`` the net reserved change per account.
    """

    lot: str
    sku: str
    shipped: int
    transfers: tuple[Transfer, ...]
    holdings: dict[Account, int]
    pending: dict[Account, int]

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return {
            "lot": self.lot,
            "sku": self.sku,
            "shipped": self.shipped,
            "transfers": [t.as_json() for t in self.transfers],
            "holdings": {str(a): q for a, q in sorted(self.holdings.items())},
            "pending": {str(a): q for a, q in sorted(self.pending.items())},
        }


@dataclass(frozen=True)
class DecisionView:
    """One decision on a diversion: who, what, when."""

    decision: Decision
    actor: str
    effective_at: datetime
    recorded_at: datetime
    seq: int


@dataclass(frozen=True)
class DiversionView:
    """A diversion as the books hold it: latest record, status, decisions, transfers."""

    diversion: Diversion
    status: DiversionStatus | None  # None: an expectation not yet proposed in the books
    decisions: tuple[DecisionView, ...]
    transfers: tuple[Transfer, ...]

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return {
            "diversion": to_json(self.diversion),
            "status": self.status.value if self.status else None,
            "decisions": [to_json(d) for d in self.decisions],
            "transfers": [t.as_json() for t in self.transfers],
        }


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

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        return to_json(self)  # type: ignore[no-any-return]


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
        """The CLI/API JSON shape."""
        return to_json(self)  # type: ignore[no-any-return]
