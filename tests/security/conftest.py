"""Hostile callers against a real app: the API fleet on SQLite and on PostgreSQL.

``hostile`` is a fresh world (the API test fleet, one user per role) per test,
parametrized over both stores where storage matters; ``fingerprint`` counts the
rows of every table, so a test can show that a refusal wrote nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.api.conftest import World, make_world


def fingerprint(world: World) -> dict[str, int]:
    """Rows per table of the world's books: any write changes it."""
    engine = world.app.state.backend.ledger.engine
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {
            t: int(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in names
        }


def _world(url: str) -> Iterator[World]:
    world = make_world(url)
    yield world
    world.client.close()
    world.app.state.backend.ledger.close()


@pytest.fixture(params=["sqlite", "postgres"])
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """A fresh world on SQLite, then on PostgreSQL (skipped when it is not configured)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'books.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    yield from _world(url)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per module and store, for tests that only read or are refused."""
    if request.param == "sqlite":
        yield from _world(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'books.db'}")
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield from _world(f"{url}{sep}options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A fresh world on SQLite only (cases that do not touch storage differently)."""
    yield from _world(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'books.db'}")


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world per module on SQLite (property tests run many examples on it)."""
    yield from _world(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'books.db'}")
