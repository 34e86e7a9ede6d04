"""Who may see and do what, and when a diversion's approvals are complete: pure rules.

One module, depending on ``gpuledger.domain`` only, that every interface (CLI, API,
web) and the approval policy given to the ledger (``governance.approvals``) call.
Nothing here reads a database: callers hand in a :class:`Directory` (every live
grant and each org's group).

Roles per org form a ladder (viewer < planner < approver < admin; each includes
the ones below). Group roles cover every org of the group: ``group-admin`` acts as
admin there, ``auditor`` sees (viewer) and signs off transfers between related
parties, but cannot plan or approve a side. ``books-admin`` is the one role over
the records every org shares (SKUs, vendors, groups, the scenario parameters);
it grants no role in any org.

Approvals (DESIGN section 8):

1. inside one org: one planner (or higher) of the org; the proposer may be that planner;
2. between orgs: an approver of the giving org and an approver of the receiving
   org, two distinct people, neither the proposer;
3. between related parties (same group): also an auditor of the group, a third
   person, not the proposer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from gpuledger.domain import (
    BooksRole,
    Decision,
    Diversion,
    GroupRole,
    OrgRole,
    PermissionDenied,
)

#: The scope of a books-wide role (``BooksRole``): the whole books.
BOOKS = "*"

#: The org-role ladder: a role includes every role before it.
LADDER: tuple[OrgRole, ...] = (OrgRole.VIEWER, OrgRole.PLANNER, OrgRole.APPROVER, OrgRole.ADMIN)


def rank(role: OrgRole) -> int:
    """Position of ``role`` on the ladder (viewer 0 ... admin 3)."""
    return LADDER.index(role)


class Action(StrEnum):
    """What a request does to an org, and the least org role it needs."""

    VIEW = "view"  # read balances, plans, diversions...
    WRITE = "write"  # ledger verbs, proposing a diversion
    APPROVE = "approve"  # approve or reject a diversion as one side
    ADMINISTER = "administer"  # import scenarios, manage the org's records


NEEDS: dict[Action, OrgRole] = {
    Action.VIEW: OrgRole.VIEWER,
    Action.WRITE: OrgRole.PLANNER,
    Action.APPROVE: OrgRole.APPROVER,
    Action.ADMINISTER: OrgRole.ADMIN,
}


class Requirement(StrEnum):
    """One approval a diversion needs before it posts."""

    PLANNER = "planner"  # inside one org
    GIVER_APPROVER = "giver-approver"
    RECEIVER_APPROVER = "receiver-approver"
    AUDITOR = "auditor"  # related parties only


@dataclass(frozen=True, order=True)
class Grant:
    """A role held by a user over one org (org roles) or one group (group roles)."""

    user: str
    role: OrgRole | GroupRole | BooksRole
    scope: str  # the org id for an OrgRole, the group id for a GroupRole, BOOKS for a BooksRole

    def __post_init__(self) -> None:
        if not self.scope:
            raise ValueError(f"grant of {self.role} to {self.user!r} names no org or group")


@dataclass(frozen=True)
class Access:
    """What one user may do, resolved against the orgs' groups.

    ``org_roles`` holds the highest org role per org (group-admin counts as admin
    in every org of the group, auditor as viewer); ``auditor_of`` the orgs whose
    group the user audits; ``group_admin_of`` the groups the user administers
    (even before any org is in them); ``books_admin`` the books-wide role.
    """

    user: str
    org_roles: Mapping[str, OrgRole] = field(default_factory=dict)
    auditor_of: frozenset[str] = frozenset()
    group_admin_of: frozenset[str] = frozenset()
    books_admin: bool = False

    def may_import(self) -> bool:
        """True when the user holds a role that can import anything at all.

        Checked before an uploaded scenario is even parsed: admin of some org,
        group-admin of some group, or books-admin. What the file may touch is
        decided per record by :func:`check_import`.
        """
        return (
            self.books_admin
            or bool(self.group_admin_of)
            or any(r is OrgRole.ADMIN for r in self.org_roles.values())
        )

    def require_import(self) -> None:
        """Raise :class:`PermissionDenied` unless :meth:`may_import`."""
        if not self.may_import():
            raise PermissionDenied(
                f"user {self.user!r} may not import scenarios: it needs the admin role in an "
                "org, group-admin of a group or books-admin"
            )

    def sees(self, org: str) -> bool:
        """True when the user holds any role covering ``org``."""
        return org in self.org_roles

    def visible_orgs(self) -> frozenset[str]:
        """Every org the user may see."""
        return frozenset(self.org_roles)

    def has(self, org: str, role: OrgRole) -> bool:
        """True when the user holds ``role`` or a higher one in ``org``."""
        held = self.org_roles.get(org)
        return held is not None and rank(held) >= rank(role)

    def may(self, action: Action, org: str) -> bool:
        """True when the user may do ``action`` to ``org``."""
        return self.has(org, NEEDS[action])

    def require(self, action: Action, org: str) -> None:
        """Raise :class:`PermissionDenied` unless the user may do ``action`` to ``org``."""
        if not self.may(action, org):
            raise PermissionDenied(
                f"user {self.user!r} may not {action.value} org {org!r}: "
                f"it needs the {NEEDS[action].value} role there"
            )


@dataclass(frozen=True)
class Directory:
    """Every live grant and each org's group: all the rules need to know."""

    org_groups: Mapping[str, str | None]
    grants: tuple[Grant, ...] = ()

    def access(self, user: str) -> Access:
        """Resolve ``user``'s grants into an :class:`Access` (no grant: sees nothing)."""
        return resolve(user, (g for g in self.grants if g.user == user), self.org_groups)

    def group_of(self, org: str) -> str | None:
        """The org's group, None when it has none or is unknown."""
        return self.org_groups.get(org)


