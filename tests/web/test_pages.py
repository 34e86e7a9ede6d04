"""The dashboard's pages without a browser: headline, speed headers, roles, inbox, audit order.

Issue 15: the cost first (from ``services.planning.impact_of_diversion``), Plotly only
where charts are, compressed answers, versioned immutable static files, a favicon,
forms only for those who may use them, an inbox, the audit log newest first.
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from gpuledger import services
from gpuledger.domain import Decision, PolicyName
from gpuledger.governance import service
from gpuledger.web import COOKIE
from gpuledger.web.forms import diversion_form
from tests.web.books import DIVERSION, make_app, session

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DIV = "DIV-PAGES"
Site = tuple[TestClient, dict[str, str]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The eve-of-diversion books with the December 2023 diversion proposed by pat."""
    db = tmp_path_factory.mktemp("pages") / "books.db"
    app, tokens = make_app(f"sqlite:///{db}")
    backend = app.state.backend
    service.propose(backend.ledger, backend.gov, "pat", diversion_form(DIVERSION | {"id": DIV}))
    with TestClient(app) as client:
        yield client, tokens
    backend.ledger.close()


def signed_in(site: Site, user: str) -> TestClient:
    client, tokens = site
    client.cookies.set(COOKIE, session(client.app, tokens[user]))  # type: ignore[arg-type]
    return client


