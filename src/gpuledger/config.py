"""Where the books live: one rule for the CLI, the API and the tests.

Order of precedence: an explicit ``--db PATH`` (SQLite file), then
``GPULEDGER_DATABASE_URL`` (any SQLAlchemy URL, e.g. PostgreSQL), then
``GPULEDGER_DB`` (SQLite file), then ``./gpuledger.db``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_DB = "gpuledger.db"


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).expanduser()}"


def database_url(db: str | Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Resolve the database URL from an explicit path, then the environment.

    Args:
        db: a SQLite file path given on the command line; wins when set.
        env: the environment to read (``os.environ`` when None).
    """
    env = os.environ if env is None else env
    if db is not None:
        return sqlite_url(db)
    if url := env.get("GPULEDGER_DATABASE_URL"):
        return url
    return sqlite_url(env.get("GPULEDGER_DB") or DEFAULT_DB)
