"""Books for the anchor tests: the governed fleet on each backend, a settable clock, raw SQL.

Fixtures are defined as ``*_fixture`` under their names (``anchor_url``, ``clock``,
``books``), so a test module imports them without shadowing its parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gpuledger.governance.store import Governance
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import Ledger
from tests.governance.conftest import setup_books

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand.

    Fixtures are named ``*_fixture`` so a test module imports them without
    shadowing its parameters: ``anchor_url``, ``clock`` and ``books``.
    """

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(
    name="anchor_url",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def anchor_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The governed fleet (tests.governance) on a SQLite file or a private PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'books.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    setup_books(url)
    return url


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="books")
def books_fixture(anchor_url: str, clock: Clock) -> Iterator[tuple[Ledger, Governance]]:
    """The books and their governance (cheap argon2)."""
    ledger = Ledger.open(anchor_url, clock=clock)
    yield ledger, Governance(ledger.engine, clock, TokenHasher(time_cost=1, memory_cost=1024))
    ledger.close()


def run(ledger: Ledger, sql: str, **params: Any) -> None:
    """Tamper: one statement straight to the database, as someone holding it would."""
    with ledger.engine.begin() as conn:
        conn.execute(text(sql), params)


def scalar(ledger: Ledger, sql: str, **params: Any) -> Any:
    with ledger.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()
