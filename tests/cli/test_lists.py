"""``gpuledger list``: the service's rows as a table, JSON or CSV, the same rows each way."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gpuledger.domain.enums import ListKind
from gpuledger.ledger import Ledger
from gpuledger.services.lists import list_records, parse_query
from tests.cli.conftest import run


@pytest.mark.parametrize("kind", list(ListKind), ids=str)
def test_json_and_csv_hold_the_services_rows(
    books: str, capsys: pytest.CaptureFixture[str], kind: ListKind
) -> None:
    ledger = Ledger.open(f"sqlite:///{books}")
    try:
        expected = list_records(ledger, parse_query(kind)).rows()
    finally:
        ledger.close()
    code, out, err = run(capsys, "--db", books, "list", str(kind), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == expected
    code, out, err = run(capsys, "--db", books, "list", str(kind), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == [str(e["id"]) for e in expected]
    code, out, err = run(capsys, "--db", books, "list", str(kind))
    assert code == 0, err
    assert f"{str(kind).capitalize()} ({len(expected)})" in out


def test_lots_filtered_on_the_command_line(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("list", "lots", "--org", "alpha", "--status", "expected", "--format", "csv")
    code, out, err = run(capsys, "--db", books, *args)
    assert code == 0, err
    assert [r["id"] for r in csv.DictReader(io.StringIO(out))] == ["LOT-A-3"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["list", "lots", "--format", "xml"], "--format"),
        (["list", "lots", "--status", "shipped"], "--status"),
        (["list", "orgs", "--org", "nobody"], "nobody"),
        (["list", "sites", "--sku", "H100"], "--sku"),
    ],
    ids=str,
)
def test_bad_list_arguments_are_one_line(
    books: str, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    code, _, err = run(capsys, "--db", books, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and named in err, err
