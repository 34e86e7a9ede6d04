"""What was recorded between two dates, grouped by record: the command line's audit log.

Reads the events the books recorded from ``since`` to ``until`` (inclusive
days, by when the books learned them, not when they happened), keeps those the
reader sees (``Visibility.sees_event``, the rule of the web's audit page), and
groups them by the record they touch:

- a new version of a record (an org, order, lot, target...): each field whose
  value changed, old (the version before, None when the record is new) and new;
- a verb (a shipment, receipt, movement, diversion's proposal or decision, a
  reversal): its inputs as new values, and the transfers it posted.

Every entry names its actor and when it was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gpuledger.domain import InputTooLarge, InvalidInput
from gpuledger.domain.serialize import jsonable

if TYPE_CHECKING:
    from gpuledger.ledger import EventView, Ledger
    from gpuledger.services.visibility import Visibility

#: Events one call reads at most; a wider window is refused (narrow it with --until).
CHANGES_MAX = 100_000


@dataclass(frozen=True)
class FieldChange:
    """One field of a record: its value before and after (None: absent)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Entry:
    """One recorded event as it touched one record."""

    seq: int
    event: str
    what: str  # "created", "changed", or the verb (ship, receive, propose, reverse...)
    actor: str
    recorded_at: datetime
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class RecordHistory:
    """The entries of one record (``lot LOT-A-3``), oldest first."""

    record: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class ChangesReport:
    """What the books recorded from ``since`` to ``until``, grouped by record."""

    since: date
    until: date | None
    records: tuple[RecordHistory, ...]

    def to_json(self) -> dict[str, Any]:
        """The CLI contract: ``{"since", "until", "records": [{"record", "entries"}]}``."""
        data: dict[str, Any] = jsonable(self)
        return data

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per changed field (the CSV and table shape)."""
        out = []
        for r in self.records:
            for e in r.entries:
                for f in e.fields or (FieldChange("", None, None),):
                    out.append(
                        {
                            "record": r.record,
                            "recorded_at": e.recorded_at.isoformat(timespec="seconds"),
                            "actor": e.actor,
                            "what": e.what,
                            "field": f.field,
                            "old": _text(f.old),
                            "new": _text(f.new),
                            "event": e.event,
                        }
                    )
        return out


COLUMNS = ("record", "recorded_at", "actor", "what", "field", "old", "new", "event")


def _text(value: Any) -> Any:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def changes(
    ledger: Ledger,
    since: date,
    until: date | None = None,
    seen: Visibility | None = None,
    *,
    limit: int = CHANGES_MAX,
) -> ChangesReport:
    """What the books recorded from ``since`` to ``until`` that the reader sees.

    ``seen`` None is the holder of the books. Raises InvalidInput when
    ``until`` is before ``since``, InputTooLarge when the window holds more
    than ``limit`` events.
    """
    if until is not None and until < since:
        raise InvalidInput(f"--until {until} is before --since {since}", field="--until")
    events, versions = ledger.events_recorded(since, until, limit=limit)
    if len(events) > limit:
        raise InputTooLarge(
            f"more than {limit:,} events were recorded from {since} on: narrow it with --until",
            field="--until",
        )
    groups: dict[str, list[Entry]] = {}
    for e in events:
        if seen is not None and not seen.sees_event(e.body):
            continue
        record, entry = _entry(e, versions)
        groups.setdefault(record, []).append(entry)
    return ChangesReport(
        since, until, tuple(RecordHistory(r, tuple(es)) for r, es in groups.items())
    )


def _entry(
    e: EventView, versions: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]]
) -> tuple[str, Entry]:
    body = e.body
    if "doc" in body:
        kind, ident = str(body["doc"]), str(body["id"])
        before = [data for seq, data in versions.get((kind, ident), []) if seq < e.seq]
        old = before[-1] if before else {}
        new = dict(body.get("data") or {})
        fields = tuple(
            FieldChange(k, old.get(k), new.get(k))
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        )
        what = "changed" if before else "created"
        return f"{kind} {ident}", Entry(e.seq, e.id, what, e.actor, e.recorded_at, fields)
    op = str(body.get("op", e.kind))
    inputs = body.get("input") or {}
    fields = tuple(FieldChange(k, None, v) for k, v in sorted(inputs.items()) if v is not None)
    moved = tuple(
        FieldChange(
            f"transfer {t['id']}", None, f"{t['qty']} {t['debit']} -> {t['credit']} ({t['phase']})"
        )
        for t in body.get("transfers", [])
    )
    return _subject(op, inputs, e.id), Entry(
        e.seq, e.id, op, e.actor, e.recorded_at, fields + moved
    )


def _subject(op: str, inputs: dict[str, Any], event: str) -> str:
    """The record a verb touches: its diversion, its transfer, else its lot."""
    if "diversion" in inputs:
        return f"diversion {inputs['diversion']}"
    if op == "propose":  # its event is divert:<diversion>
        return f"diversion {event.split(':', 1)[1]}"
    if "transfer" in inputs:
        return f"transfer {inputs['transfer']}"
    if inputs.get("lot"):
        return f"lot {inputs['lot']}"
    return f"event {event}"
