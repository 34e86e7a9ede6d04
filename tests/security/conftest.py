"""Hostile callers against a real app: the API fleet on SQLite and on PostgreSQL.

``hostile`` is a fresh world (the API test fleet, one user per role) per test,
parametrized over both stores where storage matters; ``fingerprint`` counts the
rows of every table, so a test can show that a refusal wrote nothing.

Attack fixtures: the API fleet (tesla and x in group musk, acme alone) with a user per role.

``world``: fresh books per test, on SQLite and on PostgreSQL (a private schema),
with conftest.ROLES of tests/api plus a planner of x and a planner of acme.
Helpers build scenario files out of the books themselves, so an attack file
restates every record it does not mean to change exactly as the books hold it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gpuledger.domain import OrgRole, Scenario
from gpuledger.scenario import dump_scenario
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


EXTRA = {"xplanner": ("x", OrgRole.PLANNER), "acmeplanner": ("acme", OrgRole.PLANNER)}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The fleet with a user per role, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'books.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    w = make_world(url)
    for user, (org, role) in EXTRA.items():
        w.gov.add_user(user, actor="setup")
        w.gov.grant(user, role, org=org, actor="setup")
        w.tokens[user] = w.gov.create_token(user, actor="setup").token
    yield w
    w.client.close()
    w.app.state.backend.ledger.close()


def books(world: World) -> Scenario:
    """The books as a scenario (what an export writes)."""
    found: Scenario = world.app.state.backend.ledger.to_scenario()
    return found


def only(s: Scenario, keep: set[str], **records: Any) -> Scenario:
    """``s`` cut down to the records of ``keep`` (shared records kept), then ``records`` set."""
    cluster_org = {c.id: c.org for c in s.clusters}
    order_ids = {o.id for o in s.orders if o.org in keep}
    cut = dataclasses.replace(
        s,
        orgs=tuple(o for o in s.orgs if o.id in keep),
        clusters=tuple(c for c in s.clusters if c.org in keep),
        orders=tuple(o for o in s.orders if o.org in keep),
        lots=tuple(x for x in s.lots if x.order in order_ids and x.consignee in keep),
        targets=tuple(t for t in s.targets if cluster_org.get(t.consumer, t.consumer) in keep),
        claims=tuple(c for c in s.claims if c.org in keep),
        diversions=tuple(d for d in s.diversions if {d.from_org, d.to_org} <= keep),
        movements=tuple(m for m in s.movements if m.org in keep),
    )
    return dataclasses.replace(cut, **records)


def upload(world: World, user: str, s: Scenario | str) -> Any:
    """POST /scenario as ``user``; the response."""
    text = s if isinstance(s, str) else dump_scenario(s)
    return world.call(user, "POST", "/scenario", {"yaml": text, "filename": "attack.yaml"})


def changed(record: Any, **fields: Any) -> Any:
    """A copy of ``record`` with ``fields`` replaced."""
    return dataclasses.replace(record, **fields)


def find(records: tuple[Any, ...], ident: str) -> Any:
    """The record with id ``ident``."""
    return next(r for r in records if r.id == ident)


Build = Callable[[Scenario], Scenario]
