"""Diversions through the API: the approval rules end to end, events with their actors."""

from __future__ import annotations

from typing import Any

import pytest

from gpuledger.domain import OrgRole
from tests.api.conftest import World


def propose(world: World, user: str, ident: str, to: str, qty: int = 100) -> dict[str, Any]:
    body = {
        "id": ident,
        "lot": "LOT-T1",
        "qty": qty,
        "from_org": "tesla",
        "to_org": to,
        "on": "2024-02-01",
        "reason": "test",
    }
    result: dict[str, Any] = world.ok(user, "POST", "/diversions", body)
    return result


def decide(world: World, user: str, ident: str, decision: str = "approve") -> Any:
    return world.call(user, "POST", f"/diversions/{ident}/{decision}")


def tesla_stock(world: World) -> tuple[int, int]:
    rows = world.ok("root", "GET", "/balances")["balances"]
    [row] = [r for r in rows if r["owner"] == "org:tesla" and r["bucket"] == "stock"]
    return row["posted"], row["pending"]


def test_a_proposal_reserves_units_and_records_the_caller_as_proposer(world: World) -> None:
    view = propose(world, "planner", "D1", "x", qty=500)
    assert view["status"] == "pending"
    assert view["diversion"]["proposed_by"] == "planner"
    assert view["approvals"]["missing"] == ["giver-approver", "receiver-approver", "auditor"]
    assert [(d["decision"], d["actor"]) for d in view["decisions"]] == [("propose", "planner")]
    assert tesla_stock(world) == (12000, -500)


def test_rejection_voids_and_releases_the_units(world: World) -> None:
    propose(world, "planner", "D1", "x", qty=500)
    r = decide(world, "xapprover", "D1", "reject")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "voided"
    assert tesla_stock(world) == (12000, 0)
    assert [d["actor"] for d in r.json()["decisions"]] == ["planner", "xapprover"]
    again = decide(world, "approver", "D1")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_the_proposer_cannot_approve(world: World) -> None:
    propose(world, "approver", "D1", "x")
    r = decide(world, "approver", "D1")
    assert r.status_code == 403 and "proposed" in r.json()["error"]["message"]
    assert world.ok("root", "GET", "/diversions/D1")["status"] == "pending"


def test_one_person_cannot_approve_both_sides(world: World) -> None:
    world.gov.add_user("both", actor="setup")
    world.gov.grant("both", OrgRole.APPROVER, org="tesla", actor="setup")
    world.gov.grant("both", OrgRole.APPROVER, org="x", actor="setup")
    world.tokens["both"] = world.gov.create_token("both", actor="setup").token
    propose(world, "planner", "D1", "x")
    first = decide(world, "both", "D1")
    assert first.status_code == 200, first.text
    assert len(first.json()["approvals"]["filled"]) == 1
    second = decide(world, "both", "D1")
    assert second.status_code == 403 and "already approved" in second.json()["error"]["message"]
    assert world.ok("root", "GET", "/diversions/D1")["status"] == "pending"


def test_between_related_parties_two_approvers_without_an_auditor_do_not_post(
    world: World,
) -> None:
    propose(world, "planner", "D1", "x", qty=300)
    assert decide(world, "approver", "D1").status_code == 200
    r = decide(world, "xapprover", "D1")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "pending"
    assert view["approvals"]["missing"] == ["auditor"]
    assert tesla_stock(world) == (12000, -300)


def test_related_parties_post_with_both_approvers_and_the_auditor(world: World) -> None:
    propose(world, "planner", "D1", "x", qty=300)
    for user in ("approver", "auditor", "xapprover"):
        r = decide(world, user, "D1")
        assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "posted", view["approvals"]
    assert [(d["decision"], d["actor"]) for d in view["decisions"]] == [
        ("propose", "planner"),
        ("approve", "approver"),
        ("approve", "auditor"),
        ("approve", "xapprover"),
    ]
    assert tesla_stock(world) == (11700, 0)
    assert world.ok("root", "GET", "/audit/verify")["ok"] is True


@pytest.mark.parametrize("order", [("approver", "outsider"), ("outsider", "approver")], ids=str)
def test_unrelated_orgs_post_with_one_approver_of_each_side(
    world: World, order: tuple[str, str]
) -> None:
    propose(world, "planner", "D1", "acme", qty=200)
    first = decide(world, order[0], "D1")
    assert first.status_code == 200 and first.json()["status"] == "pending"
    second = decide(world, order[1], "D1")
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "posted"
    assert tesla_stock(world) == (11800, 0)


def test_a_write_decides_on_the_directory_its_token_check_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's grants were read with their token, in the same request: reading
    them again is a transaction more per write (issue 16), and the rules that count
    are applied under the write lock anyway."""
    from gpuledger.governance.store import Governance

    asked: list[str] = []
    real = Governance.directory

    def counted(self: Governance, *args: Any, **kwargs: Any) -> Any:
        asked.append("directory")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Governance, "directory", counted)
    view = propose(world, "planner", "D1", "x", qty=500)
    assert view["approvals"]["missing"] == ["giver-approver", "receiver-approver", "auditor"]
    r = decide(world, "xapprover", "D1", "reject")
    assert r.status_code == 200 and r.json()["status"] == "voided"
    assert asked == []
