"""``gpuledger import-epoch``: thin over the service; a report per reason, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import fingerprint, run


def test_import_epoch_for_one_owner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "books.db")
    code, out, err = run(capsys, "--db", db, "import-epoch", "--owner", "xAI", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["created"]["orgs"] == 1 and data["created"]["sites"] == 2
    assert data["created"]["claims"] == 3
    assert data["skipped_by_reason"] == {"planned: no actual claim": 4}
    # Colossus phases 1-3 and Colossus 2 phases 1-2 at their data centers
    assert data["clusters_at_sites"] == 5
    assert sum(data["at_no_site_by_reason"].values()) == len(data["at_no_site"])
    assert data["credit"].startswith("Epoch AI")
    code, out, _ = run(capsys, "--db", db, "import-epoch", "--owner", "xAI")
    assert code == 0
    assert "0 new events" in out and "Data: Epoch AI" in out
    assert "5 clusters at their data center" in out


def test_a_missing_file_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "books.db")
    code, _, err = run(capsys, "--db", db, "init")
    before = fingerprint(db)
    code, _, err = run(capsys, "--db", db, "import-epoch", "--clusters", str(tmp_path / "no.csv"))
    assert code == 2
    assert err.strip().count("\n") == 0 and "--clusters" in err
    assert fingerprint(db) == before
