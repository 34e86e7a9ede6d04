"""A movement typed on the command line is the same movement as in the scenario file.

Both derive the id of a movement given without one from its content (one
derivation, ``gpuledger.domain.ids.movement_id``), so typing a deploy that the
file already holds changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import SMALL, fingerprint, run

#: small.yaml with its deploy given no id, and for 400 of LOT-A-1's units only.
DEPLOY = (
    "{op: deploy, id: DEP-A1, qty: 1000, on: 2023-11-27, org: alpha, lot: LOT-A-1, "
    "cluster: alpha-train}"
)
UNNAMED = "{op: deploy, qty: 400, on: 2023-11-27, org: alpha, lot: LOT-A-1, cluster: alpha-train}"
TYPED = ["deploy", "LOT-A-1", "--qty", "400", "--org", "alpha", "--cluster", "alpha-train"]


def deployed(capsys: pytest.CaptureFixture[str], db: str) -> int:
    code, out, err = run(capsys, "--db", db, "balances", "--json")
    assert code == 0, err
    rows = json.loads(out)["balances"]
    return sum(r["posted"] for r in rows if r["owner"] == "cluster:alpha-train")


def test_the_same_deploy_from_the_file_and_the_command_line_is_one_movement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SMALL.read_text()
    assert DEPLOY in text
    scenario = tmp_path / "unnamed.yaml"
    scenario.write_text(text.replace(DEPLOY, UNNAMED))
    db = str(tmp_path / "books.db")
    assert run(capsys, "--db", db, "import", str(scenario))[0] == 0
    assert deployed(capsys, db) == 400
    before = fingerprint(db)
    code, _, err = run(capsys, "--db", db, *TYPED, "--on", "2023-11-27")
    assert code == 0, err
    assert deployed(capsys, db) == 400  # not 800: the same movement, recorded once
    assert fingerprint(db) == before
    # a different day is a different movement
    assert run(capsys, "--db", db, *TYPED, "--on", "2023-11-28")[0] == 0
    assert deployed(capsys, db) == 800
