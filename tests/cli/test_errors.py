"""Every mistake on the command line is one line on stderr and exit 2, and writes nothing.

The cases are generated from the command tree itself: every command, every
parameter, each given a malformed, a missing and an out-of-range value for its
kind (its metavar: DATE, QTY, LOT:QTY...). A parameter of a kind this table does
not know fails the test, so a new option cannot escape it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from gpuledger.cli import app
from gpuledger.ledger import Ledger
from gpuledger.scenario import load_scenario
from tests.cli.conftest import SMALL, fingerprint, run

IDS = (
    "ID",
    "TRANSFER",
    "LOT",
    "ORG",
    "VENDOR",
    "SKU",
    "CLUSTER",
    "ORDER",
    "TARGET",
    "NAME",
    "TOKEN",
)
BAD_IDS = ("has space", "bad/slash", "x" * 300)


@dataclass(frozen=True)
class Kind:
    """A kind of value: one that parses (to fill other required parameters) and bad ones."""

    valid: str
    malformed: tuple[str, ...]
    out_of_range: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "DATE": Kind("2024-01-15", ("2024-13-01", "yesterday", ""), ("1800-01-01", "3000-01-01")),
    "QTY": Kind("5", ("abc", "1.5", ""), ("0", "-5", "10000000000")),
    "N": Kind("10", ("abc", ""), ("0", "-1", "10000000")),
    "SEED": Kind("7", ("abc", ""), ("-1", "9" * 30)),
    "PORT": Kind("8000", ("abc", ""), ("0", "70000")),
    "PATH": Kind("books.db", ("/nonexistent-dir/books.db", "")),
    "HOST": Kind("127.0.0.1", ("bad host", "")),
    "URL": Kind("tcp://127.0.0.1:8786", ("nonsense", "")),
    "TEXT": Kind("a reason", ("bell\x07ringing",), ("x" * 5000,)),
    "FILE": Kind(str(SMALL), ("/nonexistent-dir/in.yaml",)),
    "OUT": Kind("out.yaml", ("/nonexistent-dir/out.yaml",)),
    "POLICY": Kind("consigned", ("fairshare", "")),
    "FORMAT": Kind("json", ("xml", "")),
    "STATUS": Kind("expected", ("shipped", "")),
    "ROLE": Kind("viewer", ("boss", "")),
    "LOT:QTY": Kind("LOT-A-1:5", ("LOT-A-1", "LOT-A-1:abc", "LOT:A:5"), ("LOT-A-1:0",)),
    "UNIT": Kind("gpus", ("watts", "")),
    "OWNER": Kind("Tesla", ("bell\x07ringing",), ("x" * 201,)),
    "LOT:QTY:FROM:TO": Kind(
        "LOT-A-1:5:alpha:beta",
        ("LOT-A-1:5:alpha", "LOT-A-1:x:alpha:beta", "has space:5:alpha:beta"),
        ("LOT-A-1:0:alpha:beta",),
    ),
    "LOT:DAYS": Kind("LOT-A-3:5", ("LOT-A-3", "LOT-A-3:x"), ("LOT-A-3:99999",)),
    "ORG:VENDOR:SKU:QTY": Kind("alpha:nvidia:H100-SXM5-80GB:5", ("a:b:c", "a:b:c:x"), ("a:b:c:0",)),
    "TARGET:PRIORITY": Kind("alpha-q1:2", ("alpha-q1", "alpha-q1:x"), ("alpha-q1:0",)),
    **{name: Kind("X1", BAD_IDS) for name in IDS},
}


@dataclass(frozen=True)
class Param:
    """One parameter of one command, as the command tree declares it."""

    path: tuple[str, ...]  # ("divert", "propose")
    name: str  # "qty", "lot", "as_of"
    flag: str | None  # "--qty", None for an argument
    kind: str  # the metavar
    required: bool

    def args(self, value: str) -> list[str]:
        return [self.flag, value] if self.flag else [value]


def _params(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], list[Param]]]:
    """Every leaf command under ``command`` with its value parameters."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            yield from _params(sub, (*path, name))
        return
    params = []
    for p in command.params:
        if getattr(p, "is_flag", False) or p.name in ("help",):
            continue
        flag = max(p.opts, key=len) if p.param_type_name == "option" else None
        params.append(Param(path, p.name, flag, p.metavar or "?", p.required))
    yield path, params


ROOT = typer.main.get_command(app)
COMMANDS = dict(_params(ROOT, ()))
ROOT_PARAMS = [
    Param((), p.name, max(p.opts, key=len), p.metavar or "?", p.required)
    for p in ROOT.params
    if not getattr(p, "is_flag", False) and p.name != "help"
]


def _fill(path: tuple[str, ...], skip: str | None, bad: str | None = None) -> list[str]:
    """The command with every required parameter given a value that parses, in order.

    ``skip`` names the parameter under test: left out (missing), or given ``bad``
    in its own place (arguments are positional).
    """
    out = list(path)
    missing_argument = False  # arguments are positional: after a missing one, none follows
    for p in COMMANDS[path]:
        if p.name == skip:
            if bad is not None:
                out += p.args(bad)
            else:
                missing_argument = p.flag is None
        elif p.required and not (missing_argument and p.flag is None):
            out += p.args(KINDS[p.kind].valid if p.kind in KINDS else "X1")
    return out


