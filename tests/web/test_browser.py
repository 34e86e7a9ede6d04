"""The dashboard in a real headless Chromium: overview, the December 2023 diversion, 404s.

The books are the founding story on the eve of the diversion (see books.py): the
diversion is proposed in the form, its preview compared with the CLI's JSON, then
approved by the three people the rules require before it shows in the flows and
the audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from gpuledger.domain import Diversion, DiversionStatus, Payback
from gpuledger.governance import service
from gpuledger.web.forms import divert_change
from tests.web.books import CLI_ARGS, DIVERSION
from tests.web.conftest import Browser, Server

pytestmark = pytest.mark.timeout(120)

TESLA_TARGETS = {"tesla-apr24", "tesla-eoy24", "tesla-cortex-oct24"}
DIV_ID = "DIV-2023-12-TESLA-X-WEB"


#: ``impact --divert`` without the payback: the headline's "without the payback" figure.
WITHOUT_PAYBACK = [a for a in CLI_ARGS if a not in ("--payback", *DIVERSION["payback"].split(", "))]


def cli_json(server: Server, args: list[str] = CLI_ARGS) -> dict[str, Any]:
    """``gpuledger --db FILE impact ... --json`` in a subprocess (default: ``CLI_ARGS``)."""
    code = "from gpuledger.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "--db", str(server.db), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def shown_impact(page: Any) -> dict[str, dict[str, str]]:
    """Per target row of the preview: field -> the raw value in its data-value."""
    rows: dict[str, dict[str, str]] = page.eval_on_selector_all(
        "#preview .impact-targets tbody tr",
        """rows => Object.fromEntries(rows.map(r => [r.dataset.target,
            Object.fromEntries([...r.querySelectorAll('[data-field]')]
                .map(c => [c.dataset.field, c.dataset.value]))]))""",
    )
    return rows


def as_shown(value: Any) -> str:
    return "" if value is None else str(value)


def cli_headline(server: Server) -> dict[str, str]:
    """Tesla's org-level figures and window of ``gpuledger impact --json``, as pages show them."""
    with_payback = cli_json(server, ["impact", "--diversion", DIV_ID, "--json"])
    without = cli_json(server, WITHOUT_PAYBACK)

    def tesla(data: dict[str, Any]) -> int:
        (row,) = [o for o in data["orgs"] if o["org"] == "tesla"]
        return int(row["gpu_days_lost"])

    assert with_payback["window_end"] == without["window_end"]
    return {
        "gpuDaysWithout": str(tesla(without)),
        "gpuDaysWith": str(tesla(with_payback)),
        "windowStart": without["window_start"],
        "windowEnd": without["window_end"],
    }


def shown_headline(page: Any, scope: str) -> dict[str, str]:
    """The figures of the headline of DIV_ID inside ``scope``."""
    box = page.locator(f"{scope} [data-headline='{DIV_ID}']").first
    data: dict[str, str] = box.evaluate(
        """b => ({gpuDaysWithout: b.dataset.gpuDaysWithout, gpuDaysWith: b.dataset.gpuDaysWith,
                 windowStart: b.dataset.windowStart, windowEnd: b.dataset.windowEnd})"""
    )
    return data


def approve_from_the_card(page: Any) -> str:
    """Click Approve on the card, read the confirmation dialog, confirm; the dialog's text."""
    page.click(f"[data-diversion='{DIV_ID}'] [data-action=approve]")
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    text = str(dialog.inner_text())
    with page.expect_navigation():
        dialog.locator("[data-confirm-yes]").click()
    return text


def test_overview_shows_teslas_targets(browser: Browser) -> None:
    page = browser.as_user("tess")
    rows = page.eval_on_selector_all(
        "table.targets tbody tr[data-target]", "rs => rs.map(r => r.dataset.target)"
    )
    assert set(rows) >= TESLA_TARGETS
    # the holdings chart draws once Plotly arrives, after the page's load event
    page.wait_for_selector("#org-tesla [data-plotted='1']")
    assert page.locator("tr[data-target='tesla-eoy24'] .state").inner_text().strip()
    # the first Tab reaches the skip link: keyboard users can jump to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.context.close()


