"""Opening books already at the shipped schema does not load Alembic; older books still migrate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from gpuledger.ledger import Ledger
from gpuledger.ledger.engine import alembic_config, schema_current, script_head


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert script_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_current_books_open_without_alembic(tmp_path: Path) -> None:
    db = tmp_path / "books.db"
    Ledger.open(f"sqlite:///{db}").close()
    probe = (
        "import sys\n"
        "from gpuledger.ledger import Ledger\n"
        f"Ledger.open('sqlite:///{db}', create=False).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr


def test_books_behind_the_head_are_migrated(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}")
    with ledger.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert not schema_current(ledger.engine)
    url = str(ledger.engine.url)
    ledger.close()
    again = Ledger.open(url)
    assert schema_current(again.engine)
    with again.engine.connect() as conn:
        assert "gov_users" in set(inspect(conn).get_table_names())
    again.close()
