"""Governance rows and stored API responses are covered by a digest chain ``audit verify`` checks.

The adversarial test of issue 10 (item 12) tried 18 tamper cases on a database it
held; ``audit verify`` caught 11. The table names each case and what catches it
now; the cases marked *new* are tests here or in ``test_anchor_checkpoint``.

==  ====================================================  ==============================
#   tamper case                                           caught by
==  ====================================================  ==============================
1   edit an event's body                                  event hash (before)
2   edit an event's actor or times                        event hash (before)
3   edit a transfer's quantity                            projection check (before)
4   delete a transfer row                                 projection check (before)
5   insert an orphan transfer                             projection check (before)
6   edit a document row                                   projection check (before)
7   delete an event in the middle                         broken link (before)
8   insert a forged event in the middle                   broken link (before)
9   edit an event's prev_hash or hash                     broken link (before)
10  move the chain head forward or to another hash        head check (before)
11  reorder two events (swap seqs)                        broken link (before)
12  delete the last events and move the head back         checkpoint: truncated (*new*)
13  rewrite an event and re-hash the whole chain          checkpoint: rewritten (*new*)
14  insert a grant (a role nobody gave)                   record digests (*new*)
15  edit a grant (viewer -> admin)                        record digests (*new*)
16  delete a role revocation (the role comes back)        record digests (*new*)
17  delete a token revocation (a revoked token works)     record digests (*new*)
18  rewrite a stored Idempotency-Key response             record digests (*new*)
==  ====================================================  ==============================

Also here: an inserted user, an inserted token (a known secret's hash) and a
re-hash of the record digests themselves (caught by a checkpoint).
"""

from __future__ import annotations

from typing import Any

import pytest

from gpuledger.api.idempotency import IdempotencyStore
from gpuledger.domain import OrgRole, Unauthenticated
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.ledger import checkpoint as cp
from tests.security.anchor_books import (  # noqa: F401  (fixtures)
    Clock,
    anchor_url_fixture,
    books_fixture,
    clock_fixture,
    run,
    scalar,
)

Books = tuple[Ledger, Governance]


def tampered(ledger: Ledger, table: str) -> str:
    """``verify`` fails on a record of ``table``: the reason."""
    report = ledger.verify()
    assert not report.ok, f"verify did not notice the tampered {table}"
    assert report.reason is not None and table in report.reason, report.reason
    return report.reason


def test_untouched_governance_verifies(books: Books) -> None:
    ledger, gov = books
    gov.revoke("viv", OrgRole.VIEWER, org="tesla", actor="setup")
    token = gov.create_token("viv", actor="setup")
    gov.revoke_token(token.id, actor="setup")
    report = ledger.verify()
    assert report.ok, report.problems


def test_an_inserted_grant_is_detected(books: Books, clock: Clock) -> None:
    ledger, gov = books
    sql = (
        "INSERT INTO gov_grants (user_name, role, scope_kind, scope, granted, actor, recorded_at) "
        "VALUES ('viv', 'admin', 'org', 'xai', 1, 'setup', :t)"
    )
    run(ledger, sql, t=clock())
    assert OrgRole.ADMIN in {g.role for g in gov.grants("viv")}  # the forged grant works...
    assert "no digest" in tampered(ledger, "gov_grants")  # ...and verify says so


def test_an_edited_grant_is_detected(books: Books) -> None:
    ledger, _ = books
    run(ledger, "UPDATE gov_grants SET role = 'admin' WHERE user_name = 'viv'")
    tampered(ledger, "gov_grants")


def test_a_deleted_role_revocation_is_detected(books: Books) -> None:
    ledger, gov = books
    gov.revoke("viv", OrgRole.VIEWER, org="tesla", actor="setup")
    run(ledger, "DELETE FROM gov_grants WHERE granted = 0")
    assert gov.grants("viv")  # the role is back...
    assert "missing" in tampered(ledger, "gov_grants")


def test_a_deleted_token_revocation_is_detected(books: Books) -> None:
    ledger, gov = books
    token = gov.create_token("viv", actor="setup")
    gov.revoke_token(token.id, actor="setup")
    with pytest.raises(Unauthenticated):
        gov.authenticate(token.token)
    run(ledger, "DELETE FROM gov_token_revocations")
    assert gov.authenticate(token.token) == "viv"  # a revoked token works again...
    assert "missing" in tampered(ledger, "gov_token_revocations")


