"""Plan and impact over the API: the CLI's JSON, only the caller's targets."""

from __future__ import annotations

from tests.api.conftest import World


def test_plan_shows_only_the_callers_targets(shared_world: World) -> None:
    tesla = shared_world.ok("viewer", "GET", "/plan?policy=consigned")
    assert tesla["policy"] == "consigned"
    assert {t["id"] for t in tesla["targets"]} == {"tesla-h1", "tesla-train-h2"}
    acme = shared_world.ok("outsider", "GET", "/plan")
    assert [t["id"] for t in acme["targets"]] == ["acme-h1"]
    # hand check: acme holds its 1,000 units of LOT-A1 since 2023-12-15, before its date
    [row] = acme["targets"]
    assert row["held_at_by"] == 1000 and row["days_late"] == 0


def test_plan_refuses_an_unknown_policy(shared_world: World) -> None:
    r = shared_world.call("viewer", "GET", "/plan?policy=fastest")
    assert r.status_code == 422 and r.json()["error"]["field"] == "policy"


def test_impact_of_a_pending_diversion(world: World) -> None:
    world.ok(
        "planner",
        "POST",
        "/diversions",
        {
            "id": "D-IMP",
            "lot": "LOT-T1",
            "qty": 4000,
            "from_org": "tesla",
            "to_org": "x",
            "on": "2024-02-01",
        },
    )
    data = world.ok("viewer", "GET", "/diversions/D-IMP/impact")
    rows = {t["id"]: t for t in data["targets"]}
    assert set(rows) == {"tesla-h1", "tesla-train-h2"}
    # under `consigned` the 4,000 diverted units leave tesla's holdings before its date
    before, after = rows["tesla-h1"]["held_at_by_before"], rows["tesla-h1"]["held_at_by_after"]
    assert before - after == 4000
    hidden = world.call("outsider", "GET", "/diversions/D-IMP/impact")
    assert hidden.status_code == 404
