"""The forecast's options mean the same in the CLI and the API (one request parser)."""

from __future__ import annotations

import json

import pytest

from gpuledger.domain import InvalidInput
from gpuledger.services.requests import cli_name, forecast_request
from tests.api.conftest import World, shared_world
from tests.cli.conftest import books, run

__all__ = ["books", "shared_world"]  # fixtures, imported to be used here


def test_cli_no_failures_says_so_and_changes_the_run(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--db", books, "forecast", "--samples", "20", "--json"]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert json.loads(out)["failures"].startswith("failures on:")
    code, out, err = run(capsys, *base, "--no-failures")
    assert code == 0, err
    assert json.loads(out)["failures"] == "failures off"


def test_cli_known_on_is_parsed_and_bad_dates_refused(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", books, "forecast", "--known-on", "2024-13-01")
    assert code == 2
    assert "--known-on" in err


def test_api_no_failures_matches_the_cli_flag(shared_world: World) -> None:
    on = shared_world.ok("viewer", "GET", "/forecast?samples=20&seed=3")
    off = shared_world.ok("viewer", "GET", "/forecast?samples=20&seed=3&no_failures=true")
    assert on["failures"].startswith("failures on:")
    assert off["failures"] == "failures off"
    assert shared_world.ok("nobody", "GET", "/forecast?no_failures=true")["failures"] == (
        "failures off"
    )


def test_one_parser_names_fields_in_each_interfaces_spelling() -> None:
    request = forecast_request(samples="30", no_failures=True, known_on="2024-06-04")
    assert (request.samples, request.failures, str(request.known_on)) == (30, False, "2024-06-04")
    with pytest.raises(InvalidInput) as caught:
        forecast_request(workers="2", scheduler="tcp://h:1", name=cli_name)
    assert "--workers" in str(caught.value)
