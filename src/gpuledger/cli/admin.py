"""Administration: ``user``, ``role`` and ``token`` (governance) and ``serve``.

Whoever runs these holds the database itself, so they are trusted; every row
records ``--as`` as its actor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from gpuledger.cli._common import SETTINGS, argument, books, books_url, now, out, say, value
from gpuledger.services import requests as rq

if TYPE_CHECKING:
    from gpuledger.governance.store import Governance

user_app = typer.Typer(help="Add and list users.")
role_app = typer.Typer(help="Grant and revoke roles per org, per group or over the whole books.")
token_app = typer.Typer(help="Create, list and revoke API tokens.")

NameArgument = Annotated[str, argument("NAME", "The user's name.")]
RoleArgument = Annotated[
    str,
    argument(
        "ROLE",
        "viewer|planner|approver|admin (per --org), group-admin|auditor (per --group), "
        "books-admin (neither).",
    ),
]
OrgOption = Annotated[str | None, value("ORG", "The org (org roles).", "--org")]
GroupOption = Annotated[str | None, value("ID", "The group (group roles).", "--group")]


@contextmanager
def _governance() -> Iterator[Governance]:
    from gpuledger.governance.store import Governance

    with books() as ledger:
        yield Governance(ledger.engine, now)


def _name(text: str, field: str = "NAME") -> str:
    """A user name (governance's rule), refused before the books are opened."""
    from gpuledger.governance.store import check_name

    rq.parse_id(text, field)
    return check_name(text)


@user_app.command("add")
def user_add(name: NameArgument) -> None:
    """Add a user (a no-op when the user exists)."""
    user = _name(name)
    with _governance() as gov:
        added = gov.add_user(user, actor=SETTINGS.actor)
    say(f"user {user}: {'added' if added else 'already exists'}")


@user_app.command("list")
def user_list() -> None:
    """List users and their roles."""
    from rich.table import Table

    with _governance() as gov:
        users, grants = gov.users(), gov.grants()
    table = Table("user", "roles")
    for name in users:
        roles = ", ".join(f"{g.role.value}@{g.scope}" for g in grants if g.user == name)
        table.add_row(name, roles or "-")
    out().print(table)


def _grant_args(
    name: str, role: str, org: str | None, group: str | None
) -> tuple[str, str, str | None, str | None]:
    return (
        _name(name),
        role,
        None if org is None else rq.parse_id(org, "--org"),
        None if group is None else rq.parse_id(group, "--group"),
    )


@role_app.command("grant")
def role_grant(
    name: NameArgument, role: RoleArgument, org: OrgOption = None, group: GroupOption = None
) -> None:
    """Grant a role: viewer|planner|approver|admin per --org, group-admin|auditor per --group.

    books-admin takes neither: it covers the records every org shares (SKUs,
    vendors, groups, the scenario parameters).
    """
    from gpuledger.governance.store import parse_role

    user, _, org_id, group_id = _grant_args(name, role, org, group)
    chosen = parse_role(role)
    with _governance() as gov:
        g = gov.grant(user, chosen, org=org_id, group=group_id, actor=SETTINGS.actor)
    say(f"{g.user}: {g.role.value} of {g.scope}")


@role_app.command("revoke")
def role_revoke(
    name: NameArgument, role: RoleArgument, org: OrgOption = None, group: GroupOption = None
) -> None:
    """Revoke a role (recorded as a row; the grant stays in history)."""
    from gpuledger.governance.store import parse_role

    user, _, org_id, group_id = _grant_args(name, role, org, group)
    chosen = parse_role(role)
    with _governance() as gov:
        g = gov.revoke(user, chosen, org=org_id, group=group_id, actor=SETTINGS.actor)
    say(f"{g.user}: no longer {g.role.value} of {g.scope}")


@token_app.command("create")
def token_create(
    name: NameArgument,
    label: Annotated[str | None, value("TEXT", "What the token is for.")] = None,
) -> None:
    """Create an API token for a user and print it once (only its hash is stored)."""
    user = _name(name)
    text = None if label is None else rq.parse_text(label, "--label", 200)
    with _governance() as gov:
        issued = gov.create_token(user, actor=SETTINGS.actor, label=text)
    say(issued.token)
    typer.echo(f"token {issued.id} for {user}: shown once, keep it secret", err=True)


@token_app.command("list")
def token_list(
    name: Annotated[str | None, argument("NAME", "Only this user's tokens.")] = None,
) -> None:
    """List tokens (ids, never secrets)."""
    from rich.table import Table

    user = None if name is None else _name(name)
    with _governance() as gov:
        infos = gov.tokens(user)
    table = Table("id", "user", "label", "created", "revoked")
    for t in infos:
        revoked = t.revoked_at.isoformat() if t.revoked_at else "-"
        table.add_row(t.id, t.user, t.label or "-", t.created_at.isoformat(), revoked)
    out().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, argument("TOKEN", "The token id (or the token).")],
) -> None:
    """Revoke a token: it stops working at once."""
    ident = rq.parse_id(token_id, "TOKEN")
    with _governance() as gov:
        revoked = gov.revoke_token(ident, actor=SETTINGS.actor)
    say(f"token {ident[:24]}: {'revoked' if revoked else 'already revoked'}")


def serve(
    host: Annotated[
        str | None, value("HOST", "Interface to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[str | None, value("PORT", "TCP port (default 8000).")] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Mark the dashboard's session cookie Secure: give it when users reach the "
            "server over HTTPS (for instance through a TLS-terminating proxy).",
        ),
    ] = False,
) -> None:
    """Serve the REST API (/api/v1) and the web dashboard with uvicorn.

    uvicorn speaks plain HTTP: serve users over HTTPS through a TLS-terminating
    proxy that keeps the Host header, and give --secure-cookies.
    """
    address = rq.parse_host(host, "--host")
    number = rq.parse_port(port, "--port")
    from gpuledger.server import create_app, serve

    url = books_url()
    say(
        f"serving {url} on http://{address}:{number} "
        "(API at /api/v1, OpenAPI at /api/v1/openapi.json)"
    )
    app = create_app(url, clock=now, secure_cookie=secure_cookies)
    serve(app, address, number)
