"""``render_report``: one self-contained HTML file with the founding story's numbers."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from gpuledger import services
from gpuledger.domain import PolicyName
from gpuledger.ledger import Ledger
from gpuledger.reports.formatting import gpu_days, gpus
from gpuledger.reports.html import render_report
from gpuledger.scenario import demo_scenario_path, load_scenario


class Links(HTMLParser):
    """Every src/href attribute and every tag name of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]


@pytest.fixture(scope="module")
def books() -> Iterator[Ledger]:
    ledger = Ledger.open("sqlite://")
    ledger.import_scenario(load_scenario(demo_scenario_path()), actor="demo")
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def report(books: Ledger) -> str:
    return render_report(books, samples=200, seed=1)


def test_the_report_fetches_nothing(report: str) -> None:
    links = Links()
    links.feed(report)
    external = [u for u in links.urls if u.lower().startswith(("http:", "https:", "//"))]
    assert external == []
    assert "link" not in links.tags  # no stylesheet to fetch: it is inlined
    assert "plotly.js v" in report[:100_000] or "plotly.js v" in report  # Plotly inlined
    assert all(u.startswith("#") for u in links.urls)  # only links within the file


def test_the_checker_catches_an_external_url() -> None:
    links = Links()
    links.feed('<script src="https://cdn.plot.ly/plotly.min.js"></script><a href="#x">x</a>')
    assert links.urls == ["https://cdn.plot.ly/plotly.min.js", "#x"]


def test_the_report_holds_the_founding_story(report: str) -> None:
    for text in (
        "DIV-2023-12-TESLA-X",
        "LOT-T-2023-12",
        gpus(12_000),  # the diverted lot
        gpus(85_000),  # Tesla's end-of-2024 target and claim
        gpus(35_000),  # Tesla's April 2024 statement
        "tesla-85k-eoy",
        "tesla-35k-active",
    ):
        assert text in report, text
    assert report.count('data-figure="') >= 4  # holdings per org and fan charts


def test_the_report_holds_every_diversions_impact(books: Ledger, report: str) -> None:
    for view in books.diversions():
        for payback in (True, False):
            result = services.impact_of_diversion(
                books, view.diversion.id, PolicyName.CONSIGNED, with_payback=payback
            )
            for t in result.to_json()["targets"]:
                assert html.escape(t["verdict"]) in report, t["id"]
                assert gpu_days(t["gpu_days_lost"]) in report


def test_the_report_holds_the_plan(books: Ledger, report: str) -> None:
    plan = services.plan_report(books, PolicyName.CONSIGNED).to_json()
    for t in plan["targets"]:
        assert f'data-target="{t["id"]}"' in report
        assert gpus(t["held_at_by"]) in report


class Boxes(HTMLParser):
    """The attributes of every element carrying ``data-headline``, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-headline" in a:
            self.boxes.append(a)


def test_the_report_opens_with_the_demos_headline(books: Ledger, report: str) -> None:
    """The executive summary shows the figures `gpuledger demo` prints, with their window."""
    from gpuledger.demo import FOUNDING_DIVERSION, demo_report

    demo = demo_report(books)
    parser = Boxes()
    parser.feed(report)
    box = next(b for b in parser.boxes if b["data-headline"] == FOUNDING_DIVERSION)
    assert box["id"].startswith("summary-")
    assert int(box["data-gpu-days-without"]) == demo.giver_gpu_days_lost > 0
    assert int(box["data-gpu-days-with"]) == demo.giver_gpu_days_lost_with_payback > 0
    assert box["data-window-start"] == demo.record.on.isoformat()
    assert box["data-window-end"] == demo.window_end.isoformat()
    for lost in (demo.giver_gpu_days_lost, demo.giver_gpu_days_lost_with_payback):
        cost = demo.cost_usd(lost)
        assert cost is not None and f"USD {cost:,.0f}" in report
    assert report.index('id="summary"') < report.index('id="overview"')


def test_dollars_only_where_they_add_up(report: str) -> None:
    """No per-target dollar column: its sum was USD 1.28B against a USD 219M headline."""
    assert "rental equivalent</th>" not in report
    amounts = {m for m in re.findall(r"USD ([0-9,]{5,})", report)}
    parser = Boxes()
    parser.feed(report)
    allowed = {
        f"{int(b[key]) * 24 * 2:,}"
        for b in parser.boxes
        for key in ("data-gpu-days-without", "data-gpu-days-with")
        if b[key]
    }
    assert amounts and amounts <= allowed, amounts - allowed
