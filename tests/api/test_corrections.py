"""``POST /transfers/{id}/reverse``: a planner reverses; balances return; the chain holds."""

from __future__ import annotations

import pytest

from tests.api.conftest import World

RECEIPT = "receive:LOT-T1:org:tesla"


def held(world: World) -> dict[tuple[str, str], int]:
    rows = world.ok("root", "GET", "/balances?limit=1000")["balances"]
    return {(b["owner"], b["bucket"]): b["posted"] for b in rows}


def test_a_planner_reverses_a_receipt(world: World) -> None:
    before = held(world)
    done = world.ok("planner", "POST", f"/transfers/{RECEIPT}/reverse", {"reason": "not here"})
    assert done["transfer"] == RECEIPT and done["reversal"] == f"reverse:{RECEIPT}"
    after = held(world)
    assert after[("org:tesla", "in_transit")] == before.get(("org:tesla", "in_transit"), 0) + 12000
    assert after.get(("org:tesla", "stock"), 0) == before[("org:tesla", "stock")] - 12000
    assert world.ok("root", "GET", "/audit/verify")["ok"] is True
    lots = world.ok("root", "GET", "/lots?status=in_transit")["items"]
    assert [r["id"] for r in lots] == ["LOT-T1"]


@pytest.mark.parametrize(
    ("user", "status", "code"),
    [("viewer", 403, "permission_denied"), ("outsider", 404, "not_found")],
)
def test_others_may_not_reverse(world: World, user: str, status: int, code: str) -> None:
    before = held(world)
    r = world.call(user, "POST", f"/transfers/{RECEIPT}/reverse", {"reason": "x"})
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert held(world) == before


def test_an_unknown_transfer_is_404(world: World) -> None:
    r = world.call("root", "POST", "/transfers/nothing/reverse", {"reason": "x"})
    assert r.status_code == 404, r.text
