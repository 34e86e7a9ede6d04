"""A decision on a decided diversion is refused to whoever could not have taken it (issue 10, 13).

Repeating the outcome stays a no-op (200) for someone with standing; a viewer,
a planner of a side or anyone with no approval role gets 403; a caller who sees
neither side gets 404.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import World

DIVERSION = {"lot": "LOT-T1", "qty": 5, "from_org": "tesla", "to_org": "x", "on": "2024-02-01"}


def posted(world: World, ident: str) -> str:
    """A tesla -> x diversion proposed by the planner and approved by all three."""
    world.ok("planner", "POST", "/diversions", {"id": ident, **DIVERSION})
    for user in ("approver", "xapprover", "auditor"):
        world.ok(user, "POST", f"/diversions/{ident}/approve")
    assert world.ok("root", "GET", f"/diversions/{ident}")["status"] == "posted"
    return ident


def voided(world: World, ident: str) -> str:
    world.ok("planner", "POST", "/diversions", {"id": ident, **DIVERSION})
    world.ok("planner", "POST", f"/diversions/{ident}/void")
    return ident


@pytest.mark.parametrize(
    ("user", "decision", "status"),
    [
        ("viewer", "approve", 403),
        ("viewer", "reject", 403),
        ("viewer", "void", 403),
        ("xplanner", "approve", 403),  # a planner of the receiver approves nothing
        ("outsider", "approve", 404),  # sees neither side
        ("approver", "approve", 200),  # approved it: a repeat is a no-op
        ("xapprover", "approve", 200),
    ],
)
def test_a_decision_on_a_posted_diversion_needs_standing(
    world: World, user: str, decision: str, status: int
) -> None:
    ident = posted(world, f"D-P-{user}-{decision}")
    before = world.app.state.backend.ledger.event_count()
    r = world.call(user, "POST", f"/diversions/{ident}/{decision}")
    assert r.status_code == status, r.text
    assert world.app.state.backend.ledger.event_count() == before
    assert world.ok("root", "GET", f"/diversions/{ident}")["status"] == "posted"


@pytest.mark.parametrize(("user", "status"), [("viewer", 403), ("planner", 200), ("admin", 200)])
def test_a_void_of_a_voided_diversion_needs_standing(world: World, user: str, status: int) -> None:
    ident = voided(world, f"D-V-{user}")
    r = world.call(user, "POST", f"/diversions/{ident}/void")
    assert r.status_code == status, r.text
