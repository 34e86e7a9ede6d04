"""Plan and impact over the API: the CLI's JSON, only the caller's targets."""

from __future__ import annotations

import pytest

from tests.api.conftest import FLEET, World


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


# --------------------------------------------------------------------------- hypothetical impact

DIVERT = "/impact?divert=LOT-T1:4000:tesla:x&on=2024-02-01"


def test_impact_of_a_hypothetical_diversion_writes_nothing(world: World) -> None:
    before = world.ok("root", "GET", "/balances?limit=1000")
    data = world.ok("viewer", "GET", DIVERT)
    assert data["change"] == "divert 4,000 of LOT-T1 from tesla to x on 2024-02-01"
    assert data["decision_on"] == "2024-02-01" and data["as_of"] == "2024-01-31"
    rows = {t["id"]: t for t in data["targets"]}
    assert set(rows) == {"tesla-h1", "tesla-train-h2"}
    # under `consigned` the 4,000 units leave tesla's holdings before its date
    assert rows["tesla-h1"]["held_at_by_before"] - rows["tesla-h1"]["held_at_by_after"] == 4000
    assert world.ok("root", "GET", "/balances?limit=1000") == before
    assert world.ok("root", "GET", "/diversions")["total"] == 0


def test_a_payback_gives_the_units_back(world: World) -> None:
    # x holds nothing of LOT-T1 before the diversion; paying 4,000 of it back undoes it
    data = world.ok("viewer", "GET", DIVERT + "&payback=LOT-T1:4000")
    rows = {t["id"]: t for t in data["targets"]}
    assert rows["tesla-h1"]["held_at_by_after"] == rows["tesla-h1"]["held_at_by_before"]
    assert data["change"].endswith("payback 4,000 of LOT-T1")


def test_the_hypothetical_equals_the_same_diversion_proposed(world: World) -> None:
    hypothetical = world.ok("viewer", "GET", DIVERT)
    body = {"id": "D-SAME", "lot": "LOT-T1", "qty": 4000, "from_org": "tesla", "to_org": "x"}
    world.ok("planner", "POST", "/diversions", {**body, "on": "2024-02-01"})
    assert world.ok("viewer", "GET", "/diversions/D-SAME/impact") == hypothetical


def test_a_receiver_only_caller_sees_only_its_targets(shared_world: World) -> None:
    # outsider (acme) may evaluate acme giving units to tesla: only acme's target is shown
    data = shared_world.ok("outsider", "GET", "/impact?divert=LOT-A1:500:acme:tesla&on=2024-02-01")
    assert [t["id"] for t in data["targets"]] == ["acme-h1"]
    [row] = data["targets"]
    assert row["held_at_by_before"] - row["held_at_by_after"] == 500


@pytest.mark.parametrize(
    ("query", "change"),
    [
        ("slip=LOT-T1:30&as_of=2023-12-01", "slip LOT-T1 by +30 days"),
        ("slip=LOT-T1:-3&as_of=2023-12-01", "slip LOT-T1 by -3 days"),
        (
            "new_order=tesla:nvidia:H100:1000&on=2024-02-01",
            "new order: tesla orders 1,000 H100 from nvidia on 2024-02-01",
        ),
        ("priority=tesla-h1:3&policy=priority", "set priority of tesla-h1 to 3"),
    ],
    ids=["slip", "slip-earlier", "new-order", "priority"],
)
def test_other_hypothetical_changes(shared_world: World, query: str, change: str) -> None:
    data = shared_world.ok("viewer", "GET", f"/impact?{query}")
    assert data["change"] == change
    assert {t["id"] for t in data["targets"]} == {"tesla-h1", "tesla-train-h2"}


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("", 422, "divert"),
        ("divert=LOT-T1:1:tesla:x&slip=LOT-T1:3&on=2024-02-01", 422, "slip"),
        ("divert=LOT-T1:1:tesla:x", 422, "on"),
        ("new_order=tesla:nvidia:H100:5", 422, "on"),
        ("slip=LOT-T1:3&payback=LOT-T1:1", 422, "payback"),
        ("divert=LOT-T1:1:tesla&on=2024-02-01", 422, "divert"),
        ("divert=LOT-T1:-1:tesla:x&on=2024-02-01", 422, "divert"),
        ("divert=LOT-T1:1:tesla:x&on=2024-02-01&payback=LOT-T1", 422, "payback.0"),
        ("divert=LOT-T1:1:tesla:x&on=0001-01-01", 422, "on"),
        ("slip=LOT-T1:3.5", 422, "slip"),
        ("priority=tesla-h1:0", 422, "priority"),
        ("divert=LOT-T1:1:tesla:x&on=2024-02-01&policy=fastest", 422, "policy"),
        ("divert=LOT-T1:12001:tesla:x&on=2024-02-01", 409, None),
        ("divert=NO-LOT:1:tesla:x&on=2024-02-01", 404, None),
        ("divert=LOT-T1:1:tesla:nowhere&on=2024-02-01", 404, None),
        ("divert=LOT-T1:1:tesla:tesla&on=2024-02-01&payback=LOT-A1:1", 409, None),
        ("slip=LOT-T1:3", 422, None),  # arrived before the books' today: it cannot slip
        ("new_order=tesla:amd:H100:5&on=2024-02-01", 404, None),
        ("priority=no-target:2", 404, None),
    ],
    ids=lambda v: str(v),
)
def test_bad_changes_answer_4xx_with_a_message(
    shared_world: World, query: str, status: int, field: str | None
) -> None:
    r = shared_world.call("root", "GET", f"/impact?{query}")
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"] and error["field"] == field


