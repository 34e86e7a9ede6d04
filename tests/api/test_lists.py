"""The API's lists (`/lists/<kind>`, `/orgs`, `/orders`, `/lots`, `/targets`): paged, visible."""

from __future__ import annotations

import pytest

from gpuledger.domain.enums import ListKind
from tests.api.conftest import World


@pytest.mark.parametrize("kind", list(ListKind), ids=str)
def test_each_kind_is_listed_with_only_what_the_caller_sees(
    shared_world: World, kind: ListKind
) -> None:
    everything = shared_world.ok("root", "GET", f"/lists/{kind}?limit=1000")
    tesla = shared_world.ok("viewer", "GET", f"/lists/{kind}?limit=1000")
    assert everything["kind"] == tesla["kind"] == str(kind)
    assert {r["id"] for r in tesla["items"]} <= {r["id"] for r in everything["items"]}
    for row in tesla["items"]:
        touched = {row.get(k) for k in ("id", "org", "consignee", "from_org", "to_org")}
        assert touched & {"tesla"}, row
    if kind in (ListKind.ORGS, ListKind.ORDERS, ListKind.LOTS, ListKind.TARGETS):
        assert shared_world.ok("viewer", "GET", f"/{kind}?limit=1000") == tesla


def test_lots_page_with_next_links(shared_world: World) -> None:
    first = shared_world.ok("root", "GET", "/lots?limit=1")
    assert first["total"] == 2 and len(first["items"]) == 1 and first["next"]
    second = shared_world.client.get(
        first["next"], headers={"Authorization": f"Bearer {shared_world.tokens['root']}"}
    ).json()
    assert second["next"] is None
    assert [first["items"][0]["id"], second["items"][0]["id"]] == ["LOT-T1", "LOT-A1"]
    assert first["items"][0]["status"] == "received"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/orgs?status=open", "invalid"),
        ("/lots?status=shipped", "invalid"),
        ("/lots?from=2024-02-01&to=2024-01-01", "invalid"),
        ("/lots?limit=100000", "invalid"),
        ("/lots?org=acme", "not_found"),
    ],
)
def test_bad_filters_are_4xx_with_a_code(shared_world: World, path: str, code: str) -> None:
    r = shared_world.call("viewer", "GET", path)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] == code, r.text


def test_orders_filter_by_org_and_status(shared_world: World) -> None:
    rows = shared_world.ok("root", "GET", "/orders?org=tesla&status=open")["items"]
    assert [(r["id"], r["left"]) for r in rows] == [("PO-T", 1_000_000 - 12_000)]
