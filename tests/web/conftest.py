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
from collections.abc import Callable, Iterator
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


def serve(db: Path, build: Callable[[str], tuple[Any, dict[str, str]]]) -> Iterator[Server]:
    """uvicorn in a thread serving the app ``build`` makes over a SQLite file at ``db``."""
    import uvicorn

    app, tokens = build(f"sqlite:///{db}")
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The dashboard over a temp SQLite file with the eve-of-diversion books."""
    yield from serve(tmp_path_factory.mktemp("web") / "books.db", make_app)


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


# --------------------------------------------------------------------------- checks in the page

#: Text boxes of a chart may touch (a pixel of anti-aliasing) but not overlap more.
OVERLAP_TOLERANCE = 1.0

_TEXT_BOXES = """fig => [...fig.querySelectorAll('svg text')]
    .filter(t => t.textContent.trim() && t.getClientRects().length
                 && getComputedStyle(t).visibility !== 'hidden'
                 && getComputedStyle(t).display !== 'none'
                 && parseFloat(getComputedStyle(t).opacity || '1') > 0)
    .map(t => { const r = t.getBoundingClientRect();
                const c = t.closest('.legend, .infolayer, .xtick, .ytick, .g-xtitle, .g-ytitle,'
                                    + ' .sankey-node, .annotation, .textpoint');
                return {text: t.textContent.trim(), x: r.left, y: r.top, w: r.width, h: r.height,
                        kind: c ? c.getAttribute('class') : 'other'}; })"""


def text_problems(page: Any) -> list[str]:
    """Every pair of overlapping text boxes, and every text box outside its chart, per chart."""
    problems: list[str] = []
    for fig in page.query_selector_all(".figure[data-plotted='1']"):
        name = fig.get_attribute("id")
        box = fig.bounding_box()
        texts = fig.evaluate(_TEXT_BOXES)
        for t in texts:
            inside = (
                t["x"] >= box["x"] - OVERLAP_TOLERANCE
                and t["y"] >= box["y"] - OVERLAP_TOLERANCE
                and t["x"] + t["w"] <= box["x"] + box["width"] + OVERLAP_TOLERANCE
                and t["y"] + t["h"] <= box["y"] + box["height"] + OVERLAP_TOLERANCE
            )
            if not inside:
                problems.append(f"{name}: {t['text']!r} is clipped (outside the chart)")
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
                dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
                if dx > OVERLAP_TOLERANCE and dy > OVERLAP_TOLERANCE:
                    problems.append(f"{name}: {a['text']!r} overlaps {b['text']!r}")
    return problems


def axe_serious(page: Any) -> list[str]:
    """axe-core's critical and serious violations on the page (axe-playwright-python's copy)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]
