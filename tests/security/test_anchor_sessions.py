"""Web sessions: the sign-in cookie holds a server-side session id, never the API token.

Before: the cookie was the raw, long-lived API token (anyone who read it held
the API), sign-out only asked the browser to forget it, and ``serve`` could not
mark it ``Secure``. Now a sign-in starts a session (a random id; only its
SHA-256 is stored, with the user, the token it came from and an expiry);
sign-out deletes it; it expires; revoking the token ends it; ``serve
--secure-cookies`` marks the cookie ``Secure``.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from gpuledger.governance.store import SESSION_HOURS
from gpuledger.governance.tokens import TokenHasher
from gpuledger.server import create_app
from gpuledger.web import COOKIE
from tests.cli.conftest import run as cli
from tests.security.anchor_books import (  # noqa: F401  (fixtures)
    Clock,
    anchor_url_fixture,
    clock_fixture,
    scalar,
)

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

App = tuple[TestClient, str]  # client, viv's API token


def _app(url: str, clock: Clock, secure: bool = False) -> Iterator[App]:
    app = create_app(
        url, clock=clock, hasher=TokenHasher(time_cost=1, memory_cost=1024), secure_cookie=secure
    )
    token = app.state.backend.gov.create_token("viv", actor="setup").token
    with TestClient(app) as client:
        yield client, token
    app.state.backend.ledger.close()


@pytest.fixture
def site(anchor_url: str, clock: Clock) -> Iterator[App]:
    yield from _app(anchor_url, clock)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; the cookie's value."""
    client.cookies.clear()
    r = client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    value = r.cookies.get(COOKIE)
    assert value
    return str(value)


def signed_in(client: TestClient, cookie: str) -> bool:
    """Whether the overview answers (not a redirect to the sign-in) with this cookie."""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200


def test_the_cookie_is_a_session_not_the_token(site: App) -> None:
    client, token = site
    cookie = sign_in(client, token)
    assert cookie != token and token not in cookie
    assert signed_in(client, cookie)
    stored = scalar(client.app.state.backend.ledger, "SELECT id_hash FROM gov_sessions")  # type: ignore[attr-defined]
    assert stored == hashlib.sha256(cookie.encode()).hexdigest()  # the id itself is never stored


def test_the_api_token_is_no_sign_in_cookie(site: App) -> None:
    client, token = site
    assert not signed_in(client, token)


def test_the_cookie_is_httponly_samesite_and_expires(site: App) -> None:
    client, token = site
    client.cookies.clear()
    r = client.post("/login", data={"token": token}, follow_redirects=False)
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    assert f"max-age={SESSION_HOURS * 3600}" in header
    assert "secure" not in header


def test_sign_out_ends_the_session_on_the_server(site: App) -> None:
    client, token = site
    cookie = sign_in(client, token)
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert not signed_in(client, cookie)  # the stolen cookie is worth nothing
    assert scalar(client.app.state.backend.ledger, "SELECT count(*) FROM gov_sessions") == 0  # type: ignore[attr-defined]


def test_sessions_expire(site: App, clock: Clock) -> None:
    client, token = site
    cookie = sign_in(client, token)
    clock.advance(hours=SESSION_HOURS - 1)
    assert signed_in(client, cookie)
    clock.advance(hours=1, seconds=1)
    assert not signed_in(client, cookie)


def test_revoking_the_token_ends_its_sessions(site: App) -> None:
    client, token = site
    cookie = sign_in(client, token)
    client.app.state.backend.gov.revoke_token(token, actor="setup")  # type: ignore[attr-defined]
    assert not signed_in(client, cookie)


def test_a_forged_session_row_is_detected(site: App) -> None:
    client, token = site
    ledger = client.app.state.backend.ledger  # type: ignore[attr-defined]
    sign_in(client, token)
    assert ledger.verify().ok
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gov_sessions (id_hash, user_name, token_id, created_at, expires_at) "
                "SELECT :h, 'tina', token_id, created_at, expires_at FROM gov_sessions"
            ),
            {"h": "f" * 64},
        )
    report = ledger.verify()
    assert not report.ok and report.reason is not None and "gov_sessions" in report.reason


def test_sign_in_from_another_site_is_refused(site: App) -> None:
    client, token = site
    client.cookies.clear()
    r = client.post(
        "/login",
        data={"token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert COOKIE not in r.cookies


def test_serve_secure_cookies_marks_the_cookie_secure(
    anchor_url: str,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setenv("GPULEDGER_DATABASE_URL", anchor_url)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    code, _, err = cli(capsys, "serve", "--secure-cookies")
    assert code == 0, err
    app = served["app"]
    token = app.state.backend.gov.create_token("viv", actor="setup").token
    with TestClient(app, base_url="https://testserver") as client:
        r = client.post("/login", data={"token": token}, follow_redirects=False)
    app.state.backend.ledger.close()
    assert r.status_code == 303
    assert "secure" in r.headers["set-cookie"].lower()


def test_sign_in_clears_the_cookie_that_held_the_token(site: App) -> None:
    client, token = site
    client.cookies.clear()
    client.cookies.set("gpuledger_token", token)  # left by an earlier version
    r = client.post("/login", data={"token": token}, follow_redirects=False)
    cleared = [h for h in r.headers.get_list("set-cookie") if h.startswith("gpuledger_token=")]
    assert cleared and ("max-age=0" in cleared[0].lower() or "expires=" in cleared[0].lower())
