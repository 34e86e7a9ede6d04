"""Running the CLI in-process, books to run it on, and a fingerprint of what the books hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gpuledger.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "small.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def fingerprint(db: str | Path) -> dict[str, int]:
    """Rows per table of a SQLite file: any write (events, users, tokens...) changes it."""
    engine = sa.create_engine(f"sqlite:///{db}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return {
                t: int(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one())
                for t in tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def books(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A SQLite file holding examples/small.yaml."""
    db = str(tmp_path / "books.db")
    code, _, err = run(capsys, "--db", db, "import", str(SMALL))
    assert code == 0, err
    return db
