"""``gpuledger trace``: a shipped lot shows its transfers; an expected one when it ships."""

from __future__ import annotations

import pytest

from tests.cli.conftest import run


def test_an_expected_lot_says_when_it_ships_and_arrives(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--db", books, "trace", "LOT-A-3")
    assert code == 0, err
    text = " ".join(out.split())
    assert "lot LOT-A-3 is expected: 1,000 H100-SXM5-80GB for alpha" in text
    assert "ships on 2024-05-06, arrives on 2024-05-20" in text
    assert "Now held" not in out  # no empty tables


def test_a_shipped_lot_shows_its_transfers(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", books, "trace", "LOT-A-2")
    assert code == 0, err
    assert "Now held" in out and "divert" in out and "expected" not in out


def test_an_unknown_lot_is_one_line(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", books, "trace", "LOT-Z")
    assert code == 2 and "LOT-Z" in err and len(err.strip().splitlines()) == 1
