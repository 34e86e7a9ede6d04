"""A deploy beyond a site's powered capacity: the API refuses it as the ledger does (409)."""

from __future__ import annotations

from tests.api.conftest import World

SITES = """\
name: api-sites
as_of: 2024-01-31
skus: [{id: H100, tdp_w: 700}]
groups: [{id: musk}]
orgs: [{id: tesla, group: musk}]
sites:
  - {id: tx, org: tesla, power: [{from: 2024-01-01, mw: 1.2}]}
clusters: [{id: tesla-sited, org: tesla, site: tx}]
"""


def _deploy(qty: int, ident: str) -> dict[str, object]:
    return {
        "id": ident,
        "qty": qty,
        "on": "2024-01-31",
        "org": "tesla",
        "cluster": "tesla-sited",
        "lot": "LOT-T1",
    }


def test_the_api_refuses_a_deploy_beyond_the_sites_power(world: World) -> None:
    world.ok("root", "POST", "/scenario", {"yaml": SITES, "filename": "sites.yaml"})
    ledger = world.app.state.backend.ledger
    before = ledger.event_count()
    # 1.2 MW runs 784 H100 at 700 W x 1.82 x 1.2 (the default parameters).
    r = world.call("root", "POST", "/movements/deploy", _deploy(785, "DEP-785"))
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "capacity_exceeded"
    assert "site 'tx'" in error["message"] and "room for 784" in error["message"]
    assert ledger.event_count() == before
    world.ok("root", "POST", "/movements/deploy", _deploy(784, "DEP-784"))
    rows = world.ok("root", "GET", "/balances")["balances"]
    sited = [b for b in rows if b["owner"] == "cluster:tesla-sited"]
    assert sited and sited[0]["site"] == "tx" and sited[0]["posted"] == 784