class Attrs(HTMLParser):
    """Attributes of every element with an id, and every script src."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.by_id[a["id"]] = a
        if tag == "script" and "src" in a:
            self.scripts.append(a["src"])


def parsed(html: str) -> Attrs:
    p = Attrs()
    p.feed(html)
    return p


def expected_headline(site: Site, with_payback: bool) -> tuple[int, str, str]:
    ledger = site[0].app.state.backend.ledger  # type: ignore[attr-defined]
    result = services.impact_of_diversion(
        ledger, DIV, PolicyName.CONSIGNED, with_payback=with_payback
    )
    row = result.org("tesla")
    assert row is not None
    return row.gpu_days_lost, result.window_start.isoformat(), result.window_end.isoformat()


@pytest.mark.parametrize("path", ["/", "/diversions", f"/diversions/{DIV}"])
def test_the_cost_of_a_pending_diversion_comes_first(site: Site, path: str) -> None:
    html = signed_in(site, "tess").get(path).text
    box = next(a for a in parsed(html).by_id.values() if a.get("data-headline") == DIV)
    without, start, end = expected_headline(site, with_payback=False)
    with_, _, _ = expected_headline(site, with_payback=True)
    assert int(box["data-gpu-days-without"]) == without > 0
    assert int(box["data-gpu-days-with"]) == with_ > 0
    assert (box["data-window-start"], box["data-window-end"]) == (start, end)
    # Money is the stated price times the org-level figure, never a per-target sum.
    assert f"USD {without * 24 * 2:,.0f}" in html and f"USD {with_ * 24 * 2:,.0f}" in html
    assert "rental equivalent" not in html


def test_the_overview_opens_with_the_headline(site: Site) -> None:
    html = signed_in(site, "tess").get("/").text
    assert html.index('id="headlines"') < html.index('id="org-tesla"')


def test_a_viewer_of_the_receiver_does_not_see_the_givers_cost(site: Site) -> None:
    html = signed_in(site, "xena").get("/diversions").text
    box = next(a for a in parsed(html).by_id.values() if a.get("data-headline") == DIV)
    assert box["data-gpu-days-without"] == "" and box["data-gpu-days-with"] == ""


@pytest.mark.parametrize(
    ("path", "charts"),
    [
        ("/", True),
        ("/forecast", True),
        ("/flows", True),
        ("/diversions", False),
        ("/claims", False),
        ("/audit", False),
        ("/login", False),
    ],
)
def test_plotly_loads_only_on_pages_with_charts(site: Site, path: str, charts: bool) -> None:
    html = signed_in(site, "audrey").get(path).text
    assert ("plotly.min.js" in html) is charts  # a script tag or the lazy loader's data-plotly


@pytest.mark.parametrize("path", ["/", "/diversions", "/login"])
def test_pages_are_compressed(site: Site, path: str) -> None:
    r = signed_in(site, "audrey").get(path, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"


def test_static_files_are_versioned_immutable_and_compressed(site: Site) -> None:
    from gpuledger.web.assets import static_url

    client, _ = site
    url = static_url("plotly.min.js")
    r = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert "immutable" in r.headers["cache-control"]
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content)) < len(raw.content) / 2
    etag = r.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    stale = client.get("/static/plotly.min.js?v=old")
    assert "immutable" not in stale.headers["cache-control"] and stale.headers["etag"] == etag


def test_pages_link_the_current_versions(site: Site) -> None:
    from gpuledger.web.assets import ASSETS

    html = signed_in(site, "audrey").get("/").text
    for name in ("app.css", "app.js", "plotly.min.js", "favicon.ico"):
        assert f"/static/{name}?v={ASSETS[name].digest}" in html, name


def test_favicon(site: Site) -> None:
    r = site[0].get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in r.content[:40]


@pytest.mark.parametrize(
    ("user", "form"), [("xena", False), ("audrey", False), ("tess", True), ("pat", True)]
)
def test_only_those_who_may_propose_see_the_form(site: Site, user: str, form: bool) -> None:
    html = signed_in(site, user).get("/diversions").text
    assert ('id="divert-form"' in html) is form
    assert ('id="no-proposals"' in html) is not form


def test_the_receiver_is_offered_from_the_books(site: Site) -> None:
    html = signed_in(site, "pat").get("/diversions").text
    offered = re.findall(r'<option value="([^"]+)">', html.split('<datalist id="orgs">')[1])
    assert "tesla" in offered and "x" in offered  # x: the other org of tesla's group
    assert "xai" in offered  # xai: also of the group musk in the founding story


def test_the_inbox_lists_what_waits_for_the_viewer(site: Site) -> None:
    inbox = signed_in(site, "tess").get("/diversions").text.split('id="inbox"')[1]
    assert f'href="#div-{DIV}"' in inbox.split("</section>")[0]
    pats = signed_in(site, "pat").get("/diversions").text.split('id="inbox"')[1]
    assert f'href="#div-{DIV}"' not in pats.split("</section>")[0]  # the proposer may only void


def test_decision_buttons_are_short_and_confirmed(site: Site) -> None:
    html = signed_in(site, "tess").get("/diversions").text
    forms = re.findall(r"<form[^>]*action=\"/diversions/[^\"]+/(?:approve|reject)\"[^>]*>", html)
    assert forms and all("data-confirm=" in f for f in forms)
    buttons = re.findall(r'data-action="\w+"[^>]*>([^<]+)</button>', html)
    assert buttons and all(len(b) <= 40 for b in buttons), buttons


def test_a_diversion_page_shows_its_lots_and_events(site: Site) -> None:
    html = signed_in(site, "tess").get(f"/diversions/{DIV}").text
    assert "Lot LOT-T-2023-12" in html and f"divert:{DIV}" in html
    assert signed_in(site, "tess").get("/diversions/DIV-NOPE").status_code == 404


def test_audit_is_newest_first_and_filters_by_date(site: Site) -> None:
    client = signed_in(site, "audrey")
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', client.get("/audit").text)]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) > 2
    none = client.get("/audit", params={"start": "2099-01-01"}).text
    assert "data-seq=" not in none
    some = client.get("/audit", params={"start": "2023-12-10", "end": "2023-12-10"}).text
    assert 0 < len(re.findall(r'data-seq="(\d+)"', some)) < len(seqs)


def test_a_posted_diversion_moves_the_books_date(tmp_path_factory: pytest.TempPathFactory) -> None:
    """After the diversion posts, the overview plans the books with it and says why."""
    db = tmp_path_factory.mktemp("posted") / "books.db"
    app, tokens = make_app(f"sqlite:///{db}")
    backend = app.state.backend
    service.propose(backend.ledger, backend.gov, "pat", diversion_form(DIVERSION | {"id": DIV}))
    for user in ("tess", "xavier", "audrey"):
        service.decide(backend.ledger, backend.gov, user, DIV, Decision.APPROVE)
    with TestClient(app) as client:
        client.cookies.set(COOKIE, session(app, tokens["tess"]))
        html = client.get("/").text
    backend.ledger.close()
    books = html.split('id="books-date"')[1].split("</p>")[0]
    assert "Books as of 2023-12-10" in books and "latest posted diversion" in books
    assert "without diversion" in html  # the counterfactual line of the holdings chart
