"""The approval and visibility rules, hand-checked case by case."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.domain import Decision, Diversion, GroupRole, OrgRole, PermissionDenied
from gpuledger.governance.rules import (
    Action,
    Directory,
    Grant,
    Requirement,
    approval_state,
    check_decision,
    check_proposal,
    required_approvals,
)

GROUPS = {"tesla": "musk", "x": "musk", "xai": "musk", "acme": None, "globex": None}
GRANTS = (
    Grant("pat", OrgRole.PLANNER, "tesla"),  # proposer
    Grant("tina", OrgRole.APPROVER, "tesla"),
    Grant("xavier", OrgRole.APPROVER, "x"),
    Grant("both", OrgRole.APPROVER, "tesla"),
    Grant("both", OrgRole.APPROVER, "x"),
    Grant("audrey", GroupRole.AUDITOR, "musk"),
    Grant("gadmin", GroupRole.GROUP_ADMIN, "musk"),
    Grant("viv", OrgRole.VIEWER, "tesla"),
    Grant("ann", OrgRole.APPROVER, "acme"),
    Grant("gus", OrgRole.APPROVER, "globex"),
    Grant("pam", OrgRole.PLANNER, "acme"),
    Grant("adam", OrgRole.ADMIN, "tesla"),
)
DIRECTORY = Directory(GROUPS, GRANTS)


def diversion(frm: str = "tesla", to: str = "x", by: str = "pat") -> Diversion:
    return Diversion("D1", "LOT-1", 100, frm, to, date(2023, 12, 10), proposed_by=by)


# --------------------------------------------------------------------------- visibility


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("pat", {"tesla"}),
        ("both", {"tesla", "x"}),
        ("audrey", {"tesla", "x", "xai"}),  # a group role covers the group's orgs
        ("gadmin", {"tesla", "x", "xai"}),
        ("ann", {"acme"}),
        ("nobody", set()),
    ],
    ids=[
        "org-role",
        "two-orgs",
        "auditor-covers-group",
        "group-admin-covers-group",
        "other",
        "none",
    ],
)
def test_a_user_sees_only_orgs_where_they_hold_a_role(user: str, visible: set[str]) -> None:
    assert DIRECTORY.access(user).visible_orgs() == visible


@pytest.mark.parametrize(
    ("user", "action", "org", "allowed"),
    [
        ("viv", Action.VIEW, "tesla", True),
        ("viv", Action.WRITE, "tesla", False),
        ("pat", Action.WRITE, "tesla", True),
        ("pat", Action.APPROVE, "tesla", False),
        ("tina", Action.WRITE, "tesla", True),  # the ladder: approver includes planner
        ("adam", Action.APPROVE, "tesla", True),
        ("tina", Action.ADMINISTER, "tesla", False),
        ("gadmin", Action.ADMINISTER, "xai", True),
        ("audrey", Action.VIEW, "x", True),
        ("audrey", Action.WRITE, "x", False),  # auditors see but do not plan
        ("pat", Action.VIEW, "x", False),
    ],
    ids=lambda v: str(v),
)
def test_the_role_ladder(user: str, action: Action, org: str, allowed: bool) -> None:
    assert DIRECTORY.access(user).may(action, org) is allowed


# --------------------------------------------------------------------------- requirements


@pytest.mark.parametrize(
    ("frm", "to", "needs"),
    [
        ("tesla", "tesla", (Requirement.PLANNER,)),
        ("acme", "globex", (Requirement.GIVER_APPROVER, Requirement.RECEIVER_APPROVER)),
        (
            "tesla",
            "x",
            (Requirement.GIVER_APPROVER, Requirement.RECEIVER_APPROVER, Requirement.AUDITOR),
        ),
        ("tesla", "acme", (Requirement.GIVER_APPROVER, Requirement.RECEIVER_APPROVER)),
    ],
    ids=["inside-one-org", "unrelated-orgs", "related-parties", "group-to-outsider"],
)
def test_required_approvals(frm: str, to: str, needs: tuple[Requirement, ...]) -> None:
    assert required_approvals(diversion(frm, to), GROUPS) == needs


@pytest.mark.parametrize(
    ("frm", "to", "approvers", "complete", "missing"),
    [
        ("acme", "globex", ["ann", "gus"], True, ()),
        ("acme", "globex", ["ann"], False, (Requirement.RECEIVER_APPROVER,)),
        ("acme", "globex", ["gus", "ann"], True, ()),  # order does not matter
        ("acme", "globex", ["ann", "ann"], False, (Requirement.RECEIVER_APPROVER,)),
        ("tesla", "x", ["tina", "xavier"], False, (Requirement.AUDITOR,)),  # no auditor, no post
        ("tesla", "x", ["tina", "xavier", "audrey"], True, ()),
        # one person cannot approve both sides: "both" fills one, the other is missing
        ("tesla", "x", ["both", "audrey"], False, (Requirement.RECEIVER_APPROVER,)),
        ("tesla", "x", ["both", "tina", "audrey"], True, ()),  # both -> receiver, tina -> giver
        ("tesla", "x", ["pat", "xavier", "audrey"], False, (Requirement.GIVER_APPROVER,)),
        ("tesla", "x", ["stranger", "xavier", "audrey"], False, (Requirement.GIVER_APPROVER,)),
        ("tesla", "tesla", ["pat"], True, ()),  # inside one org the proposer may post it
        ("tesla", "tesla", ["viv"], False, (Requirement.PLANNER,)),
    ],
    ids=[
        "two-sides",
        "one-side-only",
        "any-order",
        "same-person-twice",
        "related-without-auditor",
        "related-with-auditor",
        "one-person-both-sides",
        "matching-reassigns",
        "proposer-cannot-approve",
        "unknown-user",
        "inside-org-planner",
        "inside-org-viewer",
    ],
)
def test_approval_state(
    frm: str, to: str, approvers: list[str], complete: bool, missing: tuple[Requirement, ...]
) -> None:
    state = approval_state(diversion(frm, to, by="pat"), approvers, DIRECTORY)
    assert state.complete is complete
    assert state.missing == missing
    people = [who for _, who in state.filled]
    assert len(people) == len(set(people)), "one person filled two requirements"
    assert "pat" not in people or frm == to


def test_proposer_of_the_receiving_side_cannot_approve_it() -> None:
    d = diversion("acme", "globex", by="gus")
    assert approval_state(d, ["ann", "gus"], DIRECTORY).missing == (Requirement.RECEIVER_APPROVER,)


# --------------------------------------------------------------------------- checks


def test_a_viewer_may_not_propose() -> None:
    with pytest.raises(PermissionDenied, match="planner role"):
        check_proposal(DIRECTORY.access("viv"), diversion())


def test_a_planner_of_the_receiving_side_may_not_reserve_the_givers_units() -> None:
    with pytest.raises(PermissionDenied, match="planner role there"):
        check_proposal(DIRECTORY.access("pam"), diversion("globex", "acme", by="pam"))


@pytest.mark.parametrize(
    ("user", "decision", "prior", "message"),
    [
        ("pat", Decision.APPROVE, [], "needs one of"),  # a planner is no approver
        ("tina", Decision.APPROVE, ["tina"], "already approved"),
        ("both", Decision.APPROVE, ["tina", "xavier"], "cannot fill"),
        ("viv", Decision.REJECT, [], "needs one of"),
        ("xavier", Decision.VOID, [], "only its proposer"),
    ],
    ids=["planner-approves", "twice", "nothing-left-to-fill", "viewer-rejects", "other-voids"],
)
def test_refused_decisions(user: str, decision: Decision, prior: list[str], message: str) -> None:
    with pytest.raises(PermissionDenied, match=message):
        check_decision(DIRECTORY.access(user), diversion(), decision, prior, DIRECTORY)


def test_the_proposer_who_is_also_an_approver_may_not_approve() -> None:
    d = diversion(by="tina")
    with pytest.raises(PermissionDenied, match="proposed"):
        check_decision(DIRECTORY.access("tina"), d, Decision.APPROVE, [], DIRECTORY)


@pytest.mark.parametrize(
    ("user", "decision"),
    [
        ("tina", Decision.APPROVE),
        ("audrey", Decision.APPROVE),
        ("xavier", Decision.REJECT),
        ("audrey", Decision.REJECT),
        ("pat", Decision.VOID),  # the proposer withdraws
        ("adam", Decision.VOID),  # an admin of the giving org
    ],
    ids=lambda v: str(v),
)
def test_allowed_decisions(user: str, decision: Decision) -> None:
    check_decision(DIRECTORY.access(user), diversion(), decision, [], DIRECTORY)


def test_a_group_role_grant_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="names no org or group"):
        Grant("u", GroupRole.AUDITOR, "")
