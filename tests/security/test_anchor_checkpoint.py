"""Signed checkpoints of the chain heads: truncation and a consistent re-hash are caught.

Someone holding the database can delete the last events and move the head back,
or rewrite an event and re-hash every event after it: the chain alone is then
consistent and ``audit verify`` said ok. A checkpoint (the heads, signed with
ed25519 by a key kept away from the database) is what they cannot forge.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from gpuledger import domain as d
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.ledger import checkpoint as cp
from gpuledger.ledger.codec import event_hash
from gpuledger.ledger.schema import utc_from_storage
from tests.cli.conftest import run as cli
from tests.governance.conftest import H100
from tests.security.anchor_books import (  # noqa: F401  (fixtures)
    Clock,
    anchor_url_fixture,
    books_fixture,
    clock_fixture,
    run,
    scalar,
)

Books = tuple[Ledger, Governance]


def grow(ledger: Ledger, ident: str = "PO-NEW") -> None:
    """One more event: a new order of tesla's (the verb: these books have users)."""
    ledger.order(d.Order(ident, "tesla", "nvidia", H100, 10, date(2023, 6, 1)), actor="planner")


def signed(books: Books, clock: Clock) -> tuple[cp.Checkpoint, bytes]:
    ledger, _ = books
    private, public = cp.new_key()
    return cp.take(ledger.engine, private, clock()), public


def truncate(ledger: Ledger, keep: int) -> None:
    """Delete every event after ``keep`` with its projections; move the head back to it."""
    run(ledger, "DELETE FROM transfers WHERE event_seq > :k", k=keep)
    run(ledger, "DELETE FROM documents WHERE event_seq > :k", k=keep)
    run(ledger, "DELETE FROM events WHERE seq > :k", k=keep)
    head = scalar(ledger, "SELECT hash FROM events WHERE seq = :k", k=keep)
    run(ledger, "UPDATE chain_head SET seq = :k, hash = :h WHERE id = 1", k=keep, h=head)


def rehash(ledger: Ledger) -> None:
    """Rewrite the first event's actor and re-hash the whole chain consistently."""
    with ledger.engine.begin() as conn:
        rows = conn.execute(text("SELECT * FROM events ORDER BY seq")).mappings().all()
        prev = "0" * 64
        for i, row in enumerate(rows):
            actor = "mallory" if i == 0 else row["actor"]
            digest = event_hash(
                prev, seq=int(row["seq"]), id=row["id"], kind=row["kind"], body=row["body"],
                actor=actor, effective_at=utc_from_storage(row["effective_at"]),
                recorded_at=utc_from_storage(row["recorded_at"]),
            )  # fmt: skip
            conn.execute(
                text("UPDATE events SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": actor, "p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
        conn.execute(text("UPDATE chain_head SET hash = :h WHERE id = 1"), {"h": prev})


def test_a_checkpoint_of_unchanged_books_is_ok(books: Books, clock: Clock) -> None:
    ledger, _ = books
    checkpoint, public = signed(books, clock)
    report = cp.check(ledger.engine, checkpoint, public)
    assert report.ok, report.reason
    assert report.events_then == report.events_now == ledger.event_count()


def test_books_that_only_grew_are_ok(books: Books, clock: Clock) -> None:
    ledger, gov = books
    checkpoint, public = signed(books, clock)
    grow(ledger)
    gov.add_user("newcomer", actor="setup")
    report = cp.check(ledger.engine, checkpoint, public)
    assert report.ok, report.reason
    assert report.events_now == report.events_then + 1
    assert ledger.verify().ok


def test_truncation_is_detected(books: Books, clock: Clock) -> None:
    ledger, _ = books
    grow(ledger)
    checkpoint, public = signed(books, clock)
    truncate(ledger, checkpoint.events - 1)
    assert ledger.verify().ok  # the chain alone cannot tell
    report = cp.check(ledger.engine, checkpoint, public)
    assert not report.ok
    assert report.reason is not None and "truncated" in report.reason


def test_truncation_then_regrowth_is_detected(books: Books, clock: Clock) -> None:
    ledger, _ = books
    grow(ledger, "PO-NEW")
    checkpoint, public = signed(books, clock)
    truncate(ledger, checkpoint.events - 1)
    grow(ledger, "PO-OTHER")  # as many events as before, another history
    report = cp.check(ledger.engine, checkpoint, public)
    assert not report.ok
    assert report.reason is not None and "rewritten" in report.reason


def test_a_consistent_rehash_is_detected(books: Books, clock: Clock) -> None:
    ledger, _ = books
    checkpoint, public = signed(books, clock)
    rehash(ledger)
    assert ledger.verify().ok  # the chain alone cannot tell
    report = cp.check(ledger.engine, checkpoint, public)
    assert not report.ok
    assert report.reason is not None and "rewritten" in report.reason


def test_a_forged_checkpoint_is_refused(books: Books, clock: Clock) -> None:
    ledger, _ = books
    checkpoint, public = signed(books, clock)
    data = checkpoint.to_json()
    data["events"] -= 1  # claims fewer events: would hide a truncation
    report = cp.check(ledger.engine, cp.Checkpoint.from_json(data), public)
    assert not report.ok and report.reason is not None and "signature" in report.reason
    _, other_public = cp.new_key()
    report = cp.check(ledger.engine, checkpoint, other_public)
    assert not report.ok and report.reason is not None and "signature" in report.reason


def test_cli_keygen_checkpoint_and_verify(
    anchor_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GPULEDGER_DATABASE_URL", anchor_url)
    key, pub, point = tmp_path / "anchor.key", tmp_path / "anchor.pub", tmp_path / "cp.json"
    code, out, err = cli(capsys, "audit", "keygen", "--out", str(key))
    assert code == 0, err
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert pub.read_text().strip() in out  # the public key is printed and written beside
    code, _, err = cli(capsys, "audit", "checkpoint", "--key", str(key),
                       "--out", str(point))  # fmt: skip
    assert code == 0, err
    data = json.loads(point.read_text())
    assert {"events", "head_hash", "recorded_at", "signature"} <= set(data)
    args = ["audit", "verify", "--checkpoint", str(point)]
    code, out, err = cli(capsys, *args, "--public-key", str(pub))
    assert code == 0, err
    assert "checkpoint" in out
    ledger = Ledger.open(anchor_url)
    try:
        truncate(ledger, int(data["events"]) - 1)
    finally:
        ledger.close()
    code, out, err = cli(capsys, *args, "--public-key", str(pub))
    assert code == 1
    assert "truncated" in err


def test_cli_refuses_a_bad_checkpoint_file(
    anchor_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GPULEDGER_DATABASE_URL", anchor_url)
    point = tmp_path / "cp.json"
    point.write_text("{not json")
    pub = tmp_path / "anchor.pub"
    pub.write_text("nonsense")
    code, _, err = cli(capsys, "audit", "verify", "--checkpoint", str(point),
                       "--public-key", str(pub))  # fmt: skip
    assert code == 2
    assert "cp.json" in err and len(err.strip().splitlines()) == 1


def test_keygen_never_overwrites_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "anchor.key"
    assert cli(capsys, "audit", "keygen", "--out", str(key))[0] == 0
    before = key.read_bytes()
    code, _, err = cli(capsys, "audit", "keygen", "--out", str(key))
    assert code == 2 and "anchor.key" in err and "exists" in err
    assert key.read_bytes() == before
