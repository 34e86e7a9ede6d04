"""Users, grants and tokens stored beside the books (append-only rows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import GroupRole, OrgRole, ScenarioError, Unauthenticated, UnknownRecord
from gpuledger.governance.rules import Grant
from gpuledger.governance.store import Governance, parse_role
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import Ledger

NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def gov() -> Iterator[Governance]:
    ledger = Ledger.open("sqlite://", clock=lambda: NOW)
    yield Governance(ledger.engine, lambda: NOW, TokenHasher(time_cost=1, memory_cost=1024))
    ledger.close()


def test_add_user_is_idempotent(gov: Governance) -> None:
    assert gov.add_user("alice", actor="root") is True
    assert gov.add_user("alice", actor="root") is False
    assert gov.users() == ["alice"]


@pytest.mark.parametrize(
    "name", ["", " alice", "a/b", "x" * 65], ids=["empty", "space", "slash", "long"]
)
def test_bad_user_names_are_refused(gov: Governance, name: str) -> None:
    with pytest.raises(ScenarioError, match="user name"):
        gov.add_user(name, actor="root")
    assert gov.users() == []


def test_grants_and_revocations_are_rows_and_the_latest_wins(gov: Governance) -> None:
    gov.add_user("alice", actor="root")
    gov.grant("alice", OrgRole.APPROVER, org="tesla", actor="root")
    gov.grant("alice", GroupRole.AUDITOR, group="musk", actor="root")
    assert gov.grants("alice") == (
        Grant("alice", OrgRole.APPROVER, "tesla"),
        Grant("alice", GroupRole.AUDITOR, "musk"),
    )
    gov.revoke("alice", OrgRole.APPROVER, org="tesla", actor="root")
    assert gov.grants("alice") == (Grant("alice", GroupRole.AUDITOR, "musk"),)
    gov.grant("alice", OrgRole.APPROVER, org="tesla", actor="root")
    assert Grant("alice", OrgRole.APPROVER, "tesla") in gov.grants("alice")


@pytest.mark.parametrize(
    ("role", "org", "group", "field"),
    [
        (OrgRole.PLANNER, None, "musk", "org"),
        (OrgRole.PLANNER, None, None, "org"),
        (GroupRole.AUDITOR, "tesla", None, "group"),
    ],
    ids=["org-role-on-group", "org-role-no-scope", "group-role-on-org"],
)
def test_a_role_needs_the_right_scope(
    gov: Governance, role: OrgRole | GroupRole, org: str | None, group: str | None, field: str
) -> None:
    gov.add_user("alice", actor="root")
    with pytest.raises(ScenarioError) as info:
        gov.grant("alice", role, org=org, group=group, actor="root")
    assert info.value.field == field
    assert gov.grants() == ()


def test_granting_to_an_unknown_user_is_refused(gov: Governance) -> None:
    with pytest.raises(UnknownRecord, match="user 'ghost'"):
        gov.grant("ghost", OrgRole.VIEWER, org="tesla", actor="root")


def test_parse_role_names_the_choices() -> None:
    assert parse_role("group-admin") is GroupRole.GROUP_ADMIN
    with pytest.raises(ScenarioError, match="viewer, planner"):
        parse_role("boss")


def test_a_token_authenticates_until_revoked(gov: Governance) -> None:
    gov.add_user("alice", actor="root")
    issued = gov.create_token("alice", actor="root", label="ci")
    assert gov.authenticate(issued.token) == "alice"
    assert gov.revoke_token(issued.id, actor="root") is True
    assert gov.revoke_token(issued.token, actor="root") is False
    with pytest.raises(Unauthenticated, match="unknown or revoked"):
        gov.authenticate(issued.token)
    [info] = gov.tokens("alice")
    assert info.id == issued.id and info.revoked_at == NOW and info.label == "ci"


def test_the_secret_is_never_stored(gov: Governance) -> None:
    from sqlalchemy import select

    from gpuledger.governance import tables

    gov.add_user("alice", actor="root")
    issued = gov.create_token("alice", actor="root")
    with gov._engine.connect() as conn:
        stored = conn.execute(select(tables.tokens.c.hash)).scalar_one()
    secret = issued.token.rsplit("_", 1)[1]
    assert secret not in stored and stored.startswith("$argon2id$")


def test_an_unknown_token_id_is_unauthenticated(gov: Governance) -> None:
    other = TokenHasher(time_cost=1, memory_cost=1024).issue("mallory")
    with pytest.raises(Unauthenticated):
        gov.authenticate(other.token)
    with pytest.raises(UnknownRecord):
        gov.revoke_token(other.id, actor="root")


def test_the_directory_sees_grants_and_orgs_written_by_another_process(tmp_path: Path) -> None:
    """``directory()`` is remembered between calls: a grant or an org written through other
    books (another process) must show at once, never the remembered directory."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    here, there = Ledger.open(url, clock=lambda: NOW), Ledger.open(url, clock=lambda: NOW)
    hasher = TokenHasher(time_cost=1, memory_cost=1024)
    mine = Governance(here.engine, lambda: NOW, hasher)
    theirs = Governance(there.engine, lambda: NOW, hasher)
    try:
        assert mine.directory().org_groups == {}
        orgs = (d.Org("a", group="g"), d.Org("b", group="g"))
        there.import_scenario(d.Scenario("s", NOW.date(), groups=(d.Group("g"),), orgs=orgs))
        assert mine.directory().org_groups == {"a": "g", "b": "g"}
        theirs.add_user("ann", actor="t")
        assert mine.directory().access("ann").visible_orgs() == set()
        theirs.grant("ann", OrgRole.VIEWER, org="a", actor="t")
        assert mine.directory() == mine.directory()  # remembered: the same answer again
        assert mine.directory().access("ann").visible_orgs() == {"a"}
        theirs.grant("ann", GroupRole.GROUP_ADMIN, group="g", actor="t")
        assert mine.directory().access("ann").visible_orgs() == {"a", "b"}
        assert mine.directory().group_of("b") == "g"
    finally:
        here.close()
        there.close()


