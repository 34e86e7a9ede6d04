"""``--known-on`` on plan, impact and forecast reads the books as they were known; ``--format``."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.conftest import run

BEFORE = "2024-01-15"  # the diversion DIV-A2-BETA was recorded on 2024-02-01


def completed(out: str) -> dict[str, str | None]:
    return {t["id"]: t["completed_on"] for t in json.loads(out)["targets"]}


def test_plan_known_on_leaves_out_what_was_recorded_later(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, now, err = run(capsys, "--db", books, "plan", "--format", "json")
    assert code == 0, err
    code, then, err = run(capsys, "--db", books, "plan", "--known-on", BEFORE, "--json")
    assert code == 0, err
    # before the books learned of the 800 diverted, alpha expected them in transit
    assert completed(then)["alpha-q1"] == "2024-04-01"
    assert completed(now)["alpha-q1"] == "2024-05-20"  # LOT-A-3 completes it now


def test_impact_and_forecast_take_known_on(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ("impact", "--slip", "LOT-A-3:30", "--on", "2024-03-01", "--format", "json")
    code, now, err = run(capsys, "--db", books, *base)
    assert code == 0, err
    code, then, err = run(capsys, "--db", books, *base, "--known-on", BEFORE)
    assert code == 0, err
    assert json.loads(now) != json.loads(then)
    fc = ("forecast", "--samples", "40", "--seed", "3", "--format", "json")
    code, now, err = run(capsys, "--db", books, *fc)
    assert code == 0, err
    code, then, err = run(capsys, "--db", books, *fc, "--known-on", BEFORE)
    assert code == 0, err
    code, again, err = run(capsys, "--db", books, *fc, "--known-on", BEFORE)
    assert json.loads(then) == json.loads(again)  # same seed, same books, same answer
    assert json.loads(now) != json.loads(then)


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["impact", "--diversion", "DIV-A2-BETA"],
        ["forecast", "--samples", "20"],
    ],
    ids=lambda a: a[0],
)
def test_csv_has_one_row_per_target(
    books: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(capsys, "--db", books, *args, "--format", "json")
    assert code == 0, err
    expected = [t["id"] for t in json.loads(out)["targets"]]
    code, out, err = run(capsys, "--db", books, *args, "--format", "csv")
    assert code == 0, err
    assert [r["id"] for r in csv.DictReader(io.StringIO(out))] == expected


def test_json_flag_and_another_format_are_refused(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", books, "plan", "--json", "--format", "csv")
    assert code == 2 and "--format" in err and len(err.strip().splitlines()) == 1
