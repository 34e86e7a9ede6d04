"""The API answers the same JSON as the CLI for the same books (the founding story).

The CLI runs in-process (``gpuledger.cli.main``) on the same SQLite file the app
serves; the API caller is a group-admin of ``musk``, who sees every org of the
story, so nothing is filtered out and the two answers must be equal.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpuledger.cli import main
from gpuledger.demo import FOUNDING_DIVERSION
from gpuledger.domain import GroupRole
from gpuledger.ledger import Ledger
from gpuledger.scenario import demo_scenario_path, load_scenario
from gpuledger.server import create_app
from tests.api.conftest import NOW, cheap_hasher

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGE_KEYS = {"total", "limit", "offset", "next"}


class Books:
    """The founding story on disk, with the API over it and the CLI pointed at it."""

    def __init__(self, db: Path, client: TestClient, token: str) -> None:
        self.db = db
        self.client = client
        self.token = token

    def api(self, path: str) -> Any:
        r = self.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        return r.json()

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(["--db", str(self.db), *args, "--json"])
        captured = capsys.readouterr()
        assert exit_.value.code == 0, captured.err
        return json.loads(captured.out)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    db = tmp_path_factory.mktemp("parity") / "books.db"
    url = f"sqlite:///{db}"
    ledger = Ledger.open(url, clock=lambda: NOW)
    ledger.import_scenario(load_scenario(demo_scenario_path()), actor="setup")
    ledger.close()
    app = create_app(url, clock=lambda: NOW, hasher=cheap_hasher())
    gov = app.state.backend.gov
    gov.add_user("board", actor="setup")
    gov.grant("board", GroupRole.GROUP_ADMIN, group="musk", actor="setup")
    token = gov.create_token("board", actor="setup").token
    with TestClient(app) as client:
        yield Books(db, client, token)
    app.state.backend.ledger.close()


def test_the_caller_sees_every_org_of_the_story(books: Books) -> None:
    orgs = books.api("/whoami")["orgs"]
    assert set(orgs) == {"tesla", "x", "xai"}


@pytest.mark.parametrize("policy", ["consigned", "priority", "fair-share", "optimal"], ids=str)
def test_plan(books: Books, capsys: pytest.CaptureFixture[str], policy: str) -> None:
    cli = books.cli(capsys, "plan", "--policy", policy)
    api = books.api(f"/plan?policy={policy}")
    assert cli["targets"], "the story has targets"
    assert api == cli


@pytest.mark.parametrize("with_payback", [True, False], ids=["with-payback", "without-payback"])
def test_impact_of_the_founding_diversion(
    books: Books, capsys: pytest.CaptureFixture[str], with_payback: bool
) -> None:
    api = books.api(
        f"/diversions/{FOUNDING_DIVERSION}/impact?with_payback={str(with_payback).lower()}"
    )
    if with_payback:
        cli = books.cli(capsys, "impact", "--diversion", FOUNDING_DIVERSION)
        assert api == cli
    # the same diversion as a hypothetical change, in the CLI's syntax, on both sides
    d = books.api(f"/diversions/{FOUNDING_DIVERSION}")["diversion"]
    paybacks = [f"{p['lot']}:{p['qty']}" for p in d["payback"]] if with_payback else []
    divert = f"{d['lot']}:{d['qty']}:{d['from_org']}:{d['to_org']}"
    cli_args = ["impact", "--divert", divert, "--on", d["on"]]
    for p in paybacks:
        cli_args += ["--payback", p]
    query = f"divert={divert}&on={d['on']}" + "".join(f"&payback={p}" for p in paybacks)
    hypothetical = books.api(f"/impact?{query}")
    assert hypothetical == books.cli(capsys, *cli_args)
    # evaluated on the books the day before it, the hypothetical is the recorded diversion
    assert hypothetical == api
    # hand check (the story): the 12,000 units taken from tesla hurt at least one target
    assert any(t["held_at_by_after"] < t["held_at_by_before"] for t in api["targets"]) or any(
        t["delay_days"] is None or t["delay_days"] > 0 for t in api["targets"]
    )


@pytest.mark.parametrize(
    "change",
    [
        ["--new-order", "tesla:nvidia:H100-SXM5-80GB:5000", "--on", "2024-01-15"],
        ["--priority", "xai-colossus-jul24:5", "--policy", "priority"],
    ],
    ids=["new-order", "priority"],
)
def test_impact_of_other_changes(
    books: Books, capsys: pytest.CaptureFixture[str], change: list[str]
) -> None:
    pairs = dict(zip(change[::2], change[1::2], strict=True))
    query = "&".join(f"{k.lstrip('-').replace('-', '_')}={v}" for k, v in pairs.items())
    assert books.api(f"/impact?{query}") == books.cli(capsys, "impact", *change)


def test_balances(books: Books, capsys: pytest.CaptureFixture[str]) -> None:
    cli = books.cli(capsys, "balances", "--as-of", "2024-04-23")
    api = books.api("/balances?as_of=2024-04-23&limit=1000")
    assert api["total"] == len(cli["balances"]) > 0
    assert {k: v for k, v in api.items() if k not in PAGE_KEYS} == cli


def test_forecast(books: Books, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--samples", "200", "--seed", "7", "--policy", "priority"]
    cli = books.cli(capsys, "forecast", *args)
    api = books.api("/forecast?samples=200&seed=7&policy=priority")
    assert (cli["samples"], cli["seed"]) == (200, 7)
    assert api == cli
    # another seed gives another sample: the comparison above is not vacuous
    other = books.api("/forecast?samples=200&seed=8&policy=priority")
    assert other["seed"] == 8 and other["targets"] and len(other["targets"]) == len(cli["targets"])


def test_claims(books: Books, capsys: pytest.CaptureFixture[str]) -> None:
    cli = books.cli(capsys, "claims", "--samples", "200", "--seed", "7")
    api = books.api("/claims?samples=200&seed=7")
    assert api == cli
    # hand check (facts.md): Tesla's two April 2024 statements, the target one forecast
    rows = {c["id"]: c for c in api["claims"]}
    assert set(rows) == {"tesla-35k-active", "tesla-85k-eoy"}
    assert rows["tesla-85k-eoy"]["forecast_p50"] is not None
    assert rows["tesla-35k-active"]["forecast_p50"] is None
    # held and powered: Tesla's documented sites ran 10,000 H100 on 2024-04-23
    active = rows["tesla-35k-active"]
    assert (active["books_now"], active["powered_now"]) == (29_000, 10_000)
    assert FOUNDING_DIVERSION in {e["id"] for e in rows["tesla-35k-active"]["explained_by"]}


def test_trace_divert_show_and_audit(books: Books, capsys: pytest.CaptureFixture[str]) -> None:
    shown = books.api(f"/diversions/{FOUNDING_DIVERSION}")
    lot = shown["diversion"]["lot"]
    # the API adds the approval state to `divert show`; the rest is the CLI's
    assert {k: v for k, v in shown.items() if k != "approvals"} == books.cli(
        capsys, "divert", "show", FOUNDING_DIVERSION
    )
    trace = books.api(f"/lots/{lot}/trace")
    assert trace == books.cli(capsys, "trace", lot)
    assert any(t["diversion"] == FOUNDING_DIVERSION for t in trace["transfers"])
    audit = books.api("/audit/verify")
    assert audit == books.cli(capsys, "audit", "verify") and audit["ok"] is True
