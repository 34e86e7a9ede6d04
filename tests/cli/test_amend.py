"""Amending records by re-importing the corrected file does what docs/ledger.md says."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.cli.conftest import SMALL, fingerprint, run

TARGET = "{id: alpha-q1, consumer: alpha, sku: H100-SXM5-80GB, qty: 2000,"
EXPECTED_LOT = "ships_on: 2024-05-06, arrives_on: 2024-05-20"
SHIPPED_LOT = "{id: LOT-A-1, order: PO-ALPHA-1, qty: 1000,"


def amended(tmp_path: Path, *edits: tuple[str, str | None]) -> str:
    text = SMALL.read_text()
    for old, new in edits:
        assert old in text, old
        text = (
            text.replace(old, new)
            if new is not None
            else "\n".join(line for line in text.splitlines() if old not in line)
        )
    path = tmp_path / "fixed.yaml"
    path.write_text(text)
    return str(path)


def rows(capsys: pytest.CaptureFixture[str], db: str, kind: str) -> dict[str, dict[str, str]]:
    code, out, err = run(capsys, "--db", db, "list", kind, "--format", "csv")
    assert code == 0, err
    return {r["id"]: r for r in csv.DictReader(io.StringIO(out))}


def test_a_changed_record_gets_a_new_version_and_the_rest_writes_nothing(
    books: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixed = amended(
        tmp_path,
        (TARGET, TARGET.replace("qty: 2000", "qty: 2500")),
        (EXPECTED_LOT, EXPECTED_LOT.replace("05-20", "06-20")),
    )
    code, out, err = run(capsys, "--db", books, "import", fixed)
    assert code == 0, err
    assert "2 new events (0 transfers, 2 documents)" in out
    assert rows(capsys, books, "targets")["alpha-q1"]["qty"] == "2500"
    assert rows(capsys, books, "lots")["LOT-A-3"]["arrives_on"] == "2024-06-20"
    assert run(capsys, "--db", books, "audit", "verify")[0] == 0


def test_a_record_left_out_is_kept(
    books: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixed = amended(tmp_path, (TARGET, None))
    assert run(capsys, "--db", books, "import", fixed)[0] == 0
    assert "alpha-q1" in rows(capsys, books, "targets")


def test_a_shipped_lot_cannot_be_amended_and_nothing_is_written(
    books: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixed = amended(
        tmp_path,
        (SHIPPED_LOT, SHIPPED_LOT.replace("1000", "900")),
        (TARGET, TARGET.replace("qty: 2000", "qty: 2500")),
    )
    before = fingerprint(books)
    code, _, err = run(capsys, "--db", books, "import", fixed)
    assert code == 2 and "ship:LOT-A-1" in err and "reverse" in err, err
    assert fingerprint(books) == before
