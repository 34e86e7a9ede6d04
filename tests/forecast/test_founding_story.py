"""The founding story: its baseline meets the facts it cites, and every interface
prints the same org-level figures (demo, dashboard, report) and the same claims."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gpuledger.demo import DEMO_SAMPLES, DEMO_SEED, FOUNDING_DIVERSION, demo_report
from gpuledger.ledger import Ledger
from gpuledger.reports.html import render_report
from gpuledger.scenario import demo_scenario_path, load_scenario
from gpuledger.services import dashboard
from gpuledger.services.claims import check
from gpuledger.services.planning import impact_of_diversion, plan_report
from tests.cli.conftest import run

CORTEX = "tesla-cortex-oct24"


@pytest.fixture(scope="module")
def books() -> Iterator[Ledger]:
    ledger = Ledger.open("sqlite://")
    ledger.import_scenario(load_scenario(demo_scenario_path()), actor="demo")
    yield ledger
    ledger.close()


def test_cortex_is_met_on_time_by_the_baseline_without_the_diversion(books: Ledger) -> None:
    # facts 6 and 12: 50,000 in Texas by the end of October 2024 beside ~35,000 in April
    impact = impact_of_diversion(books, FOUNDING_DIVERSION, with_payback=False)
    cortex = next(t for t in impact.to_json()["targets"] if t["id"] == CORTEX)
    assert cortex["completed_before"] is not None
    assert date.fromisoformat(cortex["completed_before"]) <= date(2024, 10, 31)
    # the books (diversion and paybacks posted) meet it too: X paid the 12,000 back by June
    planned = {t.id: t for t in plan_report(books).targets}
    assert planned[CORTEX].days_late == 0


class Boxes(HTMLParser):
    """The attributes of every headline box."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("data-headline") == FOUNDING_DIVERSION:
            self.boxes.append(a)


def test_demo_dashboard_and_report_print_the_same_org_figures(
    books: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_report(books)
    figures = (demo.giver_gpu_days_lost, demo.giver_gpu_days_lost_with_payback, demo.window_end)
    # the dashboard's headline
    h = dashboard.headline(books, books.diversion(FOUNDING_DIVERSION))
    assert (h.gpu_days_without_payback, h.gpu_days_with_payback, h.window_end) == figures
    # the HTML report's summary box
    parser = Boxes()
    parser.feed(render_report(books, samples=50, seed=1))
    box = parser.boxes[0]
    assert (
        int(box["data-gpu-days-without"]),
        int(box["data-gpu-days-with"]),
        date.fromisoformat(box["data-window-end"]),
    ) == figures
    # `make demo` (gpuledger demo) prints them, with the window
    code, out, err = run(capsys, "--db", str(tmp_path / "demo.db"), "demo")
    assert code == 0, err
    text = re.sub(r"\s+", " ", out)
    for lost in figures[:2]:
        assert f"{lost:,} GPU-days less from {demo.record.on} to {demo.window_end}" in text


def test_claims_are_the_same_in_the_demo_and_the_claims_check(books: Ledger) -> None:
    demo = demo_report(books)
    checks = check(books, samples=DEMO_SAMPLES, seed=DEMO_SEED)
    by_id = {c.id: c for c in checks}
    for c in demo.checks:
        assert c.gap == by_id[c.id].gap
        assert c.verdict == by_id[c.id].verdict
        if c.gap is not None:
            assert c.gap == sum(e.effect for e in c.explained_by) + (c.residual or 0)
