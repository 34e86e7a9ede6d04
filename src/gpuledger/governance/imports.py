"""Who may import what: every record an import creates or versions, authorized one by one.

The one rule for imports, whatever the interface (API ``POST /scenario``, the
CLI ``import`` on books with users): :func:`check_import`, applied by
:class:`GovernedImport` inside the ledger's write transaction to the
:class:`~gpuledger.ledger.ImportPlan` the importer builds. A user may import a
file when:

1. they are admin of every org the file names (its orgs, and the owner of
   every record it holds, changed or not: the import acts on their units),
   with the orgs' groups as the file sets them;
2. for every record the file creates or versions, they are admin of the org
   owning the current version (with the groups as the books hold them) and of
   the org owning the new one: so no org is moved into another's group
   (annexation) and no cluster, target, claim, order, lot or movement changes
   hands without its current owner's admin;
3. a changed shared record (SKU, vendor, group, the scenario parameters) needs
   ``books-admin``;
4. a diversion is only proposed, by the importer: a file may state
   ``pending`` (or restate the status the books hold), never post or void one,
   and never name another proposer.

Refusals name the record and the role missing, never what another org holds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from gpuledger.domain import DiversionStatus, PermissionDenied
from gpuledger.governance.rules import Access, Action, Directory
from gpuledger.governance.store import read_directory
from gpuledger.ledger import ImportPlan, RecordChange, StatedDiversion


def check_import(plan: ImportPlan, directory: Directory) -> None:
    """Raise :class:`PermissionDenied` unless ``plan.actor`` may carry out ``plan``.

    ``directory`` is the grants and groups as the books hold them; the groups
    after the import are those with the file's orgs applied.
    """
    user, name = plan.actor, plan.scenario
    before = directory.access(user)
    after = Directory({**directory.org_groups, **plan.org_groups}, directory.grants).access(user)
    # 1. Every org the file names, as it will stand.
    for org in sorted(plan.named_orgs):
        if not after.may(Action.ADMINISTER, org):
            raise PermissionDenied(
                f"user {user!r} may not import scenario {name!r}: "
                f"it needs the admin role in org {org!r}"
            )
    # 2.-3. Every record created or versioned.
    for change in plan.changes:
        _check_change(change, before, after, name)
    # 4. Diversions are proposed, never decided, by an import.
    for d in plan.diversions:
        _check_diversion(d, user, name)


def _check_change(change: RecordChange, before: Access, after: Access, name: str) -> None:
    subject = f"{change.kind} {change.id!r}"
    if change.shared:
        if not before.books_admin:
            raise PermissionDenied(
                f"user {before.user!r} may not import scenario {name!r}: {subject} is shared "
                "by every org, and changing it needs the books-admin role"
            )
        return
    # The current owner is not named: it may be an org the caller cannot see.
    if not all(before.may(Action.ADMINISTER, org) for org in change.owners_before):
        raise PermissionDenied(
            f"user {before.user!r} may not import scenario {name!r}: {subject} belongs to "
            "an org where they are not admin, and only its admin may change it"
        )
    for org in sorted(change.owners_after):
        if not after.may(Action.ADMINISTER, org):
            raise PermissionDenied(
                f"user {before.user!r} may not import scenario {name!r}: {subject} needs "
                f"the admin role in org {org!r}"
            )


def _check_diversion(d: StatedDiversion, user: str, name: str) -> None:
    if d.stated is not DiversionStatus.PENDING and d.stated is not d.held:
        raise PermissionDenied(
            f"user {user!r} may not import scenario {name!r}: diversion {d.id!r} states "
            f"status {d.stated.value}, but an import only proposes (status pending); its "
            "approvals go through `gpuledger diversion approve` or the API"
        )
    if d.held is None and d.proposed_by not in (None, user):
        raise PermissionDenied(
            f"user {user!r} may not import scenario {name!r}: diversion {d.id!r} names "
            f"proposer {d.proposed_by!r}; an import proposes as its importer"
        )


class GovernedImport:
    """The ledger's import authority on books with users: :func:`check_import`.

    Reads the grants and groups through the write transaction, so the decision
    is taken on what the import is committed on top of.
    """

    def review(self, conn: Connection, plan: Callable[[], ImportPlan]) -> None:
        """Admit the plan or raise :class:`PermissionDenied`."""
        check_import(plan(), read_directory(conn))


#: The one instance every interface passes (it holds no state).
GOVERNED_IMPORT = GovernedImport()
