"""The books as a Scenario: the latest version of every document, kept and brought forward.

:class:`ScenarioBase` is what ``Ledger.to_scenario`` and the planning snapshot are made
from, read up to an event and brought forward from the events after it;
:func:`scenario_from_books` reads it afresh. Split from ``ledger.queries`` (the other
reads), whose helpers it uses.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, select

from gpuledger.domain import (
    DiversionStatus,
    DocumentKind,
    Movement,
    Parameters,
    Scenario,
    TransferKind,
    ids,
    limits,
)
from gpuledger.ledger import schema
from gpuledger.ledger.codec import DOCUMENT_TYPES, MOVEMENT_KIND, from_json
from gpuledger.ledger.queries import Docs, starts_with, status_from_ids
from gpuledger.ledger.results import EventKind

_SCENARIO_KINDS = [k.value for k in DOCUMENT_TYPES] + [MOVEMENT_KIND, DocumentKind.SCENARIO.value]
_KINDS_READ = frozenset(_SCENARIO_KINDS)
_RECORD_TYPES: dict[str, type[Any]] = {k.value: cls for k, cls in DOCUMENT_TYPES.items()}
_RECORD_TYPES[MOVEMENT_KIND] = Movement
_DIVERSION = DocumentKind.DIVERSION.value
# A base brought forward patches the diversions' part of the one before when a write
# touched at most this many diversions (each found by a scan of the ids); beyond, the
# part is made afresh on first use.
_PATCH_AT_MOST = 64
_KIND_OF_TYPE: dict[type[Any], str] = {cls: kind for kind, cls in _RECORD_TYPES.items()}


@functools.cache
def _advance_queries(bounded: bool) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """``ScenarioBase.advance``'s three statements, built once: after every write a
    read brings the base forward with them, and building them cost more than running
    them. Each selects the events in ``(:after, :upto]`` (``bounded``) or after ``:after``.
    """
    dc, ev, tr = schema.documents.c, schema.events.c, schema.transfers.c

    def window(query: Select[Any], column: ColumnElement[int]) -> Select[Any]:
        query = query.where(column > bindparam("after", type_=column.type))
        return query.where(column <= bindparam("upto", type_=column.type)) if bounded else query

    # Kinds are sifted in Python, not in SQL: a kind filter there made SQLite scan every
    # document of those kinds by the (doc_kind, doc_id) index, O(documents) per read
    # after a write, where the window alone is a range of the primary key.
    docs = select(dc.doc_kind, dc.doc_id, dc.data, dc.event_seq)
    diverts = select(tr.diversion, tr.id, tr.event_seq).where(
        tr.diversion.is_not(None), tr.kind == TransferKind.DIVERT.value
    )
    moves = select(ev.body, ev.seq, ev.id).where(ev.kind == EventKind.OPERATION.value)
    return (
        window(docs, dc.event_seq).order_by(dc.event_seq),
        window(diverts, tr.event_seq).order_by(tr.event_seq, tr.id),
        window(moves, ev.seq).order_by(ev.seq),
    )


class Posted:
    """The movements posted by the verbs, in log order: an append-only log shared by bases.

    A base sees the first ``n`` of them (``ScenarioBase.posted``). Bringing the newest
    base forward appends here in place, so a write costs what it added, not a copy of
    every movement before it; bringing an older base forward (the log has grown past
    it) takes a copy of its part first, so no base ever sees a movement after its seq.
    """

    def __init__(self, movements: Sequence[Movement] = ()) -> None:
        self._order: list[Movement] = list(movements)
        self._index = {m.id: i for i, m in enumerate(self._order)}
        self._lock = threading.Lock()

    def seen(self, movement_id: str, n: int) -> bool:
        """Whether ``movement_id`` is among the first ``n`` movements."""
        i = self._index.get(movement_id)
        return i is not None and i < n

    def first(self, n: int) -> list[Movement]:
        """The first ``n`` movements, in log order."""
        return self._order[:n]

    def extended(self, n: int, new: Sequence[Movement]) -> Posted:
        """The log of the first ``n`` movements then ``new``: this one when it holds
        exactly ``n`` (appended in place), else a copy."""
        with self._lock:
            if len(self._order) == n:
                for m in new:
                    self._index[m.id] = len(self._order)
                    self._order.append(m)
                return self
        return Posted([*self._order[:n], *new])


@dataclass(frozen=True)
class ScenarioBase:
    """What the books-as-a-Scenario is made of, read up to event ``seq``.

    Kept between reads and brought forward by :meth:`advance` from the events
    after ``seq`` alone, so a read after a write costs what the write added.
    Never changed in place: :meth:`advance` returns a new base sharing what did
    not change (records are immutable).
    """

    seq: int
    docs: Docs  # kind -> id -> latest data, in first-seen order
    records: dict[str, dict[str, Any]]  # kind -> id -> the data as its domain record
    latest_divert: dict[str, str]  # diversion -> id of its latest divert row
    # the input of each movement's first operation event, in log order: the first
    # ``n_posted`` of ``posted`` (shared with the bases brought forward from this one)
    posted: Posted
    n_posted: int
    # id(record) -> (record, limits.record_problem of it), for the records above: shared
    # by the bases brought forward from this one (an entry names its record, so an id
    # reused by another object is never taken for it).
    problems: dict[int, tuple[Any, str | None]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # diversion id -> (its record here, its status, the record with that status): the
    # same object while neither changes, so ``problem`` remembers it too.
    dressed: dict[str, tuple[Any, DiversionStatus, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # kind -> the Scenario's tuple of its records, made once per base and carried into
    # the next one while the kind does not change (a base's own: made on first use).
    parts: dict[str, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def read(cls, conn: Connection, upto_seq: int | None = None) -> ScenarioBase:
        """The base of the books up to ``upto_seq`` (None: everything)."""
        empty = cls(0, {k: {} for k in _SCENARIO_KINDS}, {}, {}, Posted(), 0)
        return empty.advance(conn, upto_seq)

    def advance(self, conn: Connection, upto_seq: int | None) -> ScenarioBase:
        """This base brought forward with the events in ``(seq, upto_seq]``.

        Phases: 1. document versions; 2. divert rows (a diversion's status);
        3. movements posted by the verbs (their operation's input).
        """
        doc_q, div_q, mov_q = _advance_queries(upto_seq is not None)
        bounds = {"after": self.seq} if upto_seq is None else {"after": self.seq, "upto": upto_seq}
        seq = self.seq
        # 1. Document versions after the base, in log order; a kind's maps are copied
        # when it first changes, the others are shared with this base.
        docs, records = dict(self.docs), dict(self.records)
        changed: set[str] = set()
        diverted: set[str] = set()  # diversions with a new version or divert row
        for r in conn.execute(doc_q, bounds):  # kinds sifted here (``_advance_queries``)
            if r.doc_kind not in _KINDS_READ:
                continue
            if r.doc_kind == _DIVERSION:
                diverted.add(r.doc_id)
            cls = _RECORD_TYPES.get(r.doc_kind)
            if r.doc_kind not in changed:
                changed.add(r.doc_kind)
                docs[r.doc_kind] = dict(docs[r.doc_kind])
                if cls is not None:
                    records[r.doc_kind] = dict(records.get(r.doc_kind, {}))
            docs[r.doc_kind][r.doc_id] = data = json.loads(r.data)
            seq = max(seq, int(r.event_seq))
            if cls is not None:
                replaced = records[r.doc_kind].get(r.doc_id)
                if replaced is not None:
                    self.problems.pop(id(replaced), None)
                records[r.doc_kind][r.doc_id] = from_json(cls, data)
        # 2. The latest divert row of each diversion (pending, post or void): its status.
        latest = self.latest_divert
        for r in conn.execute(div_q, bounds):
            latest = dict(latest) if latest is self.latest_divert else latest
            latest[r.diversion] = r.id
            diverted.add(r.diversion)
            seq = max(seq, int(r.event_seq))
        # 3. Movements posted by the verbs (imported ones are documents).
        new_moves: dict[str, Movement] = {}
        prefix = ids.movements_prefix()
        if not self.seq:  # every movement: by the id index
            mov_q = mov_q.where(starts_with(conn.dialect.name, schema.events.c.id, prefix))
        # after a base, the window is a range of the primary key: ids are sifted here (an
        # id range in SQL made SQLite read every movement's id by that index, each time)
        for r in conn.execute(mov_q, bounds):
            if not r.id.startswith(prefix):
                continue
            data = json.loads(r.body)["input"]
            if data["id"] not in new_moves and not self.posted.seen(data["id"], self.n_posted):
                new_moves[data["id"]] = from_json(Movement, data)
            seq = max(seq, int(r.seq))
        seq = max(seq, upto_seq or 0)
        assert seq >= self.seq, "a base only moves forward"
        # 4. The Scenario's parts that did not change, kept; movements posted since appended.
        parts = {k: v for k, v in self.parts.items() if k not in changed and k != _DIVERSION}
        posted = self.posted
        if new_moves:
            posted = posted.extended(self.n_posted, tuple(new_moves.values()))
        if new_moves and MOVEMENT_KIND in parts:
            imported = records.get(MOVEMENT_KIND, {})
            parts[MOVEMENT_KIND] += tuple(m for m in new_moves.values() if m.id not in imported)
        n_posted = self.n_posted + len(new_moves)
        base = ScenarioBase(
            seq, docs, records, latest, posted, n_posted, self.problems, self.dressed, parts
        )  # fmt: skip
        kept = self.parts.get(_DIVERSION)
        if kept is not None and not diverted:
            parts[_DIVERSION] = kept
        elif kept is not None and len(diverted) <= _PATCH_AT_MOST:
            parts[_DIVERSION] = base._diversions_patched(kept, diverted)
        return base

    def _diversions_patched(self, kept: tuple[Any, ...], diverted: set[str]) -> tuple[Any, ...]:
        """The diversions' part: ``kept`` (an older base's) with ``diverted`` made again.

        A diversion keeps its first-seen place (a new version replaces it in
        place; the docs are in first-seen order), and the new ones come after
        ``kept``'s: so only the diversions a write touched cost anything.
        """
        records, ids = self.records.get(_DIVERSION, {}), list(self.docs[_DIVERSION])
        part, n = list(kept), len(kept)
        for diversion in diverted:
            at = ids.index(diversion) if diversion in records else n
            if at < n:
                part[at] = self._with_status(records[diversion])
        part += (self._with_status(records[i]) for i in ids[n:])
        return tuple(part)

    def problem(self, record: object) -> str | None:
        """``limits.record_problem(record)``, remembered for the records of this base.

        Records are immutable, so a record's answer never changes; a record that
        is not one of this base's (a diversion with its status set) is checked
        each time.
        """
        found = self.problems.get(id(record))
        if found is not None and found[0] is record:
            return found[1]
        problem = limits.record_problem(record)
        kind, record_id = _KIND_OF_TYPE.get(type(record)), getattr(record, "id", "")
        dressed = self.dressed.get(record_id)
        if (kind is not None and self.records.get(kind, {}).get(record_id) is record) or (
            kind == DocumentKind.DIVERSION.value and dressed is not None and dressed[2] is record
        ):
            self.problems[id(record)] = (record, problem)
        return problem

    def _part(self, kind: str) -> tuple[Any, ...]:
        """The Scenario's records of ``kind`` in first-seen order (made once per base).

        Diversions carry the status the books hold; movements are the imported
        documents, then those posted by the verbs.
        """
        found = self.parts.get(kind)
        if found is not None:
            return found
        records = self.records.get(kind, {})
        if kind == MOVEMENT_KIND:
            every = dict(records)
            for movement in self.posted.first(self.n_posted):
                every.setdefault(movement.id, movement)
            found = tuple(every.values())
        else:
            found = tuple(records[i] for i in self.docs[kind])
        if kind == DocumentKind.DIVERSION.value:
            found = tuple(self._with_status(d) for d in found)
        self.parts[kind] = found
        return found

    def _with_status(self, d: Any) -> Any:
        """Diversion ``d`` with the status of its latest divert row (as it is when none)."""
        latest = self.latest_divert.get(d.id)
        status = status_from_ids({latest}, d.id) if latest is not None else None
        return self._dress(d, status) if status else d

    def _dress(self, d: Any, status: DiversionStatus) -> Any:
        """The diversion record ``d`` with ``status``: the same object as last time if neither
        changed."""
        kept = self.dressed.get(d.id)
        if kept is not None and kept[0] is d and kept[1] is status:
            return kept[2]
        if kept is not None:
            self.problems.pop(id(kept[2]), None)
        dressed = replace(d, status=status)
        self.dressed[d.id] = (d, status, dressed)
        return dressed

    def scenario(self, as_of: date | None = None) -> Scenario:
        """The latest documents as a Scenario (see ``Ledger.to_scenario``)."""
        heads = list(self.docs[DocumentKind.SCENARIO.value].values())
        head: dict[str, Any] = heads[-1]["data"] if heads else {}

        def of(kind: DocumentKind) -> tuple[Any, ...]:
            return self._part(kind.value)

        return Scenario(
            name=head.get("name", "ledger"),
            as_of=as_of or (date.fromisoformat(head["as_of"]) if head else date.min),
            skus=of(DocumentKind.SKU),
            vendors=of(DocumentKind.VENDOR),
            groups=of(DocumentKind.GROUP),
            orgs=of(DocumentKind.ORG),
            clusters=of(DocumentKind.CLUSTER),
            sites=of(DocumentKind.SITE),
            orders=of(DocumentKind.ORDER),
            lots=of(DocumentKind.LOT),
            targets=of(DocumentKind.TARGET),
            claims=of(DocumentKind.CLAIM),
            diversions=of(DocumentKind.DIVERSION),
            movements=self._part(MOVEMENT_KIND),
            parameters=from_json(Parameters, head["parameters"]) if head else Parameters(),
            description=head.get("description"),
        )


def scenario_from_books(conn: Connection, as_of: date | None = None) -> Scenario:
    """The latest documents as a Scenario (see ``Ledger.to_scenario``)."""
    return ScenarioBase.read(conn).scenario(as_of)
