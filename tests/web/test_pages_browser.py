"""Every page in Chromium at 1280 and 390 px: fits, legible charts, axe-core, screenshots.

The books are the whole founding story (as of 2024-06-30: the December 2023 diversion
posted, X's payback lots arrived) with a second diversion pending, so every kind of
card, line and flow is on the pages. For each page and width:
no console error, no sideways scroll of the page itself, no chart text clipped or
overprinted (bounding boxes compared), zero critical or serious axe-core violations,
and a full-page screenshot under artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuledger.governance import service
from gpuledger.web.forms import diversion_form
from tests.web.books import make_demo_app
from tests.web.conftest import (
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    Browser,
    Server,
    axe_serious,
    serve,
    shoot,
    text_problems,
)

pytestmark = pytest.mark.timeout(600)

POSTED = "DIV-2023-12-TESLA-X"
PENDING = "DIV-2024-06-TESLA-XAI-SMALL"
SECOND = {"lot": "LOT-T-2024-04", "qty": "1000", "from_org": "tesla", "to_org": "xai"}
PAGES = [
    "/",
    "/orgs/tesla",
    "/flows",
    "/diversions",
    f"/diversions/{POSTED}",
    "/forecast",
    "/claims",
    "/audit",
    "/login",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The founding story's books served, with a small diversion pending."""
    db = tmp_path_factory.mktemp("demo-web") / "books.db"
    yield from serve(db, make_demo_app)


@pytest.fixture(scope="module")
def books(server: Server) -> Server:
    """The server, with pat's small Tesla -> xAI diversion proposed."""
    backend = server.app.state.backend
    second = SECOND | {"id": PENDING, "on": "2024-06-30"}
    service.propose(backend.ledger, backend.gov, "pat", diversion_form(second))
    return server


