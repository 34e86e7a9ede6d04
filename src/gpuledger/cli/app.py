"""The ``gpuledger`` command tree and its one error boundary.

Commands are grouped by concern (:mod:`.books`, :mod:`.verbs`, :mod:`.diversions`,
:mod:`.planning`, :mod:`.reports`, :mod:`.admin`) and registered here. Every
error a user can meet (a :class:`~gpuledger.domain.GpuledgerError`, a usage
error of the parser, a database or file error) ends in :func:`main` as one line
on stderr and exit 2, never a traceback; nothing is written because every value
is parsed before the books are opened.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gpuledger import __version__
from gpuledger.cli import (
    admin,
    books,
    diversions,
    epoch,
    history,
    lists,
    planning,
    reports,
    verbs,
)
from gpuledger.cli._common import SETTINGS, value
from gpuledger.domain import GpuledgerError
from gpuledger.services import requests as rq
from gpuledger.services.errors import one_line


class _AsParsed:
    """Typer's runtime coercion that keeps a value as parsed (a repeated one as a list)."""

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        return list(value) if isinstance(value, tuple) else value


#: The annotations of this CLI's parameters: strings parsed by ``services.requests``,
#: flags, repeated strings.
_PLAIN: tuple[Any, ...] = (str, str | None, bool, list[str], list[str] | None)


def _keep_strings_as_parsed() -> None:
    """Skip Typer's pydantic coercion for plain strings and flags (a third of start-up).

    Typer 0.2x builds a pydantic ``TypeAdapter`` for every parameter it reads,
    which loads pydantic before any command runs. Every value of this CLI is a
    string that ``services.requests`` parses (or a flag), for which that
    coercion returns its input; any other annotation (Typer's own completion
    options) keeps it. A Typer without the hook is left as it is.
    """
    cls: Any = getattr(getattr(typer, "core", None), "_TyperParameter", None)
    original = getattr(cls, "get_runtime_param", None)
    if original is None:
        return
    as_parsed = _AsParsed()

    def get_runtime_param(self: Any) -> Any:
        annotation = getattr(getattr(self, "type_descriptor", None), "annotation", None)
        return as_parsed if any(annotation == a for a in _PLAIN) else original(self)

    cls.get_runtime_param = get_runtime_param


_keep_strings_as_parsed()

app = typer.Typer(
    name="gpuledger",
    help="Track scarce GPUs from purchase order to rack, plan who gets them, "
    "and say what a diversion costs.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_help_without_command(ctx: typer.Context) -> None:
    """A group given no command prints its help (on stdout, exit 0)."""
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"gpuledger {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        value(
            "PATH",
            "SQLite file of the books (default: $GPULEDGER_DATABASE_URL, "
            "then $GPULEDGER_DB, then ./gpuledger.db).",
            "--db",
        ),
    ] = None,
    actor: Annotated[
        str,
        value(
            "NAME",
            "Who is acting (recorded on events; default cli).",
            "--as",
            envvar="GPULEDGER_USER",
        ),
    ] = rq.DEFAULT_ACTOR,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """The root options, then the command (or this help when none is given)."""
    SETTINGS.db = None if db is None else str(rq.parse_output_file(db, "--db"))
    SETTINGS.actor = rq.parse_id(actor, "--as")
    _show_help_without_command(ctx)


def _group(sub: typer.Typer, name: str) -> None:
    sub.callback(invoke_without_command=True)(_show_help_without_command)
    app.add_typer(sub, name=name)


for command, name in (
    (books.init, "init"),
    (books.import_, "import"),
    (books.export, "export"),
    (epoch.import_epoch, "import-epoch"),
    (verbs.order, "order"),
    (verbs.ship, "ship"),
    (verbs.receive, "receive"),
    (verbs.deploy, "deploy"),
    (verbs.fail, "fail"),
    (verbs.reverse, "reverse"),
    (books.balances, "balances"),
    (books.trace, "trace"),
    (history.changes, "changes"),
    (planning.plan, "plan"),
    (planning.impact, "impact"),
    (planning.forecast, "forecast"),
    (reports.claims, "claims"),
    (reports.report, "report"),
    (reports.demo, "demo"),
    (admin.serve, "serve"),
):
    app.command(name)(command)

for sub, name in (
    (lists.list_app, "list"),
    (diversions.divert_app, "divert"),
    (books.audit_app, "audit"),
    (admin.user_app, "user"),
    (admin.role_app, "role"),
    (admin.token_app, "token"),
):
    _group(sub, name)


# --------------------------------------------------------------------------- the boundary


def _database_error(exc: BaseException) -> bool:
    """True for an error of the database driver (only possible once SQLAlchemy is loaded)."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stdout.flush()
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit 2 with one line on stderr, never a traceback."""
    SETTINGS.db, SETTINGS.actor = None, rq.DEFAULT_ACTOR
    try:
        code: Any = app(args=argv, prog_name="gpuledger", standalone_mode=False)
    except GpuledgerError as exc:
        _fail(one_line(exc))
    except typer.TyperException as exc:  # the parser's usage errors (click's, vendored)
        _fail(" ".join(exc.format_message().split()))
    except (typer.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail((exc.strerror or one_line(exc)) + where)
    except Exception as exc:
        if not _database_error(exc):
            raise
        reason = getattr(exc, "orig", None) or exc
        _fail(f"database: {one_line(reason)}")
    sys.exit(code if isinstance(code, int) else 0)
