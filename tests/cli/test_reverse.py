"""``gpuledger reverse``: a transfer undone by a new one; balances return, the chain holds."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import fingerprint, run


def balances(capsys: pytest.CaptureFixture[str], db: str) -> dict[tuple[str, str], int]:
    code, out, err = run(capsys, "--db", db, "balances", "--json")
    assert code == 0, err
    return {(b["owner"], b["bucket"]): b["posted"] for b in json.loads(out)["balances"]}


def test_reversing_a_deploy_returns_the_units_and_the_chain_verifies(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = balances(capsys, books)
    args = ("reverse", "movement:DEP-A1:0", "--reason", "deployed to the wrong cluster")
    code, out, err = run(capsys, "--db", books, *args)
    assert code == 0, err
    assert "reversed by reverse:movement:DEP-A1:0" in out
    after = balances(capsys, books)
    assert after.get(("cluster:alpha-train", "deployed"), 0) == 0
    stock = ("org:alpha", "stock")
    assert after[stock] == before[stock] + before[("cluster:alpha-train", "deployed")]
    assert sum(after.values()) == sum(before.values())  # units conserved
    code, out, err = run(capsys, "--db", books, "audit", "verify")
    assert code == 0 and out.startswith("ok:"), out + err
    # the original is still in the log, and the reversal references it
    code, out, _ = run(capsys, "--db", books, "trace", "LOT-A-1", "--json")
    kinds = [(t["id"], t["kind"]) for t in json.loads(out)["transfers"]]
    assert ("movement:DEP-A1:0", "deploy") in kinds
    assert ("reverse:movement:DEP-A1:0", "reversal") in kinds


def test_the_same_reversal_twice_records_it_once(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("reverse", "receive:LOT-B-1:org:beta", "--reason", "not arrived after all")
    assert run(capsys, "--db", books, *args)[0] == 0
    once = fingerprint(books)
    assert run(capsys, "--db", books, *args)[0] == 0
    assert fingerprint(books) == once
    _, out, _ = run(
        capsys, "--db", books, "list", "lots", "--status", "in_transit", "--format", "csv"
    )
    assert "LOT-B-1" in out  # the lot is back in transit


@pytest.mark.parametrize(
    ("transfer", "named"),
    [
        ("ship:LOT-A-1", "unit(s)"),  # its units have moved on (received, deployed)
        ("nothing-here", "nothing-here"),
    ],
)
def test_a_refused_reversal_is_one_line_and_writes_nothing(
    books: str, capsys: pytest.CaptureFixture[str], transfer: str, named: str
) -> None:
    before = fingerprint(books)
    code, _, err = run(capsys, "--db", books, "reverse", transfer, "--reason", "r")
    assert code == 2 and len(err.strip().splitlines()) == 1 and named in err, err
    assert fingerprint(books) == before


def test_a_reversal_cannot_be_reversed(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--db", books, "reverse", "movement:DEP-A1:0", "--reason", "r")[0] == 0
    code, _, err = run(
        capsys, "--db", books, "reverse", "reverse:movement:DEP-A1:0", "--reason", "r"
    )
    assert code == 2 and "itself a reversal" in err
