"""The import rule itself (``governance.imports.check_import``), on plans built by hand.

The attack tests drive it through the API; these pin each clause with the
smallest plan that shows it: named orgs, owners before and after, shared
records, diversions.
"""

from __future__ import annotations

import pytest

from gpuledger.domain import BooksRole, DiversionStatus, GroupRole, OrgRole, PermissionDenied
from gpuledger.governance.imports import check_import
from gpuledger.governance.rules import BOOKS, Directory, Grant
from gpuledger.ledger import ImportPlan, RecordChange, StatedDiversion

GROUPS = {"tesla": "musk", "x": "musk", "acme": None}
DIRECTORY = Directory(
    GROUPS,
    (
        Grant("ga", GroupRole.GROUP_ADMIN, "musk"),
        Grant("ta", OrgRole.ADMIN, "tesla"),
        Grant("aa", OrgRole.ADMIN, "acme"),
        Grant("books", BooksRole.BOOKS_ADMIN, BOOKS),
        Grant("books", OrgRole.ADMIN, "tesla"),
    ),
)


def plan(
    actor: str,
    named: set[str],
    *changes: RecordChange,
    groups: dict[str, str | None] | None = None,
    diversions: tuple[StatedDiversion, ...] = (),
) -> ImportPlan:
    return ImportPlan("s", actor, frozenset(named), groups or {}, changes, diversions)


def change(kind: str, ident: str, before: set[str], after: set[str]) -> RecordChange:
    return RecordChange(kind, ident, frozenset(before), frozenset(after), False, bool(before))


OK = [
    ("own-order", plan("ta", {"tesla"}, change("order", "PO", {"tesla"}, {"tesla"}))),
    ("new-org-in-own-group", plan("ga", {"spacex"}, change("org", "spacex", set(), {"spacex"}),
                                  groups={"spacex": "musk"})),
    ("order-between-own-orgs", plan("ga", {"x"}, change("order", "PO", {"tesla"}, {"x"}))),
    ("shared-by-books-admin", plan("books", {"tesla"},
                                   RecordChange("sku", "H100", frozenset(), frozenset(), True))),
    ("pending-diversion", plan("ta", {"tesla"}, diversions=(
        StatedDiversion("D", "tesla", DiversionStatus.PENDING, None, "ta"),))),
    ("restated-posted", plan("ta", {"tesla"}, diversions=(
        StatedDiversion("D", "tesla", DiversionStatus.POSTED, DiversionStatus.POSTED, "p"),))),
]  # fmt: skip

REFUSED = [
    ("annexation", plan("ga", {"acme"}, change("org", "acme", {"acme"}, {"acme"}),
                        groups={"acme": "musk"}), "belongs to an org"),
    ("take-a-cluster", plan("aa", {"acme"}, change("cluster", "c", {"tesla"}, {"acme"})),
     "belongs to an org"),
    ("give-away", plan("ta", {"tesla"}, change("order", "PO", {"tesla"}, {"acme"})),
     "admin role in org 'acme'"),
    ("name-another-org", plan("ta", {"tesla", "acme"}), "admin role in org 'acme'"),
    ("shared-by-org-admin", plan("ta", {"tesla"},
                                 RecordChange("vendor", "nv", frozenset(), frozenset(), True)),
     "books-admin"),
    ("post-by-import", plan("ta", {"tesla"}, diversions=(
        StatedDiversion("D", "tesla", DiversionStatus.POSTED, None, None),)), "only proposes"),
    ("void-by-import", plan("ta", {"tesla"}, diversions=(
        StatedDiversion("D", "tesla", DiversionStatus.VOIDED, DiversionStatus.PENDING, None),)),
     "only proposes"),
    ("another-proposer", plan("ta", {"tesla"}, diversions=(
        StatedDiversion("D", "tesla", DiversionStatus.PENDING, None, "tina"),)), "importer"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "p"), OK, ids=[n for n, _ in OK])
def test_admitted(name: str, p: ImportPlan) -> None:
    check_import(p, DIRECTORY)


@pytest.mark.parametrize(("name", "p", "message"), REFUSED, ids=[n for n, _, _ in REFUSED])
def test_refused(name: str, p: ImportPlan, message: str) -> None:
    with pytest.raises(PermissionDenied, match=message):
        check_import(p, DIRECTORY)


def test_a_refusal_never_names_the_current_owner() -> None:
    p = plan("aa", {"acme"}, change("target", "t", {"tesla"}, {"acme"}))
    with pytest.raises(PermissionDenied) as exc:
        check_import(p, DIRECTORY)
    assert "tesla" not in str(exc.value)


@pytest.mark.parametrize(
    ("grants", "may"),
    [
        ((), False),
        ((Grant("u", OrgRole.APPROVER, "tesla"),), False),
        ((Grant("u", GroupRole.AUDITOR, "musk"),), False),
        ((Grant("u", OrgRole.ADMIN, "acme"),), True),
        ((Grant("u", GroupRole.GROUP_ADMIN, "empty-group"),), True),
        ((Grant("u", BooksRole.BOOKS_ADMIN, BOOKS),), True),
    ],
    ids=["none", "approver", "auditor", "org-admin", "group-admin", "books-admin"],
)
def test_who_may_import_at_all(grants: tuple[Grant, ...], may: bool) -> None:
    assert Directory(GROUPS, grants).access("u").may_import() is may
