"""The authorization matrix: every role against every endpoint, allowed and refused.

Rows are endpoints acting on org ``tesla`` (group ``musk``, with ``x``); columns
are the users of conftest.ROLES. 200 means allowed; 403 seen but not allowed;
404 not visible (an org the caller cannot see answers 404, never 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import ROLES, World

Request = tuple[str, str, Any]
Setup = Callable[[World, str], Request]

USERS = [u for u in ROLES]
SEES_TESLA = {"viewer", "planner", "approver", "admin", "groupadmin", "auditor", "root"}
PLANS_TESLA = {"planner", "approver", "admin", "groupadmin", "root"}


def expect(allowed: set[str], hidden_from: set[str] | None = None) -> dict[str, int]:
    """200 for ``allowed``; 404 for users who do not see tesla; 403 for the rest."""
    hidden = (set(USERS) - SEES_TESLA) if hidden_from is None else hidden_from
    return {u: 200 if u in allowed else 404 if u in hidden else 403 for u in USERS}


def pending(world: World, tag: str) -> str:
    """A fresh pending diversion tesla -> x proposed by the planner."""
    world.ok(
        "planner",
        "POST",
        "/diversions",
        {
            "id": f"D-{tag}",
            "lot": "LOT-T1",
            "qty": 1,
            "from_org": "tesla",
            "to_org": "x",
            "on": "2024-02-01",
        },
    )
    return f"D-{tag}"


def ship_lot(world: World, tag: str) -> str:
    world.ok(
        "root",
        "POST",
        "/lots",
        {
            "id": f"L-{tag}",
            "order": "PO-T",
            "qty": 5,
            "ships_on": "2024-01-20",
            "arrives_on": "2024-01-30",
            "consignee": "tesla",
        },
    )
    return f"L-{tag}"


ENDPOINTS: dict[str, tuple[Setup, dict[str, int]]] = {
    "GET whoami": (lambda w, u: ("GET", "/whoami", None), dict.fromkeys(USERS, 200)),
    "GET balances": (lambda w, u: ("GET", "/balances", None), dict.fromkeys(USERS, 200)),
    "GET trace": (
        lambda w, u: ("GET", "/lots/LOT-T1/trace", None),
        expect(SEES_TESLA),
    ),
    "GET diversion": (
        lambda w, u: ("GET", f"/diversions/{pending(w, 'get-' + u)}", None),
        expect(SEES_TESLA | {"xapprover"}, hidden_from={"outsider", "nobody"}),
    ),
    "GET diversions": (lambda w, u: ("GET", "/diversions", None), dict.fromkeys(USERS, 200)),
    "GET plan": (lambda w, u: ("GET", "/plan", None), dict.fromkeys(USERS, 200)),
    "GET impact": (
        lambda w, u: ("GET", f"/diversions/{pending(w, 'imp-' + u)}/impact", None),
        expect(SEES_TESLA | {"xapprover"}, hidden_from={"outsider", "nobody"}),
    ),
    "GET impact of a change": (
        lambda w, u: ("GET", "/impact?divert=LOT-T1:1:tesla:x&on=2024-02-01", None),
        # the giver's lots are tesla's: a receiver-only caller (xapprover) does not see them
        expect(SEES_TESLA),
    ),
    "GET impact of a new order": (
        lambda w, u: ("GET", "/impact?new_order=tesla:nvidia:H100:10&on=2024-02-01", None),
        expect(SEES_TESLA),
    ),
    "GET forecast": (lambda w, u: ("GET", "/forecast?samples=20", None), dict.fromkeys(USERS, 200)),
    "GET forecast of tesla": (
        lambda w, u: ("GET", "/forecast?samples=20&org=tesla", None),
        expect(SEES_TESLA),
    ),
    "GET claims": (lambda w, u: ("GET", "/claims?samples=20", None), dict.fromkeys(USERS, 200)),
    "GET claims of tesla": (
        lambda w, u: ("GET", "/claims?samples=20&org=tesla", None),
        expect(SEES_TESLA),
    ),
    "GET export": (
        lambda w, u: ("GET", "/scenario", None),
        {u: 200 if u == "root" else 403 for u in USERS},
    ),
    "GET audit": (
        lambda w, u: ("GET", "/audit/verify", None),
        {u: 403 if u == "nobody" else 200 for u in USERS},
    ),
    "POST import": (
        lambda w, u: ("POST", "/scenario", {"yaml": _fleet()}),
        {u: 200 if u == "root" else 403 for u in USERS},
    ),
    "POST order": (
        lambda w, u: (
            "POST",
            "/orders",
            {
                "id": f"PO-{u}",
                "org": "tesla",
                "vendor": "nvidia",
                "sku": "H100",
                "qty": 10,
                "ordered_on": "2024-01-15",
            },
        ),
        expect(PLANS_TESLA),
    ),
    "POST ship": (
        lambda w, u: (
            "POST",
            "/lots",
            {
                "id": f"LS-{u}",
                "order": "PO-T",
                "qty": 3,
                "ships_on": "2024-01-20",
                "arrives_on": "2024-01-30",
                "consignee": "tesla",
            },
        ),
        expect(PLANS_TESLA),
    ),
    "POST receive": (
        lambda w, u: ("POST", f"/lots/{ship_lot(w, 'r-' + u)}/receive", {"on": "2024-01-30"}),
        expect(PLANS_TESLA),
    ),
    "POST deploy": (
        lambda w, u: (
            "POST",
            "/movements/deploy",
            {
                "id": f"DEP-{u}",
                "qty": 1,
                "on": "2024-01-31",
                "org": "tesla",
                "cluster": "tesla-train",
                "lot": "LOT-T1",
            },
        ),
        expect(PLANS_TESLA),
    ),
    "POST propose": (
        lambda w, u: (
            "POST",
            "/diversions",
            {
                "id": f"P-{u}",
                "lot": "LOT-T1",
                "qty": 1,
                "from_org": "tesla",
                "to_org": "x",
                "on": "2024-02-01",
            },
        ),
        # only a planner of the giving org reserves its units: xapprover plans in x only
        expect(PLANS_TESLA, hidden_from={"outsider", "nobody", "xapprover"}),
    ),
    "POST approve": (
        lambda w, u: ("POST", f"/diversions/{pending(w, 'a-' + u)}/approve", None),
        # approvers of either side and the group's auditor; the planner proposed it
        expect(
            {"approver", "admin", "groupadmin", "xapprover", "auditor", "root"},
            hidden_from={"outsider", "nobody"},
        ),
    ),
    "POST reject": (
        lambda w, u: ("POST", f"/diversions/{pending(w, 'r-' + u)}/reject", None),
        expect(
            {"approver", "admin", "groupadmin", "xapprover", "auditor", "root"},
            hidden_from={"outsider", "nobody"},
        ),
    ),
    "POST void": (
        lambda w, u: ("POST", f"/diversions/{pending(w, 'v-' + u)}/void", None),
        # the proposer (planner) or an admin of the giving org
        expect({"planner", "admin", "groupadmin", "root"}, hidden_from={"outsider", "nobody"}),
    ),
}


def _fleet() -> str:
    from tests.api.conftest import FLEET

    return FLEET.read_text()


CASES = [
    pytest.param(name, user, status, id=f"{name}-{user}-{status}")
    for name, (_, table) in ENDPOINTS.items()
    for user, status in table.items()
]


@pytest.mark.parametrize(("endpoint", "user", "status"), CASES)
def test_authorization_matrix(shared_world: World, endpoint: str, user: str, status: int) -> None:
    setup, _ = ENDPOINTS[endpoint]
    method, path, body = setup(shared_world, user)
    r = shared_world.call(user, method, path, body)
    assert r.status_code == status, r.text
    if status != 200:
        error = r.json()["error"]
        assert error["code"] in {"permission_denied", "not_found"} and error["message"]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS), ids=str)
def test_every_endpoint_refuses_a_missing_token(shared_world: World, endpoint: str) -> None:
    setup, _ = ENDPOINTS[endpoint]
    method, path, body = setup(shared_world, "root")
    r = shared_world.call(None, method, path, body)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_token_is_refused(world: World) -> None:
    assert world.call("viewer", "GET", "/whoami").status_code == 200
    token_id = world.tokens["viewer"].split("_")[1]
    world.gov.revoke_token(token_id, actor="setup")
    r = world.call("viewer", "GET", "/whoami")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_balances_show_only_the_callers_orgs(shared_world: World) -> None:
    owners = {b["owner"] for b in shared_world.ok("outsider", "GET", "/balances")["balances"]}
    assert owners and all(o.endswith("acme") or o == "cluster:acme-train" for o in owners)
    owners = {b["owner"] for b in shared_world.ok("viewer", "GET", "/balances")["balances"]}
    assert "org:tesla" in owners and not any("acme" in o for o in owners)
    assert shared_world.ok("nobody", "GET", "/balances")["balances"] == []
    # vendors' world accounts sum over every org: only who sees every org gets them
    owners = {b["owner"] for b in shared_world.ok("root", "GET", "/balances")["balances"]}
    assert "vendor:nvidia" in owners
    assert not any(
        o.startswith("vendor:")
        for user in ("groupadmin", "outsider")
        for o in (b["owner"] for b in shared_world.ok(user, "GET", "/balances")["balances"])
    )
