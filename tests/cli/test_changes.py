"""``gpuledger changes``: the service's report as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.conftest import run

DAY = ("--since", "2024-02-01", "--until", "2024-02-01")  # the diversion was recorded then


def test_json_groups_by_record(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", books, "changes", *DAY, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    records = [r["record"] for r in data["records"]]
    assert "diversion DIV-A2-BETA" in records
    assert len(records) == len(set(records))  # one group per record
    assert data["since"] == data["until"] == "2024-02-01"


def test_csv_and_table_hold_the_same_records(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--db", books, "changes", *DAY, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"record", "actor", "field", "old", "new"} <= set(rows[0])
    code, table, err = run(capsys, "--db", books, "changes", *DAY)
    assert code == 0, err
    for record in {r["record"] for r in rows}:
        assert record in table


def test_nothing_recorded_is_an_empty_table(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", books, "changes", "--since", "2030-01-01")
    assert code == 0 and "Changes (0)" in out, err


def test_until_before_since_is_one_line(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("changes", "--since", "2024-02-02", "--until", "2024-02-01")
    code, _, err = run(capsys, "--db", books, *args)
    assert code == 2 and "--until" in err and len(err.strip().splitlines()) == 1