def test_viewer_of_x_cannot_see_tesla(browser: Browser, server: Server) -> None:
    page = browser.as_user("xena")
    assert page.locator("#org-tesla").count() == 0
    assert page.locator("#org-x").count() == 1
    response = page.goto(f"{server.url}/orgs/tesla")
    assert response.status == 404
    assert page.goto(f"{server.url}/orgs/x").status == 200
    page.context.close()


def test_december_2023_diversion_previewed_and_proposed(browser: Browser, server: Server) -> None:
    # 1. The planner fills in the form; the live preview must equal the CLI's JSON.
    page = browser.as_user("pat")
    page.goto(f"{server.url}/diversions")
    for name, value in DIVERSION.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=id]", DIV_ID)
    page.wait_for_selector("#preview[data-state=ready] .impact-targets")
    shown = shown_impact(page)
    cli = cli_json(server)
    mine = {t["id"]: t for t in cli["targets"] if t["id"] in shown}
    assert set(shown) == TESLA_TARGETS  # pat plans for Tesla: Tesla's targets, no one else's
    assert set(mine) == set(shown)
    fields = ["completed_before", "completed_after", "delay_days", "held_at_by_before"]
    fields += ["held_at_by_after", "gpu_days_lost"]
    for tid, row in shown.items():
        assert row == {f: as_shown(mine[tid][f]) for f in fields}, tid
    assert any(int(r["gpu_days_lost"]) > 0 for r in shown.values())  # the diversion costs Tesla
    # no divert flow before the diversion exists
    page.goto(f"{server.url}/flows")
    assert page.locator("tr[data-kind=divert]").count() == 0
    # 2. Propose: pending, three approvals missing, and the proposer may not approve.
    page.goto(f"{server.url}/diversions")
    for name, value in DIVERSION.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=id]", DIV_ID)
    page.click("#propose-button")
    card = page.locator(f"[data-diversion='{DIV_ID}']")
    assert card.get_attribute("data-status") == "pending"
    assert card.locator(".missing").inner_text() == "giver-approver, receiver-approver, auditor"
    assert card.locator("[data-action=approve]").count() == 0
    # 3. The pending card and the overview open with the cost, as `gpuledger impact --json`.
    expected = cli_headline(server)
    assert int(expected["gpuDaysWithout"]) > int(expected["gpuDaysWith"]) > 0
    assert shown_headline(page, f"[data-diversion='{DIV_ID}']") == expected
    page.goto(f"{server.url}/")
    assert shown_headline(page, "#headlines") == expected
    page.context.close()


def test_enter_in_a_field_previews_and_never_proposes(browser: Browser, server: Server) -> None:
    page = browser.as_user("pat")
    page.goto(f"{server.url}/diversions")
    before = server.app.state.backend.ledger.event_count()
    for name, value in DIVERSION.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=id]", "DIV-ENTER")
    page.focus("[name=qty]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview[data-state=ready] .impact-targets")
    assert page.url == f"{server.url}/diversions"
    assert server.app.state.backend.ledger.event_count() == before
    page.context.close()


def ensure_proposed(server: Server) -> None:
    """The diversion as pat proposed it (when the previous test did not run)."""
    backend = server.app.state.backend
    if any(v.diversion.id == DIV_ID for v in backend.ledger.diversions()):
        return
    fields = DIVERSION | {"id": DIV_ID}
    change = divert_change(fields)
    d = Diversion(
        DIV_ID,
        change.lot,
        change.qty,
        change.from_org,
        change.to_org,
        change.on,
        tuple(Payback(lot, q) for lot, q in change.payback),
        status=DiversionStatus.PENDING,
    )
    service.propose(backend.ledger, backend.gov, "pat", d)


