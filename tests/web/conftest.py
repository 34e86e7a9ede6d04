"""A real uvicorn server over fresh books, and a real headless Chromium driven by Playwright.

The browser tests skip with a clear message when /usr/bin/chromium or the
``playwright`` package is missing, unless CI=true, where they fail. The browser
is Debian's chromium (never a Playwright download); every request that is not to
the test server is refused and recorded, so the pages must work offline.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.web.books import make_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} and CI=true: the browser tests must run")
    pytest.skip(f"{reason}: browser tests skipped (install Debian's chromium and playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """The dashboard on 127.0.0.1, its database file and a token per user."""

    url: str
    db: Path
    tokens: dict[str, str]
    app: Any


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn in a thread over a temp SQLite file with the eve-of-diversion books."""
    import uvicorn

    db = tmp_path_factory.mktemp("web") / "books.db"
    app, tokens = make_app(f"sqlite:///{db}")
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", db, tokens, app)
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.backend.ledger.close()


@dataclass
class Browser:
    """A Chromium and a new context per user (each with its own cookie jar)."""

    browser: Any
    server: Server
    offsite: list[str] = field(default_factory=list)

    def as_user(self, user: str, viewport: dict[str, int] | None = None) -> Any:
        """A page signed in as ``user`` through the sign-in form."""
        context = self.browser.new_context(viewport=viewport or LAPTOP)
        context.set_default_timeout(15_000)
        base = self.server.url

        def gate(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.offsite.append(route.request.url)
                route.abort()

        context.route("**/*", gate)
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#token", self.server.tokens[user])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        return page


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Browser]:
    """Debian's headless Chromium (never a Playwright download)."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is missing")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        b = Browser(chromium, server)
        yield b
        chromium.close()
    assert not b.offsite, f"pages asked for URLs off the test server: {b.offsite}"


def shoot(page: Any, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
