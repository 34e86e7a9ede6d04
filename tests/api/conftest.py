"""An API over a small fleet, with one user per role and a token each."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gpuledger.domain import BooksRole, GroupRole, OrgRole
from gpuledger.governance.store import Governance
from gpuledger.governance.tokens import TokenHasher
from gpuledger.server import create_app

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FLEET = Path(__file__).with_name("fleet.yaml")
NOW = datetime(2024, 2, 1, 12, tzinfo=UTC)

Role = OrgRole | GroupRole | BooksRole

#: user -> roles: (role, org) or (role, group); books-admin's scope is ignored
ROLES: dict[str, list[tuple[Role, str]]] = {
    "viewer": [(OrgRole.VIEWER, "tesla")],
    "planner": [(OrgRole.PLANNER, "tesla")],
    "approver": [(OrgRole.APPROVER, "tesla")],
    "admin": [(OrgRole.ADMIN, "tesla")],
    "xapprover": [(OrgRole.APPROVER, "x")],
    "groupadmin": [(GroupRole.GROUP_ADMIN, "musk")],
    "auditor": [(GroupRole.AUDITOR, "musk")],
    "outsider": [(OrgRole.ADMIN, "acme")],
    "nobody": [],
    "root": [
        (GroupRole.GROUP_ADMIN, "musk"),
        (OrgRole.ADMIN, "acme"),
        (BooksRole.BOOKS_ADMIN, "*"),
    ],
}


def cheap_hasher() -> TokenHasher:
    """argon2 with tiny parameters: the format and checks are the same, only faster."""
    return TokenHasher(time_cost=1, memory_cost=1024)


def add_users(
    gov: Governance, roles: dict[str, list[tuple[Role, str]]] | None = None
) -> dict[str, str]:
    """Create every user of ``roles`` (default: ROLES) with its grants; return user -> token."""
    tokens = {}
    for user, grants in (ROLES if roles is None else roles).items():
        gov.add_user(user, actor="setup")
        for role, scope in grants:
            if isinstance(role, BooksRole):
                gov.grant(user, role, actor="setup")
            elif isinstance(role, OrgRole):
                gov.grant(user, role, org=scope, actor="setup")
            else:
                gov.grant(user, role, group=scope, actor="setup")
        tokens[user] = gov.create_token(user, actor="setup").token
    return tokens


@dataclass
class World:
    """A running app over the fleet, with a client and a token per user."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]
    _keys: Iterator[int] = field(default_factory=itertools.count)

    @property
    def gov(self) -> Governance:
        gov = self.app.state.backend.gov
        assert isinstance(gov, Governance)
        return gov

    def call(
        self,
        user: str | None,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request as ``user`` (None: no token); writes get a fresh key unless given."""
        h = dict(headers or {})
        if user is not None:
            h["Authorization"] = f"Bearer {self.tokens[user]}"
        if method != "GET" and "Idempotency-Key" not in h:
            h["Idempotency-Key"] = key or f"k-{next(self._keys)}"
        response: httpx.Response = self.client.request(
            method, f"/api/v1{path}", json=body, headers=h
        )
        return response

    def ok(self, user: str, method: str, path: str, body: Any = None) -> Any:
        """A request that must succeed; its JSON."""
        r = self.call(user, method, path, body)
        assert r.status_code == 200, r.text
        return r.json()


def make_world(url: str) -> World:
    app = create_app(url, clock=lambda: NOW, hasher=cheap_hasher())
    client = TestClient(app)
    tokens = add_users(app.state.backend.gov)
    world = World(app, client, tokens)
    world.ok("root", "POST", "/scenario", {"yaml": FLEET.read_text(), "filename": "fleet.yaml"})
    return world


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world per test module (tests use distinct ids so they do not collide)."""
    path = tmp_path_factory.mktemp("api") / "books.db"
    world = make_world(f"sqlite:///{path}")
    yield world
    world.client.close()
    world.app.state.backend.ledger.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh world for a test that counts what was written."""
    w = make_world(f"sqlite:///{tmp_path / 'books.db'}")
    yield w
    w.client.close()
    w.app.state.backend.ledger.close()
