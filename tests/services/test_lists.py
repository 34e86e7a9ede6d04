"""The lists against the books: every filter keeps exactly the records the books say it should."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gpuledger.domain import InvalidInput, Order, UnknownRecord
from gpuledger.domain.enums import ListKind, LotStatus, OrderStatus
from gpuledger.ledger import Ledger
from gpuledger.scenario import load_scenario
from gpuledger.services.lists import SPECS, list_records, parse_query
from gpuledger.services.visibility import Visibility
from tests.cli.conftest import SMALL

NOW = datetime(2024, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    db: Path = tmp_path_factory.mktemp("lists") / "books.db"
    led = Ledger.open(f"sqlite:///{db}", clock=lambda: NOW)
    led.import_scenario(load_scenario(SMALL), actor="setup")
    # an order no lot covers yet: 400 left
    led.order(
        Order("PO-BETA-2", "beta", "nvidia", "H100-SXM5-80GB", 400, date(2024, 3, 1)), actor="t"
    )
    yield led
    led.close()


def ids(ledger: Ledger, kind: ListKind, **filters: str) -> list[str]:
    return [str(r["id"]) for r in list_records(ledger, parse_query(kind, **filters)).rows()]


def test_lots_say_where_they_stand_and_what_is_left_of_their_order(ledger: Ledger) -> None:
    rows = {r.id: r for r in list_records(ledger, parse_query(ListKind.LOTS)).items}
    books = ledger.to_scenario()
    assert list(rows) == [lot.id for lot in books.lots]
    # shipped and received in the books (their ship date is before the books' today)
    assert {k for k, r in rows.items() if r.status is LotStatus.RECEIVED} == {
        "LOT-A-1",
        "LOT-A-2",
        "LOT-B-1",
    }
    assert {k for k, r in rows.items() if r.status is LotStatus.EXPECTED} == {"LOT-A-3", "LOT-B-2"}
    for r in rows.values():  # what is left of the order: its qty less every lot against it
        order = next(o for o in books.orders if o.id == r.order)
        assert r.left == order.qty - sum(x.qty for x in books.lots if x.order == order.id)


def test_orders_say_what_lots_cover_and_what_is_left(ledger: Ledger) -> None:
    rows = {r.id: r for r in list_records(ledger, parse_query(ListKind.ORDERS)).items}
    assert (rows["PO-BETA-2"].in_lots, rows["PO-BETA-2"].left) == (0, 400)
    assert rows["PO-BETA-2"].status is OrderStatus.OPEN
    assert (rows["PO-ALPHA-1"].left, rows["PO-ALPHA-1"].status) == (0, OrderStatus.COVERED)
    assert ids(ledger, ListKind.ORDERS, status="open") == ["PO-BETA-2"]


@pytest.mark.parametrize(
    ("kind", "filters", "expected"),
    [
        pytest.param(ListKind.ORGS, {}, ["alpha", "beta"], id="orgs"),
        pytest.param(ListKind.ORGS, {"org": "beta"}, ["beta"], id="orgs-one"),
        pytest.param(ListKind.ORDERS, {"org": "alpha"}, ["PO-ALPHA-1"], id="orders-org"),
        pytest.param(
            ListKind.ORDERS, {"start": "2023-04-01"}, ["PO-BETA-1", "PO-BETA-2"], id="orders-from"
        ),
        pytest.param(
            ListKind.LOTS, {"org": "beta", "status": "expected"}, ["LOT-B-2"], id="lots-org-status"
        ),
        pytest.param(
            ListKind.LOTS,
            {"start": "2023-12-01", "end": "2024-05-20"},
            ["LOT-A-2", "LOT-A-3", "LOT-B-1"],
            id="lots-dates-inclusive",
        ),
        pytest.param(ListKind.LOTS, {"sku": "B200"}, [], id="lots-other-sku"),
        pytest.param(
            ListKind.TARGETS, {"org": "alpha"}, ["alpha-q1", "alpha-train-h2"], id="targets-cluster"
        ),
        pytest.param(ListKind.TARGETS, {"end": "2024-06-30"}, ["alpha-q1", "beta-q2"], id="by"),
        pytest.param(ListKind.CLAIMS, {"status": "target"}, [], id="claims-kind"),
        pytest.param(ListKind.CLAIMS, {"status": "actual"}, ["alpha-2k"], id="claims-actual"),
        pytest.param(ListKind.DIVERSIONS, {"org": "beta"}, ["DIV-A2-BETA"], id="div-receiver"),
        pytest.param(ListKind.DIVERSIONS, {"status": "pending"}, [], id="div-status"),
    ],
)
def test_filters(
    ledger: Ledger, kind: ListKind, filters: dict[str, str], expected: list[str]
) -> None:
    assert ids(ledger, kind, **filters) == expected


def test_a_reader_sees_only_their_orgs(ledger: Ledger) -> None:
    books = ledger.to_scenario()
    beta = Visibility(frozenset({"beta"}), False, Visibility.everything(books).consumer_org)
    for kind in ListKind:
        rows = list_records(ledger, parse_query(kind), beta).items
        orgs = {o for r in rows for o in SPECS[kind].orgs(r)}
        assert not rows or "beta" in orgs
        if kind is not ListKind.DIVERSIONS:  # a diversion shows both sides
            assert orgs <= {"beta"}, (kind, orgs)
    with pytest.raises(UnknownRecord, match="alpha"):
        list_records(ledger, parse_query(ListKind.LOTS, org="alpha"), beta)


@pytest.mark.parametrize(
    ("kind", "filters", "named"),
    [
        (ListKind.ORGS, {"sku": "H100"}, "--sku"),
        (ListKind.ORGS, {"status": "open"}, "--status"),
        (ListKind.TARGETS, {"status": "open"}, "--status"),
        (ListKind.ORGS, {"end": "2024-01-01"}, "--to"),
        (ListKind.LOTS, {"status": "shipped"}, "--status"),
        (ListKind.LOTS, {"start": "2024-02-01", "end": "2024-01-01"}, "--from"),
        (ListKind.LOTS, {"org": "has space"}, "--org"),
    ],
    ids=str,
)
def test_a_filter_a_kind_does_not_take_is_refused(
    kind: ListKind, filters: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        parse_query(kind, **filters)


def test_sites_give_the_power_in_force_on_the_books_date_and_since_when(tmp_path: Path) -> None:
    from gpuledger.scenario import demo_scenario_path

    led = Ledger.open(f"sqlite:///{tmp_path / 'story.db'}", create=True, clock=lambda: NOW)
    try:
        story = load_scenario(demo_scenario_path())
        led.import_scenario(story, actor="setup")
        rows = {r.id: r for r in list_records(led, parse_query(ListKind.SITES)).items}
        assert set(rows) == {s.id for s in story.sites}
        for site in story.sites:  # the latest step on or before the books' date, by hand
            steps = sorted(p for p in site.power if p.from_date <= story.as_of)
            row = rows[site.id]
            assert (row.org, row.steps) == (site.org, len(site.power))
            if not site.power:
                assert (row.mw, row.since) == (None, None)
            elif not steps:
                assert (row.mw, row.since) == (0.0, None)
            else:
                last = max(steps, key=lambda p: p.from_date)
                assert (row.mw, row.since) == (last.mw, last.from_date)
        tesla = [r.id for r in list_records(led, parse_query(ListKind.SITES, org="tesla")).items]
        assert tesla and all(rows[i].org == "tesla" for i in tesla)
        with pytest.raises(InvalidInput, match="--sku: sites have no SKU"):
            parse_query(ListKind.SITES, sku="H100")
    finally:
        led.close()
