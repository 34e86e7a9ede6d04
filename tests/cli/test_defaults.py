"""One default policy everywhere: the books as they stand (``consigned``)."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run


@pytest.mark.parametrize(
    "command", [["plan"], ["forecast", "--samples", "20"], ["impact", "--slip", "LOT-A-3:30"]]
)
def test_planning_commands_default_to_consigned(
    books: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = run(capsys, "--db", books, *command, "--json")
    assert code == 0, err
    default = json.loads(out)
    assert default["policy"] == "consigned"
    code, out, err = run(capsys, "--db", books, *command, "--policy", "consigned", "--json")
    assert code == 0, err
    assert json.loads(out) == default
