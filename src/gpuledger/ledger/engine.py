"""Opening the books: the SQLAlchemy engine, the migrations, and books that do not exist.

SQLite runs in WAL mode with writers taking the database lock at ``BEGIN
IMMEDIATE``, one process's writers queueing first on an in-process lock (see
:func:`make_engine`); PostgreSQL writers lock the chain-head row. ``open_engine(url,
create=False)`` refuses, with one line naming the path or URL, books that do not
exist instead of creating empty ones.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from gpuledger.domain import BooksNotFound

if TYPE_CHECKING:
    from alembic.config import Config

#: The execution option that makes a connection a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "gpuledger_write"
#: The execution option of a connection that runs single statements outside any
#: transaction (no ``BEGIN`` on SQLite): reading the chain head alone.
ONE_STATEMENT = "gpuledger_one_statement"
MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 727274  # PostgreSQL advisory lock: one process migrates at a time
#: How long a writer waits on its process's writer lock before going on to SQLite's
#: own busy wait (the same bound as the connection's busy timeout).
WRITER_WAIT_SECONDS = 60.0
_HOLDS_WRITER = "gpuledger_holds_writer_lock"  # in Connection.info while a writer holds it


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _in_memory(parsed: URL) -> bool:
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    """An engine with SQLite set up for WAL and explicit BEGIN (IMMEDIATE for writers).

    On a SQLite file, the writers of this process take one lock of the engine
    before ``BEGIN IMMEDIATE`` and give it back with the connection: SQLite's
    busy handler sleeps 1, 2, 5 ... 100 ms between tries, so a writer queued there
    wakes up long after the lock is free, while one queued on the lock starts at
    once. Writers of other processes still meet in SQLite's busy wait. A writer
    that waits :data:`WRITER_WAIT_SECONDS` on the lock goes on to SQLite's wait.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    memory = _in_memory(parsed)
    if memory:
        engine = create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(parsed, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        if not memory:
            # WAL + synchronous=NORMAL: a commit is not fsynced (the WAL is, at each
            # checkpoint). A power loss or OS crash may lose the last transactions
            # committed before it, never corrupt the file or keep half a transaction;
            # a crash of the process alone loses nothing. See docs/ledger.md.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    writers = threading.Lock()  # not an RLock: a connection may be closed on another thread

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the database write lock up front so their reads and checks
        # see the state they will commit on top of (serialised hash chain).
        options = conn.get_execution_options()
        if options.get(ONE_STATEMENT):
            return  # each statement is its own transaction (SQLite's autocommit)
        if not options.get(WRITE):
            conn.exec_driver_sql("BEGIN")
            return
        held = memory or conn.info.get(_HOLDS_WRITER, False)
        if not held and writers.acquire(timeout=WRITER_WAIT_SECONDS):
            conn.info[_HOLDS_WRITER] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    # The lock goes back with the connection, after its COMMIT or ROLLBACK has run
    # (SQLAlchemy's "commit" event comes before the COMMIT, too early).
    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    @event.listens_for(engine, "close")
    def _returned(_dbapi: Any, record: Any, *_: Any) -> None:
        if record is not None and record.info.pop(_HOLDS_WRITER, False):
            writers.release()

    return engine


def one_statement(engine: Engine) -> Connection:
    """A connection whose statements each run alone, outside any transaction.

    No ``BEGIN`` and ``COMMIT`` round trips: on SQLite each statement is its own
    transaction (``ONE_STATEMENT``), on PostgreSQL the connection autocommits.
    For reads that one statement answers whole (the chain head; a caller's token
    and the directory's heads), so nothing needs a snapshot across statements.
    """
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn.execution_options(**{ONE_STATEMENT: True})


def require_books(engine: Engine, url: str) -> None:
    """Raise BooksNotFound (one line naming the path or URL) unless the books exist.

    A SQLite file must exist (nothing is created to find out) and hold the
    ledger's tables; a PostgreSQL database (or schema on the search path) must
    hold them. In-memory SQLite books never exist before they are opened.
    """
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if _in_memory(parsed):
        raise BooksNotFound(f"in-memory books ({shown}) are always new: there is nothing to open")
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.is_file():
            raise BooksNotFound(
                f"no books at {path}: the file does not exist (create them with "
                "`gpuledger init` or `gpuledger import`)"
            )
        shown = str(path)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    if "chain_head" not in tables:
        raise BooksNotFound(
            f"{shown} has no gpuledger tables (create the books with `gpuledger init` "
            "or `gpuledger import`)"
        )


_REVISION = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


@cache
def script_head() -> str | None:
    """The head revision of the shipped migrations, read from their files without Alembic.

    None when it cannot be told for sure (no files, several heads, a revision
    written other than as a plain string): the caller then asks Alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        rev, down = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"[\"'][\w-]+[\"']", rev):
            return None
        revisions.add(rev[1:-1])
        if re.fullmatch(r"[\"'][\w-]+[\"']", down):
            parents.add(down[1:-1])
        elif down != "None":
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def schema_current(engine: Engine) -> bool:
    """True when the books' recorded schema revision is the shipped head (nothing to migrate)."""
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except SQLAlchemyError:  # no alembic_version table yet: new books
        return False
    return versions == [head]


def migrate(engine: Engine) -> None:
    """Create or upgrade the books to the latest schema (one process at a time).

    Books already at the shipped head revision are left alone without loading
    Alembic (one query), so opening current books stays cheap.
    """
    if schema_current(engine):
        return
    from alembic import command

    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
