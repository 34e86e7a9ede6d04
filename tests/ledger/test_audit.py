"""Tamper evidence: verify() names the first altered event and why."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from gpuledger.ledger import Ledger
from gpuledger.ledger.codec import canonical, event_hash
from gpuledger.ledger.schema import GENESIS_HASH

from .conftest import base


@pytest.fixture
def books(ledger: Ledger) -> Ledger:
    ledger.import_scenario(base())
    assert ledger.verify().ok
    return ledger


def seq_of(ledger: Ledger, event_id: str) -> int:
    with ledger.engine.connect() as conn:
        return int(
            conn.execute(text("SELECT seq FROM events WHERE id = :i"), {"i": event_id}).scalar_one()
        )


def run(ledger: Ledger, sql: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_hash_is_sha256_of_prev_and_canonical_event() -> None:
    at = datetime(2024, 1, 2, tzinfo=UTC)
    envelope = (
        '{"actor":"me","body":{"a":1},"effective_at":"2024-01-02T00:00:00.000000+00:00",'
        '"id":"x","kind":"operation","recorded_at":"2024-01-02T00:00:00.000000+00:00","seq":1}'
    )
    want = hashlib.sha256((GENESIS_HASH + envelope).encode()).hexdigest()
    got = event_hash(GENESIS_HASH, seq=1, id="x", kind="operation", body=canonical({"a": 1}),
                     actor="me", effective_at=at, recorded_at=at)  # fmt: skip
    assert got == want


def test_edited_event_body_is_named(books: Ledger) -> None:
    seq = seq_of(books, "ship:LOT-T1-08")
    run(books, "UPDATE events SET body = replace(body, '10000', '10001') WHERE seq = :s", s=seq)
    report = books.verify()
    assert not report.ok
    assert (report.bad_seq, report.bad_id) == (seq, "ship:LOT-T1-08")
    assert report.reason is not None and "hash mismatch" in report.reason


def test_edited_transfer_qty_is_named(books: Ledger) -> None:
    seq = seq_of(books, "movement:M-DEPLOY-1")
    run(books, "UPDATE transfers SET qty = 1 WHERE id = 'movement:M-DEPLOY-1:0'")
    report = books.verify()
    assert (report.ok, report.bad_seq, report.bad_id) == (False, seq, "movement:M-DEPLOY-1")
    assert report.reason is not None and "transfer rows do not match" in report.reason


def test_edited_document_is_named(books: Ledger) -> None:
    with books.engine.connect() as conn:
        seq = int(
            conn.execute(
                text("SELECT event_seq FROM documents WHERE doc_id = 'PO-T1'")
            ).scalar_one()
        )
    run(
        books, "UPDATE documents SET data = replace(data, '50000', '5') WHERE event_seq = :s", s=seq
    )
    report = books.verify()
    assert (report.ok, report.bad_seq) == (False, seq)
    assert report.reason is not None and "document row" in report.reason


def test_rechained_edit_breaks_the_next_link(books: Ledger) -> None:
    # An attacker who edits an event and recomputes its hash still breaks the link after it.
    seq = seq_of(books, "ship:LOT-T1-08")
    run(books, "UPDATE events SET hash = :h WHERE seq = :s", h="f" * 64, s=seq)
    report = books.verify()
    assert report.bad_seq == seq  # its own hash no longer recomputes
    assert any(f"seq {seq + 1} " in p and "broken link" in p for p in report.problems)


def test_deleted_tail_is_detected(books: Ledger) -> None:
    last = books.event_count()
    run(books, "DELETE FROM transfers WHERE event_seq = :s", s=last)
    run(books, "DELETE FROM documents WHERE event_seq = :s", s=last)
    run(books, "DELETE FROM events WHERE seq = :s", s=last)
    report = books.verify()
    assert not report.ok
    assert report.reason is not None and "chain head" in report.reason