def name_of(path: str, width: int) -> str:
    return f"{path.strip('/').replace('/', '-') or 'overview'}-{width}"


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop-1280", "phone-390"])
def test_every_page_is_legible_accessible_and_fits(
    browser: Browser, books: Server, viewport: dict[str, int]
) -> None:
    page = browser.as_user("audrey", viewport)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[str]] = {}
    for path in PAGES:
        response = page.goto(f"{books.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("load")
        page.wait_for_function(
            "[...document.querySelectorAll('[data-figure]')].every(e => e.dataset.plotted === '1')"
        )
        # tables scroll inside their own box or stack: the page never scrolls sideways
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, (path, width)
        problems = text_problems(page) + axe_serious(page)
        if problems:
            found[path] = problems
        shoot(page, name_of(path, viewport["width"]))
    assert not found, found
    assert not errors
    page.context.close()


def test_no_toolbar_button_in_the_tab_order(browser: Browser, books: Server) -> None:
    page = browser.as_user("audrey")
    page.goto(f"{books.url}/")
    page.wait_for_selector("[data-plotted='1']")
    assert page.locator(".modebar, .modebar-btn").count() == 0
    assert "Share" not in page.content()


def test_status_columns_are_visible_on_a_phone(browser: Browser, books: Server) -> None:
    page = browser.as_user("tess", PHONE)
    page.goto(f"{books.url}/")
    row = page.locator("tr[data-target='tesla-eoy24']")
    for label in ("status", "on time (forecast, held)", "held at by"):
        cell = row.locator(f"[data-label='{label}']")
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert cell.is_visible(), label
    page.context.close()


CONTRAST_OF_FOCUS = """() => {
    const el = document.activeElement, cs = getComputedStyle(el);
    const lin = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const lum = c => {
        const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(lin);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    let bg = null, p = el.parentElement;
    while (p) {
        const c = getComputedStyle(p).backgroundColor;
        if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') { bg = c; break; }
        p = p.parentElement;
    }
    const a = lum(cs.outlineColor), b = lum(bg || 'rgb(255, 255, 255)');
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_focus_ring_has_contrast(browser: Browser, books: Server) -> None:
    """The focus outline's colour against the page behind it: at least 3:1 (WCAG 1.4.11)."""
    page = browser.as_user("tess")
    page.goto(f"{books.url}/diversions")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link, on the dark header
    ratios = []
    for _ in range(12):
        page.keyboard.press("Tab")
        ratios.append(page.evaluate(CONTRAST_OF_FOCUS))
    assert min(ratios) >= 3.0, ratios
    page.context.close()


def test_sortable_tables_and_csv(browser: Browser, books: Server) -> None:
    page = browser.as_user("tess")
    page.goto(f"{books.url}/")
    table = "#targets-tesla"
    page.click(f"{table} thead th:nth-child(4) button")  # quantity, ascending
    qty = page.eval_on_selector_all(
        f"{table} tbody tr", "rs => rs.map(r => Number(r.cells[3].dataset.value))"
    )
    assert qty == sorted(qty) and len(qty) >= 3
    page.click(f"{table} thead th:nth-child(4) button")  # descending
    again = page.eval_on_selector_all(
        f"{table} tbody tr", "rs => rs.map(r => Number(r.cells[3].dataset.value))"
    )
    assert again == sorted(qty, reverse=True)
    with page.expect_download() as info:
        page.click(f"button[data-csv='{table[1:]}']")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    assert lines[0].startswith("target,status,") and len(lines) == len(qty) + 1
    assert any(line.startswith("tesla-eoy24,") for line in lines)
    page.context.close()


def test_sankey_draws_clusters_and_paybacks_as_flows(browser: Browser, books: Server) -> None:
    page = browser.as_user("audrey")
    page.goto(f"{books.url}/flows")
    page.wait_for_selector("#sankey[data-plotted='1']")
    sankey = page.evaluate("document.getElementById('sankey').data[0]")
    labels, link = sankey["node"]["label"], sankey["link"]
    assert any("(cluster)" in lab for lab in labels)
    kinds = set(link["label"])
    assert {"ship", "divert", "payback", "assigned"} <= kinds
    # no loop: no link goes back to a node of an earlier column (a DAG by construction)
    pairs = set(zip(link["source"], link["target"], strict=True))
    assert not any((t, s) in pairs for s, t in pairs)
    # one colour key: each row's swatch has the colour of its kind in the figure
    colors = {k: c for k, c in zip(link["label"], link["color"], strict=True)}
    for kind in ("divert", "payback"):
        swatch = page.locator(f"tr[data-kind={kind}] .swatch").first.evaluate(
            "s => getComputedStyle(s).backgroundColor"
        )
        rgb = swatch.removeprefix("rgb(").removesuffix(")")
        assert colors[kind].startswith(f"rgba({rgb},"), (kind, swatch, colors[kind])
    page.context.close()


def test_a_slow_plan_shows_progress(browser: Browser, books: Server) -> None:
    page = browser.as_user("tess")
    page.goto(f"{books.url}/")
    page.wait_for_selector("[data-plotted='1']")
    # The page's own handler runs first; this one then keeps the browser on the page, as if
    # the server were still planning.
    page.evaluate(
        "document.querySelector('form[data-progress]')"
        ".addEventListener('submit', e => e.preventDefault())"
    )
    page.select_option("#policy", "optimal")
    page.click("form[data-progress] button[type=submit]")
    note = page.locator("#progress")
    note.wait_for(state="visible")
    assert "several seconds" in note.inner_text()
    page.context.close()


def test_the_confirmation_repeats_the_cost(browser: Browser, books: Server) -> None:
    page = browser.as_user("audrey")
    page.goto(f"{books.url}/diversions")
    card = page.locator(f"[data-diversion='{PENDING}']")
    figure = card.locator("[data-field=gpu_days_without_payback]").inner_text()
    card.locator("[data-action=approve]").click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert figure in dialog.inner_text() and PENDING in dialog.inner_text()
    assert axe_serious(page) == []
    page.screenshot(path=str(SCREENSHOTS / "confirm-dialog-1280.png"))
    dialog.locator("[data-confirm-no]").click()
    assert not dialog.is_visible()
    decided = {x.actor for x in books.app.state.backend.ledger.diversion(PENDING).decisions}
    assert "audrey" not in decided  # cancelled: nothing recorded
    page.context.close()
