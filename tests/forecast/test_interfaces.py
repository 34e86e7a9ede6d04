"""The forecast in every interface: options parsed once; held and powered odds, labelled."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from gpuledger.domain import InvalidInput
from gpuledger.forecast.result import MEASURES
from gpuledger.ledger import Ledger
from gpuledger.notebook import open_books
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.requests import cli_name, forecast_request
from gpuledger.web import COOKIE
from tests.api.conftest import World, shared_world
from tests.cli.conftest import books, run
from tests.web.books import import_eve, make_app, session

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

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


# --------------------------------------------------------------------------- held and powered


@pytest.fixture
def story(tmp_path: Path) -> str:
    """SQLite books of the founding story on the eve of the diversion (its sites included)."""
    db = tmp_path / "story.db"
    import_eve(f"sqlite:///{db}")
    return str(db)


def test_cli_json_csv_and_table_label_held_and_powered(
    story: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--db", story, "forecast", "--samples", "40", "--seed", "2"]
    code, out, err = run(capsys, *base, "--json")
    assert code == 0, err
    doc = json.loads(out)
    ledger = Ledger.open(f"sqlite:///{story}")
    try:
        assert doc == json.loads(json.dumps(forecast_report(ledger, samples=40, seed=2).to_json()))
    finally:
        ledger.close()
    odds = [(t["on_time_probability"], t["powered_on_time_probability"]) for t in doc["targets"]]
    assert all(p <= h for h, p in odds) and any(p < h for h, p in odds)  # Tesla's sites bind
    assert doc["measures"] == MEASURES
    code, out, err = run(capsys, *base, "--format", "csv")
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert {"on_time_probability", "powered_on_time_probability"} <= set(header)
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert "on time (held)" in out and "on time (powered)" in out


def test_api_forecast_has_both_measures_equal_without_sites(shared_world: World) -> None:
    doc = shared_world.ok("viewer", "GET", "/forecast?samples=20&seed=3")
    assert doc["measures"] == MEASURES and doc["targets"]
    for t in doc["targets"]:  # the API fleet states no site: the two measures agree
        assert t["powered_on_time_probability"] == t["on_time_probability"]


def test_web_forecast_page_shows_held_and_powered(tmp_path: Path) -> None:
    app, tokens = make_app(f"sqlite:///{tmp_path / 'web.db'}")
    try:
        with TestClient(app) as client:
            client.cookies.set(COOKIE, session(client.app, tokens["audrey"]))  # type: ignore[arg-type]
            html = client.get("/forecast").text
    finally:
        app.state.backend.ledger.close()
    assert 'data-label="on time (held)"' in html and 'data-label="on time (powered)"' in html
    held = re.findall(r'data-label="on time \(held\)" data-value="([0-9.]+)"', html)
    powered = re.findall(r'data-label="on time \(powered\)" data-value="([0-9.]+)"', html)
    assert held and len(held) == len(powered)
    assert any(float(p) < float(h) for h, p in zip(held, powered, strict=True))


def test_notebook_frame_has_both_measures(story: str) -> None:
    frame = open_books(story).forecast(samples=30, seed=1)
    assert (frame["powered_on_time_probability"] <= frame["on_time_probability"]).all()
    assert (frame["powered_on_time_probability"] < frame["on_time_probability"]).any()
