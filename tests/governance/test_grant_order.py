"""Grant rows commit in the order of their seq (PostgreSQL), so the directory's heads move.

The server keeps the directory (grants and orgs' groups) for its two heads, the
latest grant row and the latest org document version, and reads it again when
one moves (``Governance.directory``, ``identify``). On PostgreSQL a grant row
drew its seq before taking any lock: a revocation holding seq N could commit
after a grant holding N + 1, and a directory kept at N + 1 in between never saw
the revocation (hostile review, issue 16). Grant writers now take the writers'
lock first: a later row waits for the earlier one's commit.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from gpuledger.domain import OrgRole
from gpuledger.governance.store import Governance, read_directory
from gpuledger.ledger import Ledger

from .conftest import NOW, setup_books


@pytest.mark.postgres
def test_a_revocation_committed_after_a_later_grant_is_seen(postgres_schema_url: str) -> None:
    setup_books(postgres_schema_url)
    books = Ledger.open(postgres_schema_url, clock=lambda: NOW)
    gov = Governance(books.engine, lambda: NOW)
    other = Ledger.open(postgres_schema_url, clock=lambda: NOW)  # another process's admin
    other_gov = Governance(other.engine, lambda: NOW)
    inserted, go_on = threading.Event(), threading.Event()

    def pause(_c: object, _cur: object, sql: str, *_: object) -> None:
        if sql.startswith("INSERT INTO gov_grants") and threading.current_thread().name == "rv":
            inserted.set()
            assert go_on.wait(30)

    event.listen(other.engine, "after_cursor_execute", pause)
    try:
        revoking = threading.Thread(
            name="rv",
            target=lambda: other_gov.revoke("xavier", OrgRole.APPROVER, org="x", actor="root"),
        )
        revoking.start()
        assert inserted.wait(30)  # the revocation's row holds its seq, uncommitted
        granting = threading.Thread(
            target=lambda: gov.grant("viv", OrgRole.VIEWER, org="x", actor="root")
        )
        granting.start()
        granting.join(2)
        granted_first = not granting.is_alive()
        gov.directory()  # a request meanwhile: the directory kept for the heads it saw
        go_on.set()
        revoking.join(30)
        granting.join(30)
        assert not granted_first, "a later grant committed before the revocation"
        with books.engine.connect() as conn:
            fresh = read_directory(conn)
        assert ("xavier", "x") not in {(g.user, g.scope) for g in fresh.grants}
        token = gov.create_token("xavier", actor="root").token
        assert gov.identify(token)[1] == fresh
        assert gov.directory() == fresh
    finally:
        event.remove(other.engine, "after_cursor_execute", pause)
        other.close()
        books.close()
