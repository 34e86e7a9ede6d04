"""Digests of the rows beside the event log: users, grants, tokens, revocations, API responses.

Those tables are not events, so the event chain does not cover them; someone
holding the database could insert a grant, delete a revocation or rewrite a
stored ``Idempotency-Key`` response unseen. Every such row, once written, gets a
link in ``record_digests`` in the same transaction: the row's digest (SHA-256
of its canonical JSON, read back as stored), chained like the events
(``hash = sha256(prev_hash || canonical link)``). ``verify`` then finds rows
with no digest (inserted), rows whose digest differs (edited) and digests with
no row (deleted). Only sessions may end (sign-out, expiry): their digests may
outlive them. A consistent re-build of the links is caught by a checkpoint
(``ledger.checkpoint``), which signs the last link too.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, MetaData, Select, Table, bindparam, delete, inspect, select

from gpuledger.ledger import schema
from gpuledger.ledger.codec import canonical, timestamp
from gpuledger.ledger.schema import GENESIS_HASH

#: The tables whose every row is digested, in the order ``rebuild`` links them.
COVERED: tuple[str, ...] = (
    "gov_users",
    "gov_grants",
    "gov_tokens",
    "gov_token_revocations",
    "api_idempotency",
    "gov_sessions",
)
#: Tables whose rows end (deleted at sign-out or expiry): a digest may outlive its row.
ENDING = frozenset({"gov_sessions"})

Head = tuple[int, str]  # (seq, hash) of the last link


def _plain(value: Any) -> Any:
    """A stored value as JSON, the same whichever backend or column type read it."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return timestamp(aware)
    if isinstance(value, Decimal):
        return int(value)
    return value


def row_digest(table_name: str, row: Mapping[str, Any]) -> str:
    """SHA-256 of a row (every column, as stored) and its table's name."""
    body = {"table": table_name, "row": {k: _plain(v) for k, v in row.items()}}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def row_key(table: Table, row: Mapping[str, Any]) -> str:
    """The row's primary key as canonical JSON: ``["viv"]``, ``[7]``, ``["ann","k-1"]``."""
    return canonical([_plain(row[c.name]) for c in table.primary_key.columns])


def link_hash(prev_hash: str, seq: int, table_name: str, key: str, digest: str) -> str:
    """A link's hash: SHA-256 of the previous hash and the canonical link."""
    link = canonical({"digest": digest, "key": key, "seq": seq, "table": table_name})
    return hashlib.sha256((prev_hash + link).encode()).hexdigest()


def read_head(conn: Connection) -> Head:
    """The last link: (seq, hash); (0, genesis hash) when there is none."""
    row = conn.execute(_HEAD).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


def link_at(conn: Connection, seq: int) -> str | None:
    """The hash of link ``seq`` (the genesis hash for 0); None when there is no such link."""
    if seq == 0:
        return GENESIS_HASH
    found = conn.execute(_HASH_AT, {"seq": seq}).scalar_one_or_none()
    return None if found is None else str(found)


