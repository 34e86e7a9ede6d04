"""The books' view of diversions: record, status, decisions with actors, transfers.

Built in a few queries whatever the number of diversions, and brought up to a
newer chain head incrementally (only the diversions touched since are read).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Select, bindparam, or_, select

from gpuledger.domain import Decision, Diversion, DocumentKind, ids
from gpuledger.ledger import schema
from gpuledger.ledger.balances import transfer_from_row
from gpuledger.ledger.chain import Head
from gpuledger.ledger.codec import from_json
from gpuledger.ledger.queries import (
    CHUNK,
    prefix_params,
    read_documents,
    starts_with,
    starts_with_param,
    status_from_ids,
)
from gpuledger.ledger.results import DecisionView, DiversionView, EventKind, Transfer

_FEW = 16  # diversions read by their own event ids rather than a scan of all decisions


def _decision_events(dialect: str) -> Any:
    """The WHERE clause selecting every proposal and decision event (for a few
    diversions, :func:`_events_of_few` names theirs)."""
    ev = schema.events.c
    return starts_with(dialect, ev.id, ids.proposals_prefix()) | starts_with(
        dialect, ev.id, ids.decisions_prefix()
    )


def _named(event_id: str, body: str) -> tuple[str, Decision]:
    """The diversion and decision an event records (bodies name it: ids may hold colons)."""
    if event_id.startswith(ids.proposals_prefix()):
        return ids.proposed_diversion(event_id), Decision.PROPOSE
    inputs = json.loads(body)["input"]
    return str(inputs["diversion"]), Decision(inputs["decision"])


def diversion_views(conn: Connection, diversions: Sequence[Diversion]) -> list[DiversionView]:
    """The books' view of each diversion, in the given order, in two queries.

    One query reads the transfers of the diversions, one the proposal and
    decision events.
    """
    if not diversions:
        return []
    wanted = {d.id for d in diversions}
    dialect = conn.dialect.name
    rows_of: dict[str, list[Transfer]] = defaultdict(list)
    by_ids = len(wanted) <= CHUNK
    query = _transfers_of(by_ids)
    for r in conn.execute(query, {"wanted": sorted(wanted)} if by_ids else {}):
        if r.diversion in wanted:
            rows_of[r.diversion].append(transfer_from_row(r))
    decided: dict[str, list[DecisionView]] = defaultdict(list)
    if len(wanted) <= _FEW:
        events, values = _events_of_few(dialect, len(wanted)), _few_params(dialect, wanted)
    else:
        events, values = _events_of(dialect), {}
    for r in conn.execute(events, values):
        diversion_id, decision = _named(r.id, r.body)
        if diversion_id in wanted:
            decided[diversion_id].append(
                DecisionView(decision, r.actor, r.effective_at, r.recorded_at, int(r.seq))
            )
    views = []
    for d in diversions:
        rows = rows_of.get(d.id, [])
        status = status_from_ids({t.id for t in rows}, d.id)
        views.append(
            DiversionView(
                diversion=replace(d, status=status) if status is not None else d,
                status=status,
                decisions=tuple(decided.get(d.id, ())),
                transfers=tuple(rows),
            )
        )
    return views


@functools.cache
def _transfers_of(by_ids: bool) -> Select[Any]:
    """The transfers of the diversions ``:wanted`` (``by_ids``), or of every diversion,
    in log order: built once (a write's report reads its diversion's)."""
    tr = schema.transfers.c
    query = select(schema.transfers).order_by(tr.event_seq, tr.id)
    if by_ids:
        return query.where(tr.diversion.in_(bindparam("wanted", expanding=True)))
    return query.where(tr.diversion.is_not(None))


def _decision_columns() -> Select[Any]:
    ev = schema.events.c
    return select(ev.id, ev.body, ev.actor, ev.effective_at, ev.recorded_at, ev.seq)


def _events_of(dialect: str) -> Select[Any]:
    """Every proposal and decision event, in log order (callers keep their diversions')."""
    ev = schema.events.c
    return (
        _decision_columns()
        .where(_decision_events(dialect), ev.kind == EventKind.OPERATION.value)
        .order_by(ev.seq)
    )


@functools.cache
def _events_of_few(dialect: str, n: int) -> Select[Any]:
    """The proposal and decision events of ``n`` <= ``_FEW`` diversions, in log order, by
    bound ids and prefixes (:func:`_few_params`): built once per count. A diversion whose
    id extends another's shares its decisions' prefix; callers keep only the diversions
    named in the events' bodies."""
    ev = schema.events.c
    named = or_(
        *(
            (ev.id == bindparam(f"event{i}", type_=ev.id.type))
            | starts_with_param(dialect, ev.id, f"decided{i}")
            for i in range(n)
        )
    )
    return _decision_columns().where(named, ev.kind == EventKind.OPERATION.value).order_by(ev.seq)


def _few_params(dialect: str, wanted: set[str]) -> dict[str, str]:
    """The values of :func:`_events_of_few`'s parameters: each diversion's proposal event
    id and its decisions' prefix."""
    values: dict[str, str] = {}
    for i, x in enumerate(sorted(wanted)):
        values[f"event{i}"] = ids.divert_event(x)
        values.update(prefix_params(dialect, f"decided{i}", ids.decision_prefix(x)))
    return values


def on_chain(conn: Connection, head: Head) -> bool:
    """Whether the event at ``head``'s seq has ``head``'s hash in these books (seq 0: always)."""
    if head[0] == 0:
        return True
    found = conn.execute(_HASH_AT, {"seq": head[0]}).scalar()
    return found == head[1]


#: ``on_chain``'s statement, built once (it runs after every write).
_HASH_AT = select(schema.events.c.hash).where(
    schema.events.c.seq == bindparam("seq", type_=schema.events.c.seq.type)
)


def all_diversion_views(conn: Connection) -> tuple[DiversionView, ...]:
    """The books' view of every diversion, in order of first appearance of its record."""
    docs = read_documents(conn, [DocumentKind.DIVERSION.value])[DocumentKind.DIVERSION.value]
    return tuple(diversion_views(conn, [from_json(Diversion, data) for data in docs.values()]))


def touched_diversions(conn: Connection, since: int) -> set[str]:
    """Ids of the diversions whose view may differ after the events with seq above ``since``.

    A diversion's view is made of its record (documents of kind diversion), its
    transfers (the ``diversion`` column) and its proposal and decision events.
    """
    rows, docs, events = _touched_queries(conn.dialect.name)
    since_ = {"since": since}
    found: set[str] = set()
    found.update(str(r) for r in conn.execute(rows, since_).scalars())
    found.update(str(r) for r in conn.execute(docs, since_).scalars())
    for r in conn.execute(events, since_):
        found.add(_named(r.id, r.body)[0])
    return found


@functools.cache
def _touched_queries(dialect: str) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """``touched_diversions``' three statements after ``:since``, built once per dialect
    (they run after every write; building them cost more than running them)."""
    tr, dc, ev = schema.transfers.c, schema.documents.c, schema.events.c

    def after(column: Any) -> Any:
        return column > bindparam("since", type_=column.type)

    rows = select(tr.diversion).where(after(tr.event_seq), tr.diversion.is_not(None)).distinct()
    docs = select(dc.doc_id).where(after(dc.event_seq), dc.doc_kind == DocumentKind.DIVERSION.value)
    events = select(ev.id, ev.body).where(
        after(ev.seq), ev.kind == EventKind.OPERATION.value, _decision_events(dialect)
    )
    return rows, docs, events


def update_diversion_views(
    conn: Connection, views: Sequence[DiversionView], *, since: int
) -> tuple[DiversionView, ...]:
    """``views`` (the full list at seq ``since``) brought up to the books' head.

    Only the diversions touched after ``since`` are read again; they keep their
    place, and diversions first recorded after ``since`` are appended in order of
    first appearance, as :func:`all_diversion_views` orders them.
    """
    touched = touched_diversions(conn, since)
    if not touched:
        return tuple(views)
    if len(touched) > CHUNK:
        return all_diversion_views(conn)
    dc = schema.documents.c
    query = (
        select(dc.doc_id, dc.data)
        .where(dc.doc_kind == DocumentKind.DIVERSION.value, dc.doc_id.in_(touched))
        .order_by(dc.event_seq)
    )
    docs: dict[str, dict[str, Any]] = {}
    for r in conn.execute(query):
        docs[r.doc_id] = json.loads(r.data)
    fresh = {
        v.diversion.id: v
        for v in diversion_views(conn, [from_json(Diversion, data) for data in docs.values()])
    }
    out = [fresh.pop(v.diversion.id, v) for v in views]
    out.extend(fresh.values())  # in order of first appearance: all after ``since``
    return tuple(out)