def test_an_inserted_token_is_detected(books: Books, clock: Clock) -> None:
    ledger, gov = books
    forged = gov.hasher.issue("viv")  # the attacker knows this secret
    sql = (
        "INSERT INTO gov_tokens (id, user_name, hash, label, created_at, created_by) "
        "VALUES (:i, 'viv', :h, NULL, :t, 'setup')"
    )
    run(ledger, sql, i=forged.id, h=forged.hash, t=clock())
    assert gov.authenticate(forged.token) == "viv"
    tampered(ledger, "gov_tokens")


def test_an_inserted_user_is_detected(books: Books, clock: Clock) -> None:
    ledger, _ = books
    run(ledger, "INSERT INTO gov_users (name, created_at, created_by) VALUES ('eve', :t, 'x')",
        t=clock())  # fmt: skip
    tampered(ledger, "gov_users")


def test_a_rewritten_idempotency_response_is_detected(books: Books, clock: Clock) -> None:
    ledger, _ = books
    store = IdempotencyStore(ledger.engine, clock)

    def handler() -> tuple[int, Any]:
        return 201, {"id": "DIV-1", "status": "proposed"}

    def on_error(exc: Exception) -> tuple[int, Any]:
        raise AssertionError(exc)

    assert store.run("planner", "k-1", "d" * 64, handler, on_error)[0] == 201
    assert ledger.verify().ok
    run(ledger, "UPDATE api_idempotency SET body = :b", b='{"id": "DIV-1", "status": "posted"}')
    tampered(ledger, "api_idempotency")


def test_a_rehash_of_the_record_digests_is_caught_by_a_checkpoint(
    books: Books, clock: Clock
) -> None:
    ledger, _ = books
    private, public = cp.new_key()
    checkpoint = cp.take(ledger.engine, private, clock())
    assert checkpoint.records == scalar(ledger, "SELECT count(*) FROM record_digests")
    # the attacker deletes the grants' history and rebuilds the digests of what is left
    run(ledger, "DELETE FROM gov_grants WHERE user_name = 'viv'")
    from gpuledger.ledger import record_digests

    with ledger.engine.begin() as conn:
        record_digests.rebuild(conn)
    assert ledger.verify().ok  # consistent again...
    report = cp.check(ledger.engine, checkpoint, public)
    assert not report.ok  # ...but not with what was signed
    assert report.reason is not None and "record digests" in report.reason


def test_books_migrated_from_before_digests_verify(books: Books) -> None:
    """Books of revision 0002 (governance rows, no digests) are digested by the migration."""
    from alembic import command

    from gpuledger.ledger.engine import alembic_config, migrate

    ledger, gov = books
    gov.revoke("viv", OrgRole.VIEWER, org="tesla", actor="setup")
    with ledger.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert scalar(ledger, "SELECT count(*) FROM gov_grants") > 0
    migrate(ledger.engine)
    report = ledger.verify()
    assert report.ok, report.problems
    run(ledger, "DELETE FROM gov_grants WHERE granted = 0")  # and they are covered from then on
    assert "missing" in tampered(ledger, "gov_grants")


def test_concurrent_governance_writes_chain_their_digests(anchor_url: str, clock: Clock) -> None:
    """Writers in parallel (each its own engine, as separate servers would) never fork the links."""
    from concurrent.futures import ThreadPoolExecutor

    from gpuledger.governance.tokens import TokenHasher

    def write(n: int) -> None:
        ledger = Ledger.open(anchor_url, clock=clock)
        gov = Governance(ledger.engine, clock, TokenHasher(time_cost=1, memory_cost=1024))
        try:
            for i in range(3):
                gov.add_user(f"u{n}-{i}", actor="setup")
                gov.grant(f"u{n}-{i}", OrgRole.VIEWER, org="tesla", actor="setup")
        finally:
            ledger.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    ledger = Ledger.open(anchor_url, clock=clock)
    try:
        report = ledger.verify()
        assert report.ok, report.problems
        assert scalar(ledger, "SELECT count(*) FROM gov_users WHERE name LIKE 'u%-%'") == 18
    finally:
        ledger.close()