def test_identify_is_authenticate_and_directory(tmp_path: Path) -> None:
    """Every API request identifies its caller: the token, then the directory read afresh
    when none is kept for its heads (see the next test for one kept)."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'books.db'}"
    ledger = Ledger.open(url, clock=lambda: NOW)
    gov = Governance(ledger.engine, lambda: NOW, TokenHasher(time_cost=1, memory_cost=1024))
    try:
        ledger.import_scenario(d.Scenario("s", NOW.date(), orgs=(d.Org("a"),)))
        gov.add_user("ann", actor="root")
        gov.grant("ann", OrgRole.VIEWER, org="a", actor="root")
        issued = gov.create_token("ann", actor="root")
        begun: list[object] = []
        event.listen(ledger.engine, "begin", begun.append)
        user, directory = gov.identify(issued.token)
        assert len(begun) == 2  # the token's statement; the directory's read transaction
        assert (user, directory) == (gov.authenticate(issued.token), gov.directory())
        assert directory.access("ann").visible_orgs() == {"a"}
        gov.revoke_token(issued.id, actor="root")
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            gov.identify(issued.token)
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            gov.identify(issued.token[:-2] + "xx")
    finally:
        ledger.close()


def test_identify_with_the_directory_unchanged_runs_one_statement(tmp_path: Path) -> None:
    """Every API request identifies its caller first: the token's row and the directory's
    heads come from one statement, outside any transaction (no BEGIN, no COMMIT), while
    the directory kept for those heads is current; a grant is seen by the next request."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'books.db'}"
    ledger = Ledger.open(url, clock=lambda: NOW)
    gov = Governance(ledger.engine, lambda: NOW, TokenHasher(time_cost=1, memory_cost=1024))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql.split()[0].upper())

    try:
        ledger.import_scenario(d.Scenario("s", NOW.date(), orgs=(d.Org("a"), d.Org("b"))))
        gov.add_user("ann", actor="root")
        gov.grant("ann", OrgRole.VIEWER, org="a", actor="root")
        issued = gov.create_token("ann", actor="root")
        gov.identify(issued.token)  # the directory kept
        event.listen(ledger.engine, "before_cursor_execute", seen)
        user, directory = gov.identify(issued.token)
        assert statements == ["SELECT"], statements
        assert (user, directory.access("ann").visible_orgs()) == ("ann", {"a"})
        gov.grant("ann", OrgRole.VIEWER, org="b", actor="root")
        assert gov.identify(issued.token)[1].access("ann").visible_orgs() == {"a", "b"}
    finally:
        event.remove(ledger.engine, "before_cursor_execute", seen)
        ledger.close()
