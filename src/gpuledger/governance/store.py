"""Users, roles and API tokens in the books' database (append-only rows).

Every row written is digested in the same transaction (``ledger.record_digests``),
so ``audit verify`` sees a row inserted, edited or deleted behind gpuledger's back.

:class:`Governance` is the one place that reads and writes the governance tables;
the decisions themselves are the pure functions of :mod:`gpuledger.governance.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, bindparam, delete, func, insert, select

from gpuledger.domain import (
    BooksRole,
    DocumentKind,
    GroupRole,
    OrgRole,
    ScenarioError,
    Unauthenticated,
    UnknownRecord,
)
from gpuledger.governance import tables
from gpuledger.governance.rules import BOOKS, Directory, Grant
from gpuledger.governance.tokens import (
    IssuedToken,
    TokenHasher,
    new_session_id,
    parse,
    session_hash,
)
from gpuledger.ledger import record_digests, schema
from gpuledger.ledger.engine import WRITE as _WRITE  # writers take the lock at BEGIN
from gpuledger.ledger.engine import one_statement
from gpuledger.ledger.queries import read_documents

#: How long a web session lasts from sign-in (then the user signs in again).
SESSION_HOURS = 8

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


Role = OrgRole | GroupRole | BooksRole


def parse_role(text: str) -> Role:
    """An org role (``viewer`` ... ``admin``), a group role or ``books-admin``."""
    for enum in (OrgRole, GroupRole, BooksRole):
        try:
            return enum(text)
        except ValueError:
            continue
    choices = ", ".join([*OrgRole, *GroupRole, *BooksRole])
    raise ScenarioError(f"role {text!r} is not one of: {choices}", field="role")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid user name, else raise ScenarioError."""
    if not _NAME.match(name):
        raise ScenarioError(
            f"user name {name!r} must be 1-64 letters, digits or ._@- starting with a "
            "letter or digit",
            field="name",
        )
    return name


@dataclass(frozen=True)
class TokenInfo:
    """A token's public facts (never its secret or hash)."""

    id: str
    user: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def _heads() -> tuple[Any, Any]:
    """The directory's two sources' latest rows: org document versions, grant rows."""
    dc, g = schema.documents.c, tables.grants.c
    org = select(func.max(dc.event_seq)).where(dc.doc_kind == DocumentKind.ORG.value)
    return org.scalar_subquery(), select(func.max(g.seq)).scalar_subquery()


def _token_row(*heads: Any) -> Select[Any]:
    t, r = tables.tokens.c, tables.token_revocations.c
    return (
        select(t.user_name, t.hash, r.revoked_at, *heads)
        .select_from(tables.tokens.outerjoin(tables.token_revocations, r.token_id == t.id))
        .where(t.id == bindparam("token_id", type_=t.id.type))
    )


#: What every API request runs (``Governance.identify``), built once: building a
#: statement costs SQLAlchemy more than running these. The directory's two sources'
#: latest rows; a token's user, hash and revocation (``:token_id``); both at once.
_DIRECTORY_HEADS, _TOKEN_ROW = select(*_heads()), _token_row()
_IDENTITY = _token_row(*_heads())


