"""Sites at the command line: a deploy beyond a site's power is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import fingerprint, run

SITES = """\
name: cli-sites
as_of: 2024-03-01
skus: [{id: H100, tdp_w: 700}]
vendors: [{id: nvidia}]
orgs: [{id: tesla}]
sites:
  - {id: tx, org: tesla, power: [{from: 2024-01-01, mw: 1.2}]}
clusters: [{id: cortex, org: tesla, site: tx}]
orders: [{id: PO, org: tesla, vendor: nvidia, sku: H100, qty: 5000, ordered_on: 2023-01-01}]
lots:
  - {id: L1, order: PO, qty: 5000, ships_on: 2024-01-02, arrives_on: 2024-01-05, consignee: tesla}
"""


def test_the_cli_refuses_a_deploy_beyond_the_sites_power(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, fleet = str(tmp_path / "books.db"), tmp_path / "sites.yaml"
    fleet.write_text(SITES, encoding="utf-8")
    assert run(capsys, "--db", db, "import", str(fleet))[0] == 0
    before = fingerprint(db)
    args = ["--db", db, "deploy", "L1", "--org", "tesla", "--cluster", "cortex", "--on"]
    code, _, err = run(capsys, *args, "2024-02-01", "--qty", "785")
    assert code == 2 and err.count("\n") == 1
    assert "site 'tx'" in err and "room for 784" in err and "asked for 785" in err
    assert fingerprint(db) == before
    code, out, _ = run(capsys, *args, "2024-02-01", "--qty", "784")
    assert code == 0
    code, out, _ = run(capsys, "--db", db, "balances", "--json")
    rows = json.loads(out)["balances"]
    assert [b["site"] for b in rows if b["owner"] == "cluster:cortex"] == ["tx"]