@pytest.mark.parametrize(
    ("user", "query"),
    [
        ("outsider", DIVERT),  # the giver's supply is tesla's
        ("xapprover", DIVERT),  # a receiver does not see the giver's lots
        ("outsider", "/impact?slip=LOT-T1:3&as_of=2023-12-01"),
        ("outsider", "/impact?new_order=tesla:nvidia:H100:5&on=2024-02-01"),
        ("outsider", "/impact?priority=tesla-h1:2"),
        ("viewer", "/impact?priority=acme-h1:2"),
    ],
    ids=str,
)
def test_a_change_on_an_org_the_caller_cannot_see_is_404(
    shared_world: World, user: str, query: str
) -> None:
    r = shared_world.call(user, "GET", query)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


# --------------------------------------------------------------------------- forecast and claims


def test_forecast_shows_only_the_callers_targets(shared_world: World) -> None:
    tesla = shared_world.ok("viewer", "GET", "/forecast?samples=50&seed=3")
    assert (tesla["samples"], tesla["seed"], tesla["policy"]) == (50, 3, "consigned")
    assert {t["id"] for t in tesla["targets"]} == {"tesla-h1", "tesla-train-h2"}
    acme = shared_world.ok("outsider", "GET", "/forecast?samples=50&seed=3")
    [row] = acme["targets"]
    # hand check: acme's 1,000 units of LOT-A1 arrived 2023-12-15 (its target's day of
    # completion in every sample: no open supply, no failure rate), before 2024-06-30
    assert row["id"] == "acme-h1" and row["on_time_probability"] == 1.0
    assert row["p10"] == row["p50"] == row["p90"] == "2023-12-15"
    assert shared_world.ok("nobody", "GET", "/forecast")["targets"] == []


def test_forecast_of_one_org(shared_world: World) -> None:
    data = shared_world.ok("root", "GET", "/forecast?samples=20&org=acme")
    assert [t["id"] for t in data["targets"]] == ["acme-h1"]
    r = shared_world.call("viewer", "GET", "/forecast?samples=20&org=acme")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_the_same_seed_gives_the_same_forecast(shared_world: World) -> None:
    query = "/forecast?samples=300&seed=11&policy=consigned"
    assert shared_world.ok("root", "GET", query) == shared_world.ok("root", "GET", query)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("samples=0", "samples"),
        ("samples=20001", "samples"),
        ("seed=-1", "seed"),
        ("policy=fastest", "policy"),
        ("as_of=3000-01-01", "as_of"),
    ],
    ids=str,
)
def test_forecast_refuses_bad_parameters(shared_world: World, query: str, field: str) -> None:
    r = shared_world.call("root", "GET", f"/forecast?{query}")
    assert r.status_code == 422 and r.json()["error"]["field"] == field


def test_claims_show_only_the_callers_orgs(shared_world: World) -> None:
    acme = shared_world.ok("outsider", "GET", "/claims")["claims"]
    # hand check: acme says 5,000 but holds the 1,000 of LOT-A1: 4,000 short, overstated
    assert [(c["id"], c["books_now"], c["gap"], c["overstated"]) for c in acme] == [
        ("acme-5k-now", 1000, 4000, True)
    ]
    tesla = {c["id"]: c for c in shared_world.ok("viewer", "GET", "/claims?samples=50")["claims"]}
    assert set(tesla) == {"tesla-12k-now", "tesla-20k-eoy"}
    assert tesla["tesla-12k-now"]["gap"] == 0 and tesla["tesla-12k-now"]["overstated"] is False
    assert tesla["tesla-20k-eoy"]["forecast_p50"] is not None
    assert shared_world.ok("nobody", "GET", "/claims")["claims"] == []
    assert shared_world.call("viewer", "GET", "/claims?org=acme").status_code == 404
    assert [c["id"] for c in shared_world.ok("root", "GET", "/claims?org=acme")["claims"]] == [
        "acme-5k-now"
    ]


def test_the_same_deploy_from_the_file_and_the_api_is_one_movement(world: World) -> None:
    # the deploy imported from a scenario file, then typed as a request without an id
    deploy = (
        "  - {op: deploy, qty: 400, on: 2024-01-20, org: tesla, lot: LOT-T1, cluster: tesla-train}"
    )
    text = FLEET.read_text() + "events:\n" + deploy + "\n"
    world.ok("root", "POST", "/scenario", {"yaml": text, "filename": "fleet.yaml"})

    def deployed() -> int:
        rows = world.ok("root", "GET", "/balances?limit=1000")["balances"]
        return sum(r["posted"] for r in rows if r["owner"] == "cluster:tesla-train")

    assert deployed() == 400
    body = {
        "qty": 400,
        "on": "2024-01-20",
        "org": "tesla",
        "cluster": "tesla-train",
        "lot": "LOT-T1",
    }
    world.ok("planner", "POST", "/movements/deploy", body)
    assert deployed() == 400  # not 800: one movement
    world.ok("planner", "POST", "/movements/deploy", {**body, "on": "2024-01-21"})
    assert deployed() == 800
