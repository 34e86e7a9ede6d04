"""Verbs check ownership (issue 10, item 4 and the reservation of item 10).

An order id never changes org; a lot ships only against an order of its
consignee; only a planner of the giving org reserves its units.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World
from tests.security.conftest import books, find

ORDER = {"vendor": "nvidia", "sku": "H100", "qty": 1, "ordered_on": "2024-01-15"}
LOT = {"qty": 5, "ships_on": "2024-01-20", "arrives_on": "2024-01-30"}


def error_of(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["error"]["message"]
    return message


def test_an_order_id_never_changes_org(world: World) -> None:
    before = books(world)
    body = {"id": "PO-T", "org": "acme", **ORDER}
    message = error_of(world.call("acmeplanner", "POST", "/orders", body), 409)
    assert "never changes org" in message and "tesla" not in message
    assert books(world) == before
    assert find(books(world).orders, "PO-T").org == "tesla"
    # the owner may still amend its own order
    world.ok("planner", "POST", "/orders", {"id": "PO-T", "org": "tesla", **ORDER, "qty": 999_999})
    assert find(books(world).orders, "PO-T").qty == 999_999


def test_a_lot_ships_only_against_an_order_of_its_consignee(world: World) -> None:
    before = books(world)
    body = {"id": "L-STEAL", "order": "PO-T", "consignee": "acme", **LOT}
    message = error_of(world.call("acmeplanner", "POST", "/lots", body), 404)
    # as if the order did not exist: nothing said of tesla's order
    assert "tesla" not in message and "1000000" not in message.replace(",", "")
    assert books(world) == before
    world.ok("acmeplanner", "POST", "/orders", {"id": "PO-A2", "org": "acme", **ORDER, "qty": 9})
    own = {"id": "L-OWN", "order": "PO-A2", "consignee": "acme", **LOT}
    world.ok("acmeplanner", "POST", "/lots", own)


def test_only_a_planner_of_the_giver_reserves_its_units(world: World) -> None:
    body = {
        "id": "D-TAKE",
        "lot": "LOT-T1",
        "qty": 12000,
        "from_org": "tesla",
        "to_org": "x",
        "on": "2024-02-01",
    }
    # x's planner does not see tesla: as if it did not exist, and no stock is named
    message = error_of(world.call("xplanner", "POST", "/diversions", body), 404)
    assert "units" not in message and "12000" not in message.replace(",", "")
    assert world.call("root", "GET", "/diversions/D-TAKE").status_code == 404
    # tesla's own deploy of all its units still runs
    deploy = {"id": "DEP-ALL", "qty": 12000, "on": "2024-02-01", "org": "tesla",
              "cluster": "tesla-train", "lot": "LOT-T1"}  # fmt: skip
    world.ok("planner", "POST", "/movements/deploy", deploy)


def test_a_viewer_of_the_giver_may_not_reserve_its_units(world: World) -> None:
    body = {"id": "D-V", "lot": "LOT-T1", "qty": 1, "from_org": "tesla", "to_org": "x",
            "on": "2024-02-01"}  # fmt: skip
    message = error_of(world.call("viewer", "POST", "/diversions", body), 403)
    assert "planner role" in message
