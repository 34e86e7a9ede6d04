"""What a reader sees of the books: one rule for the API, the web and the reports."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from gpuledger.domain import (
    Balance,
    Bucket,
    Cluster,
    Diversion,
    Lot,
    Org,
    OrgRole,
    PermissionDenied,
    Scenario,
    UnknownRecord,
)
from gpuledger.governance.rules import Access
from gpuledger.services.visibility import Visibility, consumer_orgs, event_orgs

BOOKS = Scenario(
    name="t",
    as_of=date(2024, 1, 1),
    orgs=(Org("tesla", group="musk"), Org("x", group="musk"), Org("acme")),
    clusters=(Cluster("cortex", "tesla"), Cluster("acme-train", "acme")),
    lots=(Lot("LOT-T", "PO-T", 5, date(2023, 1, 1), date(2023, 1, 2), "tesla"),),
)


def seen(*orgs: str) -> Visibility:
    return Visibility.of(Access("u", dict.fromkeys(orgs, OrgRole.VIEWER)), BOOKS)


def test_the_cluster_to_org_map() -> None:
    assert consumer_orgs(BOOKS) == {
        "tesla": "tesla",
        "x": "x",
        "acme": "acme",
        "cortex": "tesla",
        "acme-train": "acme",
    }


@pytest.mark.parametrize(
    ("orgs", "owner", "shown"),
    [
        (("tesla",), "org:tesla", True),
        (("tesla",), "cluster:cortex", True),
        (("tesla",), "cluster:acme-train", False),
        (("tesla",), "org:acme", False),
        (("tesla",), "vendor:nvidia", False),  # sums over every org
        (("tesla", "x", "acme"), "vendor:nvidia", True),
        (("tesla",), "cluster:unknown", False),
    ],
    ids=str,
)
def test_accounts(orgs: tuple[str, ...], owner: str, shown: bool) -> None:
    assert seen(*orgs).sees_owner(owner) is shown
    rows = [Balance(owner, Bucket.STOCK, "H100", 1, 0)]
    assert len(seen(*orgs).balances(rows)) == int(shown)


def test_the_holder_of_the_books_sees_everything() -> None:
    everything = Visibility.everything(BOOKS)
    assert everything.every_org and everything.sees_owner("vendor:nvidia")
    assert everything.consumers == {"tesla", "x", "acme", "cortex", "acme-train"}


def test_requirements_answer_as_if_the_record_did_not_exist() -> None:
    tesla = seen("tesla")
    assert tesla.require_lot("LOT-T", BOOKS) == "tesla"
    with pytest.raises(UnknownRecord, match="LOT-T"):
        seen("x").require_lot("LOT-T", BOOKS)
    with pytest.raises(UnknownRecord, match="acme"):
        tesla.only("acme")
    assert tesla.only("tesla").consumers == {"tesla", "cortex"}
    with pytest.raises(PermissionDenied):
        seen().require_some_org("u")
    with pytest.raises(PermissionDenied, match="1 not covered"):
        seen("tesla", "x").require_every_org("u", BOOKS)


def test_a_diversion_is_seen_from_either_side() -> None:
    d = Diversion("D", "LOT-T", 1, "tesla", "x", date(2024, 1, 1))
    assert seen("x").sees_diversion(d) and seen("tesla").sees_diversion(d)
    assert not seen("acme").sees_diversion(d)


def test_events_name_orgs_through_accounts_sides_and_clusters() -> None:
    body = {
        "input": {"from": "tesla", "to": "x"},
        "transfers": [{"debit": "cluster:cortex/deployed", "credit": "vendor:nvidia/world"}],
    }
    assert event_orgs(body, consumer_orgs(BOOKS)) == {"tesla", "x"}
    assert seen("acme").sees_event({"data": {"id": "H100"}})  # names no org: everyone
    assert not seen("acme").sees_event(body)


def test_what_every_reader_shares_is_worked_out_once_per_reading_of_the_books() -> None:
    """Every request asks what its caller sees: the cluster-to-org map and the
    diversions' sides, O(books), are the same for every caller of one reading
    (issue 16: 8% of the server's time in the API mix went on rebuilding them)."""
    books = dataclasses.replace(
        BOOKS, diversions=(Diversion("D", "LOT-T", 1, "tesla", "x", date(2024, 1, 1)),)
    )
    one = Visibility.of(Access("u", {"tesla": OrgRole.VIEWER}), books)
    two = Visibility.of(Access("v", {"acme": OrgRole.VIEWER}), books)
    assert one.consumer_org is two.consumer_org
    assert one.diversion_orgs is two.diversion_orgs
    assert Visibility.everything(books).diversion_orgs is one.diversion_orgs
    assert one.diversion_orgs == {"D": frozenset({"tesla", "x"})}
    assert one.sees_event({"diversion": "D"}) and not two.sees_event({"diversion": "D"})
    with pytest.raises(TypeError):
        one.consumer_org["cortex"] = "acme"  # type: ignore[index]
    # another reading (after a write): its own answer
    later = dataclasses.replace(
        books,
        diversions=(
            *books.diversions,
            Diversion("E", "LOT-T", 1, "tesla", "acme", date(2024, 1, 2)),
        ),
    )
    three = Visibility.of(Access("v", {"acme": OrgRole.VIEWER}), later)
    assert three.diversion_orgs["E"] == frozenset({"tesla", "acme"})
    assert three.sees_event({"diversion": "E"})
