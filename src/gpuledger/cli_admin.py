"""Governance commands: ``user``, ``role`` and ``token`` sub-apps of ``gpuledger``.

Mounted by :mod:`gpuledger.cli` with ``app.add_typer``. Whoever runs these holds
the database itself, so they are trusted; every row records ``--as`` as its actor.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gpuledger.config import database_url
from gpuledger.governance.store import Governance, parse_role
from gpuledger.ledger import Ledger

user_app = typer.Typer(help="Add and list users.", no_args_is_help=True)
role_app = typer.Typer(help="Grant and revoke roles per org or per group.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

out = Console(highlight=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _settings() -> tuple[str, str]:
    """The database URL and actor the root ``gpuledger`` options set."""
    try:
        from gpuledger.cli import STATE  # lazy: cli mounts these apps
    except ImportError:  # mounted elsewhere without the root CLI: the environment decides
        return database_url(), os.environ.get("GPULEDGER_USER", "cli")
    return database_url(STATE.db), STATE.actor


@contextmanager
def _governance() -> Iterator[tuple[Governance, str]]:
    url, actor = _settings()
    ledger = Ledger.open(url, clock=_now)
    try:
        yield Governance(ledger.engine, _now), actor
    finally:
        ledger.close()


@user_app.command("add")
def user_add(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Add a user (a no-op when the user exists)."""
    with _governance() as (gov, actor):
        added = gov.add_user(name, actor=actor)
    out.print(f"user {name}: {'added' if added else 'already exists'}")


@user_app.command("list")
def user_list() -> None:
    """List users and their roles."""
    with _governance() as (gov, _):
        users, grants = gov.users(), gov.grants()
    table = Table("user", "roles")
    for name in users:
        roles = ", ".join(f"{g.role.value}@{g.scope}" for g in grants if g.user == name)
        table.add_row(name, roles or "-")
    out.print(table)


Org = Annotated[str | None, typer.Option("--org", help="The org (org roles).")]
Group = Annotated[str | None, typer.Option("--group", help="The group (group roles).")]


@role_app.command("grant")
def role_grant(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    role: Annotated[
        str,
        typer.Argument(metavar="ROLE", help="viewer|planner|approver|admin|group-admin|auditor"),
    ],
    org: Org = None,
    group: Group = None,
) -> None:
    """Grant a role: viewer|planner|approver|admin per --org, group-admin|auditor per --group."""
    with _governance() as (gov, actor):
        g = gov.grant(name, parse_role(role), org=org, group=group, actor=actor)
    out.print(f"{g.user}: {g.role.value} of {g.scope}")


@role_app.command("revoke")
def role_revoke(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    role: Annotated[str, typer.Argument(metavar="ROLE")],
    org: Org = None,
    group: Group = None,
) -> None:
    """Revoke a role (recorded as a row; the grant stays in history)."""
    with _governance() as (gov, actor):
        g = gov.revoke(name, parse_role(role), org=org, group=group, actor=actor)
    out.print(f"{g.user}: no longer {g.role.value} of {g.scope}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
) -> None:
    """Create an API token for a user and print it once (only its hash is stored)."""
    with _governance() as (gov, actor):
        issued = gov.create_token(name, actor=actor, label=label)
    typer.echo(issued.token)
    typer.echo(f"token {issued.id} for {name}: shown once, keep it secret", err=True)


@token_app.command("list")
def token_list(name: Annotated[str | None, typer.Argument(metavar="[NAME]")] = None) -> None:
    """List tokens (ids, never secrets)."""
    with _governance() as (gov, _):
        infos = gov.tokens(name)
    table = Table("id", "user", "label", "created", "revoked")
    for t in infos:
        revoked = t.revoked_at.isoformat() if t.revoked_at else "-"
        table.add_row(t.id, t.user, t.label or "-", t.created_at.isoformat(), revoked)
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token id (or the token).")],
) -> None:
    """Revoke a token: it stops working at once."""
    with _governance() as (gov, actor):
        revoked = gov.revoke_token(token_id, actor=actor)
    out.print(f"token {token_id[:24]}: {'revoked' if revoked else 'already revoked'}")