def test_first_approval_is_recorded_and_shown(browser: Browser, server: Server) -> None:
    """What works today: the giver's approver approves; the card names who is still needed."""
    ensure_proposed(server)
    backend = server.app.state.backend
    view = backend.ledger.diversion(DIV_ID)
    assert not any(x.actor == "tess" for x in view.decisions)
    page = browser.as_user("tess")
    page.goto(f"{server.url}/diversions")
    # Cancel first: nothing is recorded.
    page.click(f"[data-diversion='{DIV_ID}'] [data-action=approve]")
    page.locator("#confirm-dialog [data-confirm-no]").click()
    assert not any(x.actor == "tess" for x in backend.ledger.diversion(DIV_ID).decisions)
    # The approver decides from the card's numbers: the dialog repeats them.
    expected = cli_headline(server)
    shown = approve_from_the_card(page)
    assert f"{int(expected['gpuDaysWithout']):,} GPU-days" in shown
    assert f"{int(expected['gpuDaysWith']):,} GPU-days" in shown
    assert DIV_ID in shown
    card = page.locator(f"[data-diversion='{DIV_ID}']")
    assert card.locator("[data-approved=giver-approver]").inner_text() == "giver-approver by tess"
    assert card.locator(".missing").inner_text() == "receiver-approver, auditor"
    assert card.locator("[data-action=approve]").count() == 0  # one approval per person
    page.context.close()


def test_december_2023_diversion_approved_by_three_people(browser: Browser, server: Server) -> None:
    ensure_proposed(server)
    # 1. A viewer of X sees it (it touches X) but may not decide it.
    page = browser.as_user("xena")
    page.goto(f"{server.url}/diversions")
    assert page.locator(f"[data-diversion='{DIV_ID}']").count() == 1
    assert page.locator(f"[data-diversion='{DIV_ID}'] [data-action]").count() == 0
    page.context.close()
    # 2. The three distinct approvers the rules require.
    done = {x.actor for x in server.app.state.backend.ledger.diversion(DIV_ID).decisions}
    for n, user in enumerate(("tess", "xavier", "audrey")):
        if user in done:
            continue
        page = browser.as_user(user)
        page.goto(f"{server.url}/diversions")
        approve_from_the_card(page)
        card = page.locator(f"[data-diversion='{DIV_ID}']")
        expected = "posted" if n == 2 else "pending"
        assert card.get_attribute("data-status") == expected, user
        if n < 2:
            page.context.close()
    # 3. Posted: in the Sankey (its data and its table) and in the audit log with its actors.
    page.goto(f"{server.url}/flows")
    row = page.locator("tr[data-kind=divert]")
    assert row.count() == 1
    assert (row.get_attribute("data-source"), row.get_attribute("data-target")) == (
        "org:tesla",
        "org:x",
    )
    assert row.get_attribute("data-qty") == DIVERSION["qty"]
    page.wait_for_selector("#sankey[data-plotted='1']")
    link = page.evaluate("document.getElementById('sankey').data[0].link")
    divert = [i for i, k in enumerate(link["label"]) if k == "divert"]
    assert [link["value"][i] for i in divert] == [int(DIVERSION["qty"])]
    page.goto(f"{server.url}/audit?q={DIV_ID}")
    assert page.locator("#chain-status").get_attribute("data-ok") == "true"
    actors = set(page.eval_on_selector_all("tr[data-event]", "rs => rs.map(r => r.dataset.actor)"))
    assert {"pat", "tess", "xavier", "audrey"} <= actors
    # 4. The overview: the books as they stand (the diversion in), the same headline, and
    # the holdings chart's counterfactual line "without" it.
    page.goto(f"{server.url}/")
    assert "2023-12-10" in page.locator("#books-date").inner_text()
    assert shown_headline(page, "#headlines") == cli_headline(server)
    page.wait_for_selector("#org-tesla [data-plotted='1']")
    names = page.evaluate(
        "[...document.querySelectorAll('#org-tesla .figure')].flatMap(f => f.data.map(t => t.name))"
    )
    assert any(n.startswith("without diversion") for n in names), names
    page.context.close()