def _cases() -> Iterator[Any]:
    for path, params in COMMANDS.items():
        where = " ".join(path)
        for p in params:
            kind = KINDS.get(p.kind)
            if kind is None:
                yield pytest.param(path, p, None, id=f"{where} {p.name} unknown-kind-{p.kind}")
                continue
            for n, value in enumerate(kind.malformed):
                yield pytest.param(path, p, value, id=f"{where} {p.name} malformed-{n}")
            for n, value in enumerate(kind.out_of_range):
                yield pytest.param(path, p, value, id=f"{where} {p.name} out-of-range-{n}")
    for p in ROOT_PARAMS:
        if p.kind not in KINDS:
            yield pytest.param((), p, None, id=f"root {p.name} unknown-kind-{p.kind}")
            continue
        for n, value in enumerate(KINDS[p.kind].malformed):
            yield pytest.param((), p, value, id=f"root {p.name} malformed-{n}")


@pytest.fixture(scope="module")
def module_books(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("fuzz") / "books.db"
    ledger = Ledger.open(f"sqlite:///{db}")
    ledger.import_scenario(load_scenario(SMALL), actor="setup")
    ledger.close()
    yield str(db)


def _one_line_exit_2(code: int, err: str, *names: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    line = lines[0].lower()
    assert any(n.lower() in line for n in names), (names, line)
    return line


@pytest.mark.parametrize(("path", "param", "value"), list(_cases()))
def test_a_bad_value_is_one_line_exit_2_and_writes_nothing(
    module_books: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    path: tuple[str, ...],
    param: Param,
    value: str | None,
) -> None:
    assert value is not None, f"add the kind {param.kind!r} of {param.flag or param.name} to KINDS"
    monkeypatch.chdir(tmp_path)  # an OUT file that parses lands here, not in the repository
    before = fingerprint(module_books)
    # a root option goes in front of a command that reads the books
    args = _fill(path, param.name, value) if path else [*param.args(value), "balances"]
    code, _, err = run(capsys, "--db", module_books, *args)
    label = param.flag.lstrip("-") if param.flag else param.name
    _one_line_exit_2(code, err, label, label.replace("-", "_"), param.kind)
    assert fingerprint(module_books) == before


MISSING = [
    pytest.param(path, p, id=f"{' '.join(path)} {p.name}")
    for path, params in COMMANDS.items()
    for p in params
    if p.required
]


@pytest.mark.parametrize(("path", "param"), MISSING)
def test_a_missing_required_parameter_is_one_line_exit_2(
    module_books: str, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], param: Param
) -> None:
    before = fingerprint(module_books)
    code, _, err = run(capsys, "--db", module_books, *_fill(path, param.name))
    label = param.flag or param.kind
    _one_line_exit_2(code, err, label, param.name)
    assert fingerprint(module_books) == before


def test_the_tree_has_the_commands_the_readme_lists() -> None:
    # the generated cases above cover these (and every command added later)
    assert {
        ("balances",),
        ("deploy",),
        ("divert", "propose"),
        ("divert", "void"),
        ("forecast",),
        ("impact",),
        ("import",),
        ("order",),
        ("plan",),
        ("serve",),
        ("token", "create"),
        ("list", "lots"),
        ("list", "diversions"),
        ("reverse",),
        ("changes",),
    } <= set(COMMANDS)
    assert len(list(_cases())) > 100


# --------------------------------------------------------------------------- reported cases


@pytest.mark.parametrize(
    ("args", "names"),
    [
        pytest.param(["plan", "--policy", "fairshare"], ("fairshare",), id="unknown-policy"),
        pytest.param(["balance"], ("balance",), id="unknown-command"),
        pytest.param(["divert", "void", "X"], ("'x'",), id="void-unknown-diversion"),
        pytest.param(["forecast", "--samples", "0"], ("samples",), id="zero-samples"),
        pytest.param(
            [
                *("order", "P1", "--org", "alpha", "--vendor", "nvidia", "--sku", "H100"),
                *("--qty", "abc", "--on", "2024-01-01"),
            ],
            ("qty",),
            id="qty-not-a-number",
        ),
        pytest.param(["order", "P1", "--org", "alpha"], ("missing",), id="missing-option"),
    ],
)
def test_reported_mistakes_are_one_line_exit_2(
    books: str, capsys: pytest.CaptureFixture[str], args: list[str], names: tuple[str, ...]
) -> None:
    before = fingerprint(books)
    code, _, err = run(capsys, "--db", books, *args)
    _one_line_exit_2(code, err, *names)
    assert fingerprint(books) == before


def test_an_unwritable_export_is_one_line_exit_2(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", books, "export", "/nonexistent-dir/out.yaml")
    _one_line_exit_2(code, err, "nonexistent-dir")


@pytest.mark.parametrize("args", [[], ["divert"], ["token"]], ids=["root", "divert", "token"])
def test_a_group_without_a_command_prints_its_help(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 0 and err == ""
    assert "Usage:" in out and "Commands" in out