def resolve(user: str, grants: Iterable[Grant], org_groups: Mapping[str, str | None]) -> Access:
    """Expand a user's grants: group roles cover the group's orgs, the ladder keeps the highest.

    Grants naming an org or group that the directory does not know still count for
    org roles (an admin may be named before the org is imported); a group role
    covers only orgs known to belong to the group.
    """
    best: dict[str, OrgRole] = {}
    auditor_of: set[str] = set()
    group_admin_of: set[str] = set()
    books_admin = False

    def lift(org: str, role: OrgRole) -> None:
        if org not in best or rank(role) > rank(best[org]):
            best[org] = role

    for g in grants:
        if isinstance(g.role, OrgRole):
            lift(g.scope, g.role)
            continue
        if isinstance(g.role, BooksRole):
            books_admin = True
            continue
        if g.role is GroupRole.GROUP_ADMIN:
            group_admin_of.add(g.scope)
        members = [org for org, group in org_groups.items() if group == g.scope]
        for org in members:
            if g.role is GroupRole.GROUP_ADMIN:
                lift(org, OrgRole.ADMIN)
            else:
                lift(org, OrgRole.VIEWER)
                auditor_of.add(org)
    return Access(
        user,
        dict(sorted(best.items())),
        frozenset(auditor_of),
        frozenset(group_admin_of),
        books_admin,
    )


# --------------------------------------------------------------------------- approvals


def related(diversion: Diversion, org_groups: Mapping[str, str | None]) -> bool:
    """True when giver and receiver are distinct orgs of the same group."""
    giver, receiver = org_groups.get(diversion.from_org), org_groups.get(diversion.to_org)
    return diversion.from_org != diversion.to_org and giver is not None and giver == receiver


def required_approvals(
    diversion: Diversion, org_groups: Mapping[str, str | None]
) -> tuple[Requirement, ...]:
    """The approvals a diversion needs, in the order they are reported."""
    if diversion.from_org == diversion.to_org:
        return (Requirement.PLANNER,)
    needs = (Requirement.GIVER_APPROVER, Requirement.RECEIVER_APPROVER)
    return (*needs, Requirement.AUDITOR) if related(diversion, org_groups) else needs


def fills(access: Access, requirement: Requirement, diversion: Diversion) -> bool:
    """True when ``access`` qualifies for ``requirement`` on ``diversion`` (proposer aside)."""
    match requirement:
        case Requirement.PLANNER:
            return access.has(diversion.from_org, OrgRole.PLANNER)
        case Requirement.GIVER_APPROVER:
            return access.has(diversion.from_org, OrgRole.APPROVER)
        case Requirement.RECEIVER_APPROVER:
            return access.has(diversion.to_org, OrgRole.APPROVER)
        case Requirement.AUDITOR:
            return diversion.from_org in access.auditor_of and diversion.to_org in access.auditor_of
    raise AssertionError(requirement)  # pragma: no cover


@dataclass(frozen=True)
class ApprovalState:
    """Which approvals a diversion has (requirement -> person) and which it still lacks."""

    diversion: str
    required: tuple[Requirement, ...]
    filled: tuple[tuple[Requirement, str], ...]
    missing: tuple[Requirement, ...]
    ignored: tuple[str, ...]  # approvers who fill nothing (the proposer, a second hat...)

    @property
    def complete(self) -> bool:
        """True when every requirement is filled by a distinct person: the diversion posts."""
        return not self.missing

    def describe(self) -> str:
        """One line for people: what is filled, what is missing."""
        done = ", ".join(f"{r.value} {who}" for r, who in self.filled) or "none"
        if self.complete:
            return f"diversion {self.diversion!r}: approvals complete ({done})"
        lack = ", ".join(r.value for r in self.missing)
        return f"diversion {self.diversion!r}: approved by {done}; still needs {lack}"


def _eligible_approvers(diversion: Diversion, approvers: Sequence[str]) -> list[str]:
    """Distinct approvers in order; between orgs the proposer never counts."""
    seen: list[str] = []
    for who in approvers:
        if who in seen:
            continue
        if diversion.from_org != diversion.to_org and who == diversion.proposed_by:
            continue
        seen.append(who)
    return seen


