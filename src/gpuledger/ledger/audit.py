"""``verify``: recompute the hash chain, check the projections and the record digests.

What the chain alone cannot show (the last events deleted and the head moved
back, or every hash recomputed) is what a signed checkpoint shows
(``ledger.checkpoint``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from gpuledger.ledger import record_digests, schema
from gpuledger.ledger.codec import canonical, content_hash, event_hash
from gpuledger.ledger.results import AuditReport, EventKind

_MAX_PROBLEMS = 20


def _transfer_body(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "phase": row.phase,
        "debit": f"{row.debit_owner}/{row.debit_bucket}",
        "credit": f"{row.credit_owner}/{row.credit_bucket}",
        "sku": row.sku,
        "lot": row.lot,
        "qty": int(row.qty),
        "pending_id": row.pending_id,
        "diversion": row.diversion,
    }


def verify_books(conn: Connection) -> AuditReport:
    """Check every event in ``seq`` order; the report names the first bad one and why.

    Checks, per event: seq has no gap, ``prev_hash`` links to the previous hash,
    the hash recomputes, its transfers and document rows equal what its body
    says (same times too). Then: no projection row without its event, the
    chain head matches the last event, and every governance row and stored API
    response matches its record digest (``ledger.record_digests``); those
    problems come after the events' and name the table and key, with no seq.
    """
    problems: list[tuple[int, str, str]] = []  # seq, id, reason

    # 1. Load the projections, grouped by event.
    tr_rows: dict[int, list[Any]] = defaultdict(list)
    n_transfers = 0
    for row in conn.execute(select(schema.transfers).order_by(schema.transfers.c.id)):
        tr_rows[int(row.event_seq)].append(row)
        n_transfers += 1
    doc_rows = {int(r.event_seq): r for r in conn.execute(select(schema.documents))}

    # 2. Walk the chain.
    prev, expected_seq, n_events, last_id = schema.GENESIS_HASH, 1, 0, ""
    for row in conn.execute(select(schema.events).order_by(schema.events.c.seq)):
        seq, event_id = int(row.seq), row.id
        n_events += 1
        last_id = event_id
        reasons = _link_problems(row, expected_seq, prev)
        body, chain_reasons = _hash_problems(row)
        reasons += chain_reasons
        reasons += _projection_problems(row, body, tr_rows.pop(seq, []), doc_rows.pop(seq, None))
        problems.extend((seq, event_id, reason) for reason in reasons)
        prev = row.hash
        expected_seq = seq + 1

    # 3. Orphans and the head.
    for seq, rows in sorted(tr_rows.items()):
        problems.append((seq, rows[0].id, f"transfer {rows[0].id!r} has no event {seq}"))
    for seq, doc in sorted(doc_rows.items()):
        problems.append((seq, doc.doc_id, f"document row of {doc.doc_id!r} has no event {seq}"))
    head = conn.execute(select(schema.chain_head).where(schema.chain_head.c.id == 1)).one()
    if int(head.seq) != expected_seq - 1 or head.hash != prev:
        problems.append(
            (int(head.seq), last_id, "chain head does not match the last event (log truncated?)")
        )
    records = record_digests.verify(conn)
    return _report(problems, n_events, n_transfers, records)


def _link_problems(row: Any, expected_seq: int, prev: str) -> list[str]:
    """The event's place in the chain: its seq follows, its prev_hash links."""
    found = []
    if int(row.seq) != expected_seq:
        found.append(f"broken link: seq {row.seq} follows {expected_seq - 1}")
    if row.prev_hash != prev:
        found.append("broken link: prev_hash is not the previous event's hash")
    return found


def _hash_problems(row: Any) -> tuple[dict[str, Any], list[str]]:
    """The event's body (empty if unreadable) and whether its hash and form are right."""
    try:
        body = json.loads(row.body)
        recomputed = event_hash(
            row.prev_hash,
            seq=int(row.seq),
            id=row.id,
            kind=row.kind,
            body=row.body,
            actor=row.actor,
            effective_at=row.effective_at,
            recorded_at=row.recorded_at,
        )
    except ValueError as exc:
        return {}, [f"hash mismatch: body is not JSON ({exc})"]
    found = []
    if recomputed != row.hash:
        found.append("hash mismatch: the stored event differs from what was chained")
    if canonical(body) != row.body:
        found.append("body is not in canonical form")
    return body, found


def _projection_problems(
    row: Any, body: dict[str, Any], stored: list[Any], doc: Any | None
) -> list[str]:
    """The event's transfer rows and document row against what its body says."""
    found = []
    want = sorted(body.get("transfers") or [], key=lambda t: str(t.get("id")))
    if [_transfer_body(r) for r in stored] != want:
        found.append("transfer rows do not match the event (projection altered)")
    elif any(
        r.effective_at != row.effective_at or r.recorded_at != row.recorded_at for r in stored
    ):
        found.append("transfer rows carry other times than the event")
    if row.kind == EventKind.DOCUMENT.value:
        ok = (
            doc is not None
            and doc.doc_kind == body.get("doc")
            and doc.doc_id == body.get("id")
            and json.loads(doc.data) == body.get("data")
            and doc.content_hash == content_hash(body.get("data"))
        )
        if not ok:
            found.append("document row does not match the event (projection altered)")
    elif doc is not None:
        found.append("a document row hangs on an event that is not a document")
    return found


def _report(
    problems: list[tuple[int, str, str]],
    n_events: int,
    n_transfers: int,
    records: list[tuple[str, str]],
) -> AuditReport:
    if not problems and not records:
        return AuditReport(ok=True, events_checked=n_events, transfers_checked=n_transfers)
    problems.sort(key=lambda p: p[0])
    lines = [f"seq {s} {i}: {r}" for s, i, r in problems] + [r for _, r in records]
    if problems:
        seq: int | None
        seq, bad_id, reason = problems[0]
    else:
        seq, (bad_id, reason) = None, records[0]
    return AuditReport(
        ok=False,
        events_checked=n_events,
        transfers_checked=n_transfers,
        bad_seq=seq,
        bad_id=bad_id,
        reason=reason,
        problems=tuple(lines[:_MAX_PROBLEMS]),
    )
