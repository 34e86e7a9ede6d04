"""Governed books: three orgs (tesla and x related, xai not), one stocked lot, a user per role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import GroupRole, OrgRole
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger

H100 = "H100-SXM5-80GB"
NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
STOCK = 10_000  # units of LOT-T in tesla's stock

#: user -> grants (role, org or group)
ROLES: dict[str, list[tuple[OrgRole | GroupRole, str]]] = {
    "planner": [(OrgRole.PLANNER, "tesla")],
    "tina": [(OrgRole.APPROVER, "tesla")],
    "xavier": [(OrgRole.APPROVER, "x")],
    "xena": [(OrgRole.APPROVER, "xai")],
    "audrey": [(GroupRole.AUDITOR, "musk")],
    "viv": [(OrgRole.VIEWER, "tesla")],
}
#: the people a diversion from tesla needs, by receiver
APPROVERS = {"x": ("tina", "xavier", "audrey"), "xai": ("tina", "xena")}


def fleet() -> d.Scenario:
    """tesla and x in group musk, xai alone; 10,000 units of LOT-T in tesla's stock."""
    return d.Scenario(
        name="governed",
        as_of=date(2024, 1, 1),
        skus=(d.Sku(H100),),
        vendors=(d.Vendor("nvidia"),),
        groups=(d.Group("musk"),),
        orgs=(d.Org("tesla", group="musk"), d.Org("x", group="musk"), d.Org("xai")),
        orders=(d.Order("PO-T", "tesla", "nvidia", H100, STOCK, date(2023, 3, 1)),),
        lots=(d.Lot("LOT-T", "PO-T", STOCK, date(2023, 12, 1), date(2023, 12, 10), "tesla"),),
    )


def diversion(ident: str, to: str, qty: int = 1, **kw: object) -> d.Diversion:
    """``qty`` units of LOT-T from tesla's stock to ``to`` on 2023-12-20."""
    return d.Diversion(
        ident, "LOT-T", qty, "tesla", to, date(2023, 12, 20), status=d.DiversionStatus.PENDING,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def setup_books(url: str) -> None:
    """Import the fleet and create every user of ROLES with its grants."""
    books = Ledger.open(url, clock=lambda: NOW)
    books.import_scenario(fleet())
    gov = Governance(books.engine, lambda: NOW)
    for user, grants in ROLES.items():
        gov.add_user(user, actor="setup")
        for role, scope in grants:
            if isinstance(role, OrgRole):
                gov.grant(user, role, org=scope, actor="setup")
            else:
                gov.grant(user, role, group=scope, actor="setup")
    books.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def books_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Governed books on a SQLite file or in a private PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'books.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    setup_books(url)
    return url


@pytest.fixture
def governed(books_url: str) -> Iterator[tuple[Ledger, Governance]]:
    """The books and their governance, opened in this process."""
    books = Ledger.open(books_url, clock=lambda: NOW)
    yield books, Governance(books.engine, lambda: NOW)
    books.close()