def approval_state(
    diversion: Diversion, approvers: Sequence[str], directory: Directory
) -> ApprovalState:
    """Match approvers to requirements, one requirement per person (a bipartite matching).

    Edge cases: the proposer never fills a requirement between orgs; one person
    approving twice counts once; a person qualified for two requirements fills only
    one, so one person can never approve both sides; an unknown user fills nothing.
    """
    required = required_approvals(diversion, directory.org_groups)
    people = _eligible_approvers(diversion, approvers)
    accesses = {who: directory.access(who) for who in people}
    can = {r: [who for who in people if fills(accesses[who], r, diversion)] for r in required}
    holder: dict[str, Requirement] = {}  # person -> requirement (augmenting paths)

    def assign(r: Requirement, visited: set[str]) -> bool:
        for who in can[r]:
            if who in visited:
                continue
            visited.add(who)
            if who not in holder or assign(holder[who], visited):
                holder[who] = r
                return True
        return False

    for r in required:
        assign(r, set())
    by_req = {r: who for who, r in holder.items()}
    filled = tuple((r, by_req[r]) for r in required if r in by_req)
    missing = tuple(r for r in required if r not in by_req)
    ignored = tuple(who for who in dict.fromkeys(approvers) if who not in holder)
    return ApprovalState(diversion.id, required, filled, missing, ignored)


def check_proposal(access: Access, diversion: Diversion) -> None:
    """Raise :class:`PermissionDenied` unless ``access`` may propose ``diversion``.

    Only a planner (or higher) of the giving org may propose: a proposal
    reserves the giver's units, so no one else may. The proposal records them
    as the proposer, which bars them from approving it between orgs. The
    message names only the orgs the diversion names, never what they hold.
    """
    if access.has(diversion.from_org, OrgRole.PLANNER):
        return
    raise PermissionDenied(
        f"user {access.user!r} may not propose diversion {diversion.id!r}: it reserves units "
        f"of {diversion.from_org!r}, so it needs the planner role there"
    )


def check_standing(access: Access, diversion: Diversion, decision: Decision) -> None:
    """Raise :class:`PermissionDenied` unless ``access`` could ever take ``decision``.

    Whatever the diversion's status: on a decided diversion a repeat of the
    outcome is a no-op, but only for someone who could have decided it (a
    viewer's approve of a posted diversion is refused, not answered ok).
    Approve and reject: any approval the diversion requires; void: its
    proposer or an admin of the giving org.
    """
    if decision is Decision.PROPOSE:
        check_proposal(access, diversion)
        return
    if decision is Decision.VOID:
        if access.user == diversion.proposed_by or access.has(diversion.from_org, OrgRole.ADMIN):
            return
        raise PermissionDenied(
            f"user {access.user!r} may not void diversion {diversion.id!r}: only its proposer "
            f"or an admin of {diversion.from_org!r} may"
        )
    if diversion.from_org == diversion.to_org:
        needed: tuple[Requirement, ...] = (Requirement.PLANNER,)
    else:
        needed = (Requirement.GIVER_APPROVER, Requirement.RECEIVER_APPROVER, Requirement.AUDITOR)
    if not any(fills(access, r, diversion) for r in needed):
        raise PermissionDenied(
            f"user {access.user!r} may not {decision.value} diversion {diversion.id!r}: it "
            "needs an approval role of one of its sides"
        )


def check_decision(
    access: Access,
    diversion: Diversion,
    decision: Decision,
    approvers: Sequence[str],
    directory: Directory,
) -> None:
    """Raise :class:`PermissionDenied` unless ``access`` may take ``decision`` now.

    - approve: the user must fill a requirement still missing (not the proposer
      between orgs, not someone who already approved);
    - reject: anyone who could approve it (a requirement, filled or not) may reject;
    - void: the proposer withdrawing it, or an admin of the giving org.
    """
    who = access.user
    required = required_approvals(diversion, directory.org_groups)
    qualifies = [r for r in required if fills(access, r, diversion)]
    between = diversion.from_org != diversion.to_org
    if decision is Decision.PROPOSE:
        check_proposal(access, diversion)
        return
    if decision is Decision.VOID:
        check_standing(access, diversion, decision)
        return
    if not qualifies:
        needs = ", ".join(r.value for r in required)
        raise PermissionDenied(
            f"user {who!r} may not {decision.value} diversion {diversion.id!r}: it needs "
            f"one of: {needs}"
        )
    if decision is Decision.REJECT:
        return
    if between and who == diversion.proposed_by:
        raise PermissionDenied(
            f"user {who!r} proposed diversion {diversion.id!r} and may not approve it"
        )
    if who in approvers:
        raise PermissionDenied(f"user {who!r} already approved diversion {diversion.id!r}")
    before = approval_state(diversion, approvers, directory)
    after = approval_state(diversion, [*approvers, who], directory)
    if len(after.filled) == len(before.filled):
        lacking = ", ".join(r.value for r in before.missing) or "nothing"
        raise PermissionDenied(
            f"user {who!r} cannot fill an approval diversion {diversion.id!r} still needs "
            f"({lacking}); one person may not approve two sides"
        )
