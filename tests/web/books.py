"""Books for the web tests: the founding story on the eve of the December 2023 diversion.

The demo scenario imported as of 2023-12-09 without its diversion: LOT-T-2023-12 is
still Tesla's, in transit, so the December 2023 diversion can be proposed, previewed
and approved as it would have been. One user per role, a token each.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from fastapi import FastAPI

from gpuledger.domain import GroupRole, OrgRole
from gpuledger.governance.store import Governance
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import Ledger
from gpuledger.scenario import demo_scenario_path, load_scenario
from gpuledger.server import create_app
from tests.api.conftest import add_users as api_add_users

EVE = date(2023, 12, 9)
NOW = datetime(2023, 12, 10, 12, tzinfo=UTC)

#: user -> grants: (role, org) or (role, group)
ROLES: dict[str, list[tuple[OrgRole | GroupRole, str]]] = {
    "pat": [(OrgRole.PLANNER, "tesla")],  # proposes
    "tess": [(OrgRole.APPROVER, "tesla")],  # the giver's approver
    "xavier": [(OrgRole.APPROVER, "x")],  # the receiver's approver
    "audrey": [(GroupRole.AUDITOR, "musk")],  # related parties: the auditor
    "xena": [(OrgRole.VIEWER, "x")],  # sees X only
}

DIVERSION = {
    "lot": "LOT-T-2023-12",
    "qty": "12000",
    "from_org": "tesla",
    "to_org": "x",
    "on": "2023-12-10",
    "payback": "LOT-X-2024-01:6000, LOT-X-2024-06:6000",
}
CLI_ARGS = [
    "impact",
    "--divert",
    "LOT-T-2023-12:12000:tesla:x",
    "--on",
    "2023-12-10",
    "--payback",
    "LOT-X-2024-01:6000",
    "--payback",
    "LOT-X-2024-06:6000",
    "--json",
]


def clock() -> datetime:
    """A fixed clock: the day of the diversion."""
    return NOW


def import_eve(url: str) -> None:
    """Import the founding story as of the eve of the diversion, without it."""
    scenario = load_scenario(demo_scenario_path())
    eve = dataclasses.replace(scenario, as_of=EVE, diversions=())
    ledger = Ledger.open(url, clock=clock)
    try:
        ledger.import_scenario(eve, actor="import")
    finally:
        ledger.close()


def add_users(gov: Governance) -> dict[str, str]:
    """Every user of this module's ROLES with its grants; user -> token."""
    return api_add_users(gov, ROLES)


def make_app(url: str) -> tuple[FastAPI, dict[str, str]]:
    """The app (API and dashboard, ``gpuledger.server``) over fresh books, a token per user."""
    import_eve(url)
    app = create_app(url, clock=clock, hasher=TokenHasher(time_cost=1, memory_cost=1024))
    return app, add_users(app.state.backend.gov)


def make_demo_app(url: str) -> tuple[FastAPI, dict[str, str]]:
    """The app over the whole founding story (as of 2024-06-30, the diversion posted)."""
    ledger = Ledger.open(url, clock=clock)
    try:
        ledger.import_scenario(load_scenario(demo_scenario_path()), actor="import")
    finally:
        ledger.close()
    app = create_app(url, clock=clock, hasher=TokenHasher(time_cost=1, memory_cost=1024))
    return app, add_users(app.state.backend.gov)


def session(app: FastAPI, token: str) -> str:
    """A session id for ``token``'s user: what the sign-in cookie holds after signing in."""
    gov = app.state.backend.gov
    assert isinstance(gov, Governance)
    return gov.start_session(token)
