"""The dashboard's routes without a browser: sign-in, visibility, preview, writes, assets."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpuledger import services
from gpuledger.domain import PolicyName
from gpuledger.services.visibility import event_orgs
from gpuledger.web import COOKIE
from gpuledger.web.forms import divert_change, parse_payback
from tests.web.books import DIVERSION, make_app, session

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    db = tmp_path_factory.mktemp("routes") / "books.db"
    app, tokens = make_app(f"sqlite:///{db}")
    with TestClient(app) as client:
        yield client, tokens
    app.state.backend.ledger.close()


def signed_in(site: tuple[TestClient, dict[str, str]], user: str) -> TestClient:
    client, tokens = site
    client.cookies.set(COOKIE, session(client.app, tokens[user]))  # type: ignore[arg-type]
    return client


PAGES = ["/", "/orgs/tesla", "/flows", "/diversions", "/forecast", "/claims", "/audit"]


@pytest.mark.parametrize("path", PAGES, ids=PAGES)
def test_pages_need_a_sign_in(site: tuple[TestClient, dict[str, str]], path: str) -> None:
    client, _ = site
    client.cookies.clear()
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_sign_in_sets_an_httponly_cookie(site: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = site
    client.cookies.clear()
    r = client.post(
        "/login", data={"token": tokens["tess"], "next": "/claims"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/claims"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


@pytest.mark.parametrize(
    ("token", "next_", "status"),
    [("gpl_0000000000000000_" + "a" * 43, "/", 401), ("not a token", "/", 401)],
    ids=["unknown-token", "malformed-token"],
)
def test_bad_tokens_are_refused(
    site: tuple[TestClient, dict[str, str]], token: str, next_: str, status: int
) -> None:
    client, _ = site
    client.cookies.clear()
    r = client.post("/login", data={"token": token, "next": next_}, follow_redirects=False)
    assert r.status_code == status
    assert "set-cookie" not in r.headers


def test_sign_in_never_redirects_off_site(site: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = site
    r = client.post(
        "/login", data={"token": tokens["tess"], "next": "//evil.example/"}, follow_redirects=False
    )
    assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("user", "org", "status"),
    [("xena", "tesla", 404), ("xena", "x", 200), ("tess", "tesla", 200), ("tess", "nope", 404)],
    ids=["x-viewer-tesla", "x-viewer-x", "tesla-approver-tesla", "unknown-org"],
)
def test_org_pages_follow_visibility(
    site: tuple[TestClient, dict[str, str]], user: str, org: str, status: int
) -> None:
    r = signed_in(site, user).get(f"/orgs/{org}")
    assert r.status_code == status


def test_overview_lists_only_visible_orgs(site: tuple[TestClient, dict[str, str]]) -> None:
    html = signed_in(site, "xena").get("/").text
    assert 'id="org-x"' in html and 'id="org-tesla"' not in html
    assert 'data-target="tesla-eoy24"' not in html


def test_preview_is_the_cli_impact(site: tuple[TestClient, dict[str, str]]) -> None:
    client = signed_in(site, "pat")
    r = client.get("/diversions/preview", params=DIVERSION)
    assert r.status_code == 200
    shown = r.json()["impact"]
    ledger = client.app.state.backend.ledger  # type: ignore[attr-defined]
    expected = services.impact_of_change(
        ledger, divert_change(DIVERSION), PolicyName.CONSIGNED
    ).to_json()
    tesla = {"tesla-apr24", "tesla-eoy24", "tesla-cortex-oct24"}
    assert [t["id"] for t in shown["targets"]] == [
        t["id"] for t in expected["targets"] if t["id"] in tesla
    ]
    assert shown["targets"] == [t for t in expected["targets"] if t["id"] in tesla]
    assert 'data-field="gpu_days_lost"' in r.json()["html"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"qty": "lots"}, 422, "qty"),
        ({"lot": "LOT-NOPE"}, 404, None),
        ({"on": "10/12/2023"}, 422, "on"),
        ({"payback": "LOT:A:5"}, 422, "payback"),  # the CLI and the API refuse it too
        ({"qty": "0"}, 422, "qty"),
        ({"from_org": ""}, 422, "from_org"),
    ],
    ids=["bad-qty", "unknown-lot", "bad-date", "colon-in-lot", "zero-qty", "no-giver"],
)
def test_preview_refuses_bad_input(
    site: tuple[TestClient, dict[str, str]],
    change: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    r = signed_in(site, "pat").get("/diversions/preview", params=DIVERSION | change)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["message"] and error["field"] == field


def test_preview_of_orgs_one_cannot_see_is_404(site: tuple[TestClient, dict[str, str]]) -> None:
    params = DIVERSION | {"from_org": "tesla", "to_org": "xai"}
    assert signed_in(site, "xena").get("/diversions/preview", params=params).status_code == 404


def test_writes_from_another_site_are_refused(site: tuple[TestClient, dict[str, str]]) -> None:
    client = signed_in(site, "pat")
    before = client.app.state.backend.ledger.event_count()  # type: ignore[attr-defined]
    r = client.post(
        "/diversions",
        data=DIVERSION | {"id": "DIV-CSRF"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert client.app.state.backend.ledger.event_count() == before  # type: ignore[attr-defined]


def test_a_viewer_cannot_propose(site: tuple[TestClient, dict[str, str]]) -> None:
    client = signed_in(site, "xena")
    r = client.post("/diversions", data=DIVERSION | {"id": "DIV-VIEWER"}, follow_redirects=False)
    assert r.status_code == 404  # the giver is tesla, which xena does not see
    assert "DIV-VIEWER" not in client.get("/diversions").text


def test_plotly_is_served_locally(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and "plotly.js" in r.text[:200]
    assert client.get("/static/../pyproject.toml").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("LOT-A:6000", (("LOT-A", 6000),)),
        ("LOT-A:6000; LOT-B : 5\nLOT-C:1", (("LOT-A", 6000), ("LOT-B", 5), ("LOT-C", 1))),
    ],
    ids=["none", "one", "several-separators"],
)
def test_parse_payback(text: str, expected: tuple[tuple[str, int], ...]) -> None:
    assert parse_payback(text) == expected


def test_event_orgs_reads_accounts_and_sides() -> None:
    body: dict[str, Any] = {
        "input": {"from": "tesla", "to": "x"},
        "transfers": [{"debit": "cluster:tesla-cortex/deployed", "credit": "vendor:nvidia/world"}],
    }
    assert event_orgs(body, {"tesla-cortex": "tesla"}) == {"tesla", "x"}
    assert event_orgs({"data": {"id": "H100"}}, {}) == set()


def test_templates_ship_with_the_package() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "gpuledger"
    assert (root / "web" / "templates" / "base.html").exists()
    assert (root / "reports" / "templates" / "_macros.html").exists()


def test_claims_page_labels_held_and_powered(site: tuple[TestClient, dict[str, str]]) -> None:
    # the same figures as the CLI and API JSON (services.claims), each labelled
    client = signed_in(site, "tess")
    page = client.get("/claims").text
    row = page.split('data-claim="tesla-35k-active"', 1)[1].split("</tr>", 1)[0]
    cells = dict(re.findall(r'data-label="([^"]+)" data-field="[^"]+" data-value="([^"]*)"', row))
    ledger = client.app.state.backend.ledger  # type: ignore[attr-defined]
    [want] = [c for c in services.claims.claims_report(ledger, None) if c.id == "tesla-35k-active"]
    assert cells == {
        "held then": str(want.books_then),
        "held now": str(want.books_now),
        "powered then": str(want.powered_then),
        "powered now": str(want.powered_now),
        "gap": str(want.gap),
    }
    # these books stop on 2023-12-09 (tests/web/books.py): the 10k-H100 site caps them
    assert want.powered_now == 10_000 < want.books_now
