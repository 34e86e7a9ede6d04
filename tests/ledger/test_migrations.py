"""The Alembic migrations produce exactly the schema metadata (no drift), on both backends."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import gpuledger
from gpuledger.ledger import Ledger
from gpuledger.ledger.engine import alembic_config
from gpuledger.ledger.schema import metadata


def _register_every_table() -> None:
    """Import every ``gpuledger.<package>.tables`` module: they add tables to the metadata."""
    for module in pkgutil.iter_modules(gpuledger.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"gpuledger.{module.name}.tables")
            except ModuleNotFoundError as exc:
                if exc.name != f"gpuledger.{module.name}.tables":
                    raise


def test_migrations_match_the_metadata(ledger: Ledger) -> None:
    _register_every_table()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with ledger.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == head


def test_open_twice_does_not_migrate_again(ledger_url: str) -> None:
    first = Ledger.open(ledger_url)
    first.close()
    second = Ledger.open(ledger_url)
    with second.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"events", "transfers", "documents", "chain_head", "alembic_version"} <= tables
    second.close()


def test_downgrade_removes_every_table(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
