"""Opening the books: the SQLAlchemy engine, the migrations, and books that do not exist.

SQLite runs in WAL mode with writers taking the database lock at ``BEGIN
IMMEDIATE``; PostgreSQL writers lock the chain-head row. ``open_engine(url,
create=False)`` refuses, with one line naming the path or URL, books that do not
exist instead of creating empty ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from gpuledger.domain import BooksNotFound

#: The execution option that makes a connection a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "gpuledger_write"
MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 727274  # PostgreSQL advisory lock: one process migrates at a time


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _in_memory(parsed: URL) -> bool:
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    """An engine with SQLite set up for WAL and explicit BEGIN (IMMEDIATE for writers)."""
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

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the database write lock up front so their reads and checks
        # see the state they will commit on top of (serialised hash chain).
        immediate = conn.get_execution_options().get(WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


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


def migrate(engine: Engine) -> None:
    """Create or upgrade the books to the latest schema (one process at a time)."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
