"""Errors and pages never show what the caller cannot see (issue 10, item 10).

Conflict messages name fields, never another org's stored values; an impact
shows the org rows and pooled moves of visible orgs only (API and web
preview); the web audit log shows approval events only to who sees a side.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World

DIVERSION = {"lot": "LOT-T1", "qty": 7, "from_org": "tesla", "to_org": "x", "on": "2024-02-01"}


def sign_in(world: World, user: str) -> None:
    """Sign the world's client in to the web pages as ``user``."""
    r = world.client.post(
        "/login", data={"token": world.tokens[user], "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def conflict(r: Any) -> str:
    assert r.status_code == 409, r.text
    message: str = r.json()["error"]["message"]
    return message


def test_a_diversion_id_conflict_names_fields_not_the_other_orgs_values(world: World) -> None:
    world.ok("planner", "POST", "/diversions", {"id": "D-SECRET", **DIVERSION})
    mine = {"id": "D-SECRET", "lot": "LOT-A1", "qty": 1, "from_org": "acme", "to_org": "acme",
            "on": "2024-02-01"}  # fmt: skip
    message = conflict(world.call("acmeplanner", "POST", "/diversions", mine))
    assert "lot" in message and "qty" in message
    assert not any(word in message for word in ("tesla", "LOT-T1", "'x'", "7"))


def test_an_operation_id_conflict_names_fields_not_the_other_orgs_values(world: World) -> None:
    deploy = {"id": "DEP-SECRET", "qty": 11, "on": "2024-02-01", "org": "tesla",
              "cluster": "tesla-train", "lot": "LOT-T1"}  # fmt: skip
    world.ok("planner", "POST", "/movements/deploy", deploy)
    mine = {**deploy, "org": "acme", "cluster": "acme-train", "lot": "LOT-A1", "qty": 1}
    message = conflict(world.call("acmeplanner", "POST", "/movements/deploy", mine))
    assert not any(word in message for word in ("tesla", "LOT-T1", "11"))


def test_an_impact_shows_only_the_callers_org_rows(world: World) -> None:
    query = "/impact?divert=LOT-T1:6000:tesla:x&on=2024-02-01"
    everyone = {o["org"] for o in world.ok("root", "GET", query)["orgs"]}
    assert "x" in everyone  # the receiver gains: there is something to hide
    for data in (
        world.ok("viewer", "GET", query),
        web_preview(world, "viewer", lot="LOT-T1", qty="6000", from_org="tesla", to_org="x"),
    ):
        assert {o["org"] for o in data["orgs"]} <= {"tesla"}
        moves = [*data["moved_before"], *data["moved_after"]]
        assert all({m["from_org"], m["to_org"]} <= {"tesla"} for m in moves)


def web_preview(world: World, user: str, **fields: str) -> Any:
    sign_in(world, user)
    r = world.client.get("/diversions/preview", params={**fields, "on": "2024-02-01"})
    assert r.status_code == 200, r.text
    return r.json()["impact"]


def test_the_web_audit_log_hides_approvals_of_other_orgs_diversions(world: World) -> None:
    world.ok("planner", "POST", "/diversions", {"id": "D-HUSH", **DIVERSION})
    world.ok("approver", "POST", "/diversions/D-HUSH/approve")
    sign_in(world, "outsider")
    page = world.client.get("/audit")
    assert page.status_code == 200
    assert "D-HUSH" not in page.text
    sign_in(world, "xapprover")  # a side of the diversion sees it
    assert "D-HUSH" in world.client.get("/audit").text


def test_a_plan_shows_only_the_callers_org_rows_and_moves(world: World) -> None:
    query = "/plan?policy=priority"  # a pooled policy: moves between orgs exist to hide
    everyone = world.ok("root", "GET", query)
    assert {o["org"] for o in everyone["orgs"]} > {"tesla"}  # something to hide
    data = world.ok("viewer", "GET", query)
    assert {o["org"] for o in data["orgs"]} <= {"tesla"}
    assert all({m["from_org"], m["to_org"]} <= {"tesla"} for m in data["moved_between_orgs"])