class Governance:
    """Users, grants and tokens stored beside the books.

    Args:
        engine: the ledger's engine (``Ledger.engine``); its migrations create the tables.
        clock: gives ``recorded_at`` of every row (timezone-aware UTC).
        hasher: issues and verifies tokens (cheaper argon2 parameters in tests).
    """

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        hasher: TokenHasher | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.hasher = hasher or TokenHasher()
        # The last directory read and the heads it was read at (see ``directory``).
        self._directory_kept: tuple[tuple[Any, ...], Directory] | None = None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, *, actor: str) -> bool:
        """Add a user; False (a no-op) when the user already exists."""
        check_name(name)
        with self._writing() as conn:
            u = tables.users.c
            if conn.execute(select(u.name).where(u.name == name)).first() is not None:
                return False
            conn.execute(
                insert(tables.users).values(name=name, created_at=self._clock(), created_by=actor)
            )
            record_digests.link(conn, tables.users, [name])
        return True

    def users(self) -> list[str]:
        """Every user name, sorted."""
        with self._reading() as conn:
            return sorted(conn.execute(select(tables.users.c.name)).scalars())

    def _require_user(self, conn: Connection, name: str) -> None:
        u = tables.users.c
        if conn.execute(select(u.name).where(u.name == name)).first() is None:
            raise UnknownRecord(f"user {name!r} does not exist; add it with `gpuledger user add`")

    # ------------------------------------------------------------------ roles

    def grant(
        self,
        user: str,
        role: Role,
        *,
        org: str | None = None,
        group: str | None = None,
        actor: str,
        granted: bool = True,
    ) -> Grant:
        """Grant (``granted=False``: revoke) a role: an org role per org, a group role per group.

        ``books-admin`` is granted over the whole books: no ``org`` nor ``group``.
        """
        if isinstance(role, BooksRole):
            if org or group:
                raise ScenarioError(
                    f"role {role.value!r} covers the whole books: give no --org nor --group",
                    field="role",
                )
            scope_kind, scope = "books", BOOKS
        elif isinstance(role, OrgRole):
            if not org or group:
                raise ScenarioError(
                    f"role {role.value!r} is granted per org: give --org", field="org"
                )
            scope_kind, scope = "org", org
        else:
            if not group or org:
                raise ScenarioError(
                    f"role {role.value!r} is granted per group: give --group", field="group"
                )
            scope_kind, scope = "group", group
        with self._writing() as conn:
            # The writers' lock before the row draws its seq (PostgreSQL): grant rows
            # then commit in seq order, so the directory's grant head moves with each.
            record_digests.lock(conn)
            self._require_user(conn, user)
            written = conn.execute(
                insert(tables.grants).values(
                    user_name=user,
                    role=role.value,
                    scope_kind=scope_kind,
                    scope=scope,
                    granted=1 if granted else 0,
                    actor=actor,
                    recorded_at=self._clock(),
                )
            )
            record_digests.link(conn, tables.grants, tuple(written.inserted_primary_key or ()))
        return Grant(user, role, scope)

    def revoke(
        self,
        user: str,
        role: Role,
        *,
        org: str | None = None,
        group: str | None = None,
        actor: str,
    ) -> Grant:
        """Revoke a role (a row of its own; the grant stays in history)."""
        return self.grant(user, role, org=org, group=group, actor=actor, granted=False)

    def grants(self, user: str | None = None) -> tuple[Grant, ...]:
        """Live grants (latest row per user, role and scope is a grant), sorted."""
        with self._reading() as conn:
            return read_grants(conn, user)

    def org_groups(self) -> dict[str, str | None]:
        """Each org in the books and its group (None when it has none)."""
        with self._reading() as conn:
            return read_org_groups(conn)

    def directory(self, org_groups: dict[str, str | None] | None = None) -> Directory:
        """Every live grant with the orgs' groups: what the rules decide on.

        Remembered on the latest row of each of its sources, both append-only:
        the last org document version and the last grant row (a revocation is a
        row too). A grant or an org written by any process is seen at once, and
        an API request reads two index maxima instead of every grant and org.
        Rows edited in place (outside gpuledger, which ``verify`` reports) are
        seen at the next grant or org change.
        """
        if org_groups is not None:
            return Directory(org_groups, self.grants())
        with self._reading() as conn:
            return self._directory(conn)

    def _directory(self, conn: Connection) -> Directory:
        """The directory in the read transaction of ``conn`` (remembered; see ``directory``)."""
        heads = tuple(conn.execute(_DIRECTORY_HEADS).one())
        kept = self._directory_kept
        if kept is not None and kept[0] == heads:
            return kept[1]
        found = read_directory(conn)  # read after the heads: never older than they say
        self._directory_kept = (heads, found)
        return found

    # ------------------------------------------------------------------ tokens

    def create_token(self, user: str, *, actor: str, label: str | None = None) -> IssuedToken:
        """Issue a token for ``user``; the returned secret is never stored nor shown again."""
        issued = self.hasher.issue(user)
        with self._writing() as conn:
            self._require_user(conn, user)
            conn.execute(
                insert(tables.tokens).values(
                    id=issued.id,
                    user_name=user,
                    hash=issued.hash,
                    label=label,
                    created_at=self._clock(),
                    created_by=actor,
                )
            )
            record_digests.link(conn, tables.tokens, [issued.id])
        return issued

    def revoke_token(self, token_id: str, *, actor: str) -> bool:
        """Revoke a token by id (or a whole token); False when it was already revoked."""
        if token_id.startswith("gpl_"):
            token_id = parse(token_id)
        t, r = tables.tokens.c, tables.token_revocations.c
        with self._writing() as conn:
            if conn.execute(select(t.id).where(t.id == token_id)).first() is None:
                raise UnknownRecord(f"token {token_id!r} does not exist")
            if conn.execute(select(r.token_id).where(r.token_id == token_id)).first() is not None:
                return False
            conn.execute(
                insert(tables.token_revocations).values(
                    token_id=token_id, revoked_at=self._clock(), revoked_by=actor
                )
            )
            record_digests.link(conn, tables.token_revocations, [token_id])
        return True

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Public facts of every token (optionally of one user), oldest first."""
        t, r = tables.tokens.c, tables.token_revocations.c
        query = (
            select(t.id, t.user_name, t.label, t.created_at, r.revoked_at)
            .select_from(tables.tokens.outerjoin(tables.token_revocations, r.token_id == t.id))
            .order_by(t.created_at, t.id)
        )
        if user is not None:
            query = query.where(t.user_name == user)
        with self._reading() as conn:
            return [
                TokenInfo(row.id, row.user_name, row.label, row.created_at, row.revoked_at)
                for row in conn.execute(query)
            ]

    def authenticate(self, token: str) -> str:
        """The user a bearer token belongs to; raise :class:`Unauthenticated` otherwise.

        Unknown, revoked and mismatching tokens all get the same message, so a
        caller learns nothing about which ids exist.
        """
        with self._reading() as conn:
            row = self._token_row(conn, token)
        return self._user_of(token, row)

    def identify(self, token: str) -> tuple[str, Directory]:
        """:meth:`authenticate` and :meth:`directory`, from one statement when it can.

        What every API request asks first. The token's row and the directory's
        heads come from one statement outside any transaction
        (``ledger.engine.one_statement``); the directory kept for those heads
        answers, else it is read afresh after them (never older than they say).
        The token's hash is checked last, as in ``authenticate``.
        """
        with one_statement(self._engine) as conn:
            row = conn.execute(_IDENTITY, {"token_id": parse(token)}).first()
        user = self._user_of(token, row)
        assert row is not None, "an unknown token never verifies"
        kept = self._directory_kept
        if kept is not None and kept[0] == tuple(row[3:]):
            return user, kept[1]
        with self._reading() as conn:
            return user, self._directory(conn)

    @staticmethod
    def _token_row(conn: Connection, token: str) -> Row[Any, Any, Any] | None:
        """The token's user, hash and revocation time (None: no such token id)."""
        return conn.execute(_TOKEN_ROW, {"token_id": parse(token)}).first()

    def _user_of(self, token: str, row: Row[Any, Any, Any] | None) -> str:
        if row is None or row.revoked_at is not None or not self.hasher.verify(token, row.hash):
            raise Unauthenticated("the bearer token is unknown or revoked")
        return str(row.user_name)

    # ------------------------------------------------------------------ web sessions

    def start_session(self, token: str, *, hours: int = SESSION_HOURS) -> str:
        """Sign in with an API token: a new session id for its user, shown only to the caller.

        Only the id's SHA-256 is stored, with the user, the token and the expiry
        (``hours`` from now); sessions already expired are deleted on the way.
        Raises :class:`Unauthenticated` as :meth:`authenticate` does.
        """
        assert 0 < hours <= 24 * 30, f"a session of {hours} hours is out of bounds"
        user = self.authenticate(token)
        session_id = new_session_id()
        digest, now = session_hash(session_id), self._clock()
        s = tables.sessions.c
        with self._writing() as conn:
            conn.execute(delete(tables.sessions).where(s.expires_at <= now))
            conn.execute(
                insert(tables.sessions).values(
                    id_hash=digest,
                    user_name=user,
                    token_id=parse(token),
                    created_at=now,
                    expires_at=now + timedelta(hours=hours),
                )
            )
            record_digests.link(conn, tables.sessions, [digest])
        return session_id

    def session_user(self, session_id: str) -> str:
        """The user of a live session; :class:`Unauthenticated` when it is unknown, ended,
        expired, or its token was revoked (one message for all)."""
        digest = session_hash(session_id)
        s, r = tables.sessions.c, tables.token_revocations.c
        with self._reading() as conn:
            row = conn.execute(
                select(s.user_name, s.expires_at, r.revoked_at)
                .select_from(
                    tables.sessions.outerjoin(tables.token_revocations, r.token_id == s.token_id)
                )
                .where(s.id_hash == digest)
            ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= self._clock():
            raise Unauthenticated("the session is unknown, ended or expired: sign in again")
        return str(row.user_name)

    def end_session(self, session_id: str) -> bool:
        """Sign out: delete the session; False when there was none (or the id is malformed)."""
        try:
            digest = session_hash(session_id)
        except Unauthenticated:
            return False
        with self._writing() as conn:
            ended = conn.execute(delete(tables.sessions).where(tables.sessions.c.id_hash == digest))
        return bool(ended.rowcount)


# --------------------------------------------------------------------------- reads


def read_grants(conn: Connection, user: str | None = None) -> tuple[Grant, ...]:
    """Live grants (latest row per user, role and scope is a grant), sorted."""
    query, values = (_GRANTS, {}) if user is None else (_GRANTS_OF, {"user": user})
    latest: dict[tuple[str, str, str], bool] = {}
    for r in conn.execute(query, values):
        latest[(r.user_name, r.role, r.scope)] = bool(r.granted)
    return tuple(
        sorted(
            Grant(u, parse_role(role), scope) for (u, role, scope), live in latest.items() if live
        )
    )


#: ``read_grants``' statements (every grant; one user's), built once: every decision
#: reads the directory.
_GRANTS = select(
    tables.grants.c.user_name, tables.grants.c.role, tables.grants.c.scope, tables.grants.c.granted
).order_by(tables.grants.c.seq)
_GRANTS_OF = _GRANTS.where(
    tables.grants.c.user_name == bindparam("user", type_=tables.grants.c.user_name.type)
)


def read_org_groups(conn: Connection) -> dict[str, str | None]:
    """Each org in the books and its group (None when it has none)."""
    docs = read_documents(conn, [DocumentKind.ORG.value])
    return {org: data.get("group") for org, data in docs[DocumentKind.ORG.value].items()}


def read_directory(conn: Connection) -> Directory:
    """Every live grant with the orgs' groups, as ``conn`` sees them (a write lock's view)."""
    return Directory(read_org_groups(conn), read_grants(conn))