def lock(conn: Connection) -> None:
    """Take the writers' lock (the chain head row) before writing a covered row.

    A writer that inserts a covered row first and links it after can deadlock
    with the ledger's writers, which lock first and insert after (PostgreSQL);
    SQLite's ``BEGIN IMMEDIATE`` already serializes writers.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)


def link(conn: Connection, table: Table, pk: Sequence[Any]) -> None:
    """Digest the row of ``table`` with primary key ``pk``, just written, and chain it.

    Call in the transaction that wrote the row, which must be a writer's (SQLite
    ``BEGIN IMMEDIATE``); on PostgreSQL the chain head row is locked here, as
    the ledger's writers do, so concurrent links never share a ``prev_hash``.
    """
    assert table.name in COVERED, f"{table.name} is not a covered table"
    cols = list(table.primary_key.columns)
    assert len(cols) == len(pk), f"{table.name}: primary key {pk!r} does not fit"
    conn.execute(_LOCK)
    values = {f"pk{i}": v for i, v in enumerate(pk)}
    row = conn.execute(_row_by_key(table), values).mappings().one()
    _append(conn, table, [dict(row)])


@functools.cache
def _row_by_key(table: Table) -> Select[Any]:
    """The row of ``table`` with the primary key ``:pk0, :pk1, ...``, built once per
    table: every write links a row, and building the statement cost more than running it."""
    cols = table.primary_key.columns
    return select(table).where(
        *(c == bindparam(f"pk{i}", type_=c.type) for i, c in enumerate(cols))
    )


#: The statements of every link, built once (see ``_row_by_key``).
_HEAD = (
    select(schema.record_digests.c.seq, schema.record_digests.c.hash)
    .order_by(schema.record_digests.c.seq.desc())
    .limit(1)
)
_HASH_AT = select(schema.record_digests.c.hash).where(
    schema.record_digests.c.seq == bindparam("seq", type_=schema.record_digests.c.seq.type)
)
_LOCK = select(schema.chain_head.c.seq).where(schema.chain_head.c.id == 1).with_for_update()


def _append(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    seq, prev = read_head(conn)
    links = []
    for row in rows:
        seq += 1
        key, digest = row_key(table, row), row_digest(table.name, row)
        chained = link_hash(prev, seq, table.name, key, digest)
        links.append(
            {"seq": seq, "table_name": table.name, "record_key": key, "digest": digest,
             "prev_hash": prev, "hash": chained}
        )  # fmt: skip
        prev = chained
    if links:
        conn.execute(schema.record_digests.insert(), links)


def covered_tables(conn: Connection) -> Iterator[Table]:
    """Each covered table the database holds, as declared (or reflected when not imported)."""
    names = set(inspect(conn).get_table_names())
    reflected = MetaData()
    for name in COVERED:
        if name not in names:
            continue
        declared = schema.metadata.tables.get(name)
        yield declared if declared is not None else Table(name, reflected, autoload_with=conn)


def rebuild(conn: Connection) -> int:
    """Digest every covered row from scratch (migrating older books); the links written."""
    conn.execute(delete(schema.record_digests))
    written = 0
    for table in covered_tables(conn):
        order = list(table.primary_key.columns)
        rows = [dict(r) for r in conn.execute(select(table).order_by(*order)).mappings()]
        _append(conn, table, rows)
        written += len(rows)
    return written


def verify(conn: Connection) -> list[tuple[str, str]]:
    """Problems as (record, reason): broken links, rows undigested, altered or missing."""
    problems: list[tuple[str, str]] = []
    # 1. Walk the links.
    expected: dict[tuple[str, str], str] = {}
    prev, want_seq = GENESIS_HASH, 1
    for ln in conn.execute(select(schema.record_digests).order_by(schema.record_digests.c.seq)):
        where = f"record digest #{ln.seq}"
        if int(ln.seq) != want_seq or ln.prev_hash != prev:
            problems.append((where, f"broken link in the record digests after #{want_seq - 1}"))
        if link_hash(ln.prev_hash, int(ln.seq), ln.table_name, ln.record_key, ln.digest) != ln.hash:
            problems.append((where, "record digest altered (hash mismatch)"))
        expected[(ln.table_name, ln.record_key)] = ln.digest
        prev, want_seq = ln.hash, int(ln.seq) + 1
    # 2. Every row against its digest.
    for table in covered_tables(conn):
        for found in conn.execute(select(table)).mappings():
            row = dict(found)
            key = row_key(table, row)
            where = f"{table.name} {key}"
            digest = expected.pop((table.name, key), None)
            if digest is None:
                problems.append((where, f"{where} has no digest (written outside gpuledger)"))
            elif digest != row_digest(table.name, row):
                problems.append((where, f"{where} was altered after it was written"))
    # 3. Digests whose row is gone.
    for table_name, key in sorted(expected):
        if table_name not in ENDING:
            where = f"{table_name} {key}"
            problems.append((where, f"{where} is missing (deleted after it was written)"))
    return problems
