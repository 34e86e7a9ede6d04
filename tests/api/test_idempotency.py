"""Idempotency-Key: same key and body replay; same key, other body: 409."""

from __future__ import annotations

from tests.api.conftest import World

BODY = {
    "id": "D-I",
    "lot": "LOT-T1",
    "qty": 10,
    "from_org": "tesla",
    "to_org": "x",
    "on": "2024-02-01",
}


def test_the_same_key_and_body_replay_the_stored_response(world: World) -> None:
    ledger = world.app.state.backend.ledger
    first = world.call("planner", "POST", "/diversions", BODY, key="k-1")
    events = ledger.event_count()
    second = world.call("planner", "POST", "/diversions", BODY, key="k-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert ledger.event_count() == events


def test_the_same_key_with_another_body_is_a_conflict(world: World) -> None:
    world.call("planner", "POST", "/diversions", BODY, key="k-1")
    events = world.app.state.backend.ledger.event_count()
    r = world.call("planner", "POST", "/diversions", {**BODY, "qty": 11}, key="k-1")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_conflict"
    assert world.app.state.backend.ledger.event_count() == events


def test_keys_are_per_user(world: World) -> None:
    a = world.call("planner", "POST", "/diversions", BODY, key="shared")
    b = world.call("approver", "POST", "/diversions", {**BODY, "id": "D-J"}, key="shared")
    assert a.status_code == 200 and b.status_code == 200
    assert b.json()["diversion"]["id"] == "D-J"


def test_a_refusal_is_replayed_as_a_refusal(world: World) -> None:
    big = {**BODY, "qty": 999999}
    first = world.call("planner", "POST", "/diversions", big, key="k-big")
    second = world.call("planner", "POST", "/diversions", big, key="k-big")
    assert first.status_code == second.status_code == 409
    assert first.json() == second.json()


def test_pagination_pages_through_every_row(world: World) -> None:
    for i in range(5):
        world.ok("planner", "POST", "/diversions", {**BODY, "id": f"D-{i}", "qty": 1})
    seen, url = [], "/diversions?limit=2"
    while url:
        page = world.ok("root", "GET", url)
        assert page["total"] == 5 and len(page["diversions"]) <= 2
        seen += [d["diversion"]["id"] for d in page["diversions"]]
        nxt = page["next"]
        url = nxt.split("/api/v1", 1)[1] if nxt else ""
    assert seen == [f"D-{i}" for i in range(5)]
