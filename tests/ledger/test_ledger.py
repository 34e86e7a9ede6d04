"""The ledger verbs and reads, on SQLite and on PostgreSQL (``ledger`` fixture)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from gpuledger import domain as d
from gpuledger.domain import Account, Bucket, Decision, DiversionStatus
from gpuledger.ledger import EventKind, Ledger, Receipt
from gpuledger.ledger.balances import fold
from gpuledger.ledger.schema import transfers

from .conftest import H100, FakeClock, base, reference

TESLA_STOCK = Account("org:tesla", Bucket.STOCK)


def posted(ledger: Ledger, owner: str, bucket: Bucket, **kw: date | None) -> int:
    return sum(b.posted for b in ledger.balances(**kw) if b.owner == owner and b.bucket is bucket)


def pending(ledger: Ledger, owner: str, bucket: Bucket) -> int:
    return sum(b.pending for b in ledger.balances() if b.owner == owner and b.bucket is bucket)


def assert_conserved(ledger: Ledger) -> None:
    totals: dict[str, int] = {}
    for b in ledger.balances():
        totals[b.sku] = totals.get(b.sku, 0) + b.posted
    assert all(v == 0 for v in totals.values()), totals


def divert(id: str, lot: str, qty: int, on: date = date(2023, 12, 6), **kw: object) -> d.Diversion:
    return d.Diversion(id, lot, qty, "a", "b", on, status=d.DiversionStatus.PENDING, **kw)  # type: ignore[arg-type]


@pytest.fixture
def shipped(ledger: Ledger) -> Ledger:
    """Reference documents imported, L1 (100) and L2 (50) shipped to org a."""
    ledger.import_scenario(reference())
    lots = {lot.id: lot for lot in reference().lots}
    ledger.ship(lots["L1"], actor="alice")
    ledger.ship(lots["L2"], actor="alice")
    return ledger


# --------------------------------------------------------------------------- import


def test_import_posts_the_story_up_to_as_of(ledger: Ledger) -> None:
    report = ledger.import_scenario(base())
    # hand count: ship x4, receive x4, propose, post, payback, deploy = 12 transfers
    assert report.new_transfers == 12
    assert posted(ledger, "org:tesla", Bucket.STOCK) == 12_000 + 10_000 - 5_000
    assert posted(ledger, "cluster:cortex", Bucket.DEPLOYED) == 5_000
    assert posted(ledger, "org:x", Bucket.STOCK) == 12_000 + 12_000  # T1-07 diverted, X1-02
    assert posted(ledger, "vendor:nvidia", Bucket.WORLD) == -46_000
    assert_conserved(ledger)
    assert ledger.verify().ok


def test_reimport_is_a_no_op(ledger: Ledger) -> None:
    first = ledger.import_scenario(base())
    before = ledger.event_count()
    again = ledger.import_scenario(base())
    assert again.new_events == 0
    assert again.existing_events == first.new_events + first.existing_events
    assert ledger.event_count() == before


def test_later_as_of_posts_only_what_came_due(ledger: Ledger) -> None:
    early = ledger.import_scenario(base(as_of=date(2024, 1, 15)))
    # by 2024-01-15: ship T1-07, propose, post, receive by x, ship X1-01, payback
    assert early.new_transfers == 6
    late = ledger.import_scenario(base())
    assert late.new_transfers == 12 - 6
    assert late.new_documents == 1  # only the scenario head (its as_of) changed
    assert posted(ledger, "org:tesla", Bucket.STOCK) == 17_000
    assert ledger.verify().ok


def test_import_is_atomic(ledger: Ledger) -> None:
    too_many = d.Movement("M-BAD", d.TransferKind.DEPLOY, 999_999, date(2024, 3, 2), "tesla",
                          lot="LOT-T1-08", cluster="cortex")  # fmt: skip
    bad = base(movements=(*base().movements, too_many))
    with pytest.raises(d.InsufficientUnits, match="LOT-T1-08"):
        ledger.import_scenario(bad)
    assert ledger.event_count() == 0
    assert ledger.balances() == []


def test_import_refuses_unknown_records(ledger: Ledger) -> None:
    stray = d.Lot("L-X", "PO-NOPE", 5, date(2024, 1, 1), date(2024, 1, 2), "tesla")
    bad = base(lots=(*base().lots, stray))
    with pytest.raises(d.UnknownRecord, match="PO-NOPE"):
        ledger.import_scenario(bad)
    assert ledger.event_count() == 0


def test_export_round_trip(ledger: Ledger, clock: FakeClock) -> None:
    ledger.import_scenario(base())
    exported = ledger.to_scenario()
    assert exported.as_of == date(2024, 7, 1)
    assert {lot.id for lot in exported.lots} == {lot.id for lot in base().lots}
    assert exported.diversions[0].status is DiversionStatus.POSTED
    assert exported.diversions[0].known_on == date(2024, 6, 4)
    assert ledger.import_scenario(exported).new_events == 0
    fresh = Ledger.open("sqlite://", clock=clock)
    fresh.import_scenario(exported)
    assert fresh.balances() == ledger.balances()
    fresh.close()


# --------------------------------------------------------------------------- bitemporal


def test_diversion_known_in_june_is_invisible_in_april(ledger: Ledger) -> None:
    ledger.import_scenario(base())
    april = {"as_of": date(2024, 4, 23), "known_on": date(2024, 4, 23)}
    kinds = {t.kind for t in ledger.transfers(**april)}
    assert d.TransferKind.DIVERT not in kinds
    assert d.TransferKind.PAYBACK not in kinds
    then = ledger.trace("LOT-T1-07", **april)
    assert then.holdings == {Account("org:tesla", Bucket.IN_TRANSIT): 12_000}
    now = ledger.trace("LOT-T1-07", as_of=date(2024, 4, 23))
    assert now.holdings == {Account("org:x", Bucket.STOCK): 12_000}
    assert posted(ledger, "org:x", Bucket.STOCK, **april) == 0


def test_as_of_cuts_effective_dates(ledger: Ledger) -> None:
    ledger.import_scenario(base())
    # 2023-12-12: T1-07 shipped 12-04 and diverted 12-10, arrives 12-18
    assert posted(ledger, "org:x", Bucket.IN_TRANSIT, as_of=date(2023, 12, 12)) == 12_000
    assert posted(ledger, "org:tesla", Bucket.IN_TRANSIT, as_of=date(2023, 12, 12)) == 0
    assert posted(ledger, "org:x", Bucket.STOCK, as_of=date(2023, 12, 18)) == 12_000


# --------------------------------------------------------------------------- verbs


def test_ship_receive_deploy_fail_return(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    move = d.Movement("M1", d.TransferKind.DEPLOY, 60, date(2023, 12, 11), "a", lot="L1",
                      cluster="ca")  # fmt: skip
    shipped.deploy(move, actor="bob")
    shipped.fail(d.Movement("F1", d.TransferKind.FAIL, 4, date(2024, 1, 1), "a", cluster="ca"),
                 actor="bob")  # fmt: skip
    shipped.return_units(d.Movement("R1", d.TransferKind.RETURN, 3, date(2024, 1, 5), "a"),
                         actor="bob")  # fmt: skip
    trace = shipped.trace("L1")
    assert trace.shipped == 100
    assert trace.holdings == {
        Account("cluster:ca", Bucket.DEPLOYED): 56,
        Account("org:a", Bucket.FAILED): 1,
        Account("org:a", Bucket.STOCK): 40,
    }
    assert posted(shipped, "org:a", Bucket.IN_TRANSIT) == 50  # L2 still travelling
    assert posted(shipped, "vendor:nvidia", Bucket.WORLD) == -150 + 3
    assert_conserved(shipped)
    assert shipped.verify().ok


def test_movement_without_lot_takes_first_shipped_lots(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    shipped.receive("L2", date(2023, 12, 20), actor="bob")
    shipped.deploy(d.Movement("M1", d.TransferKind.DEPLOY, 120, date(2024, 1, 2), "a",
                              cluster="ca"), actor="bob")  # fmt: skip
    assert shipped.trace("L1").holdings == {Account("cluster:ca", Bucket.DEPLOYED): 100}
    assert shipped.trace("L2").holdings == {
        Account("cluster:ca", Bucket.DEPLOYED): 20,
        Account("org:a", Bucket.STOCK): 30,
    }


def test_deploy_beyond_stock_is_refused_and_writes_nothing(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    before = shipped.event_count()
    move = d.Movement("M1", d.TransferKind.DEPLOY, 101, date(2023, 12, 11), "a", lot="L1",
                      cluster="ca")  # fmt: skip
    with pytest.raises(d.InsufficientUnits, match=r"org:a/stock has 100 .* asked for 101"):
        shipped.deploy(move, actor="bob")
    assert shipped.event_count() == before


def test_deploy_to_another_orgs_cluster_is_refused(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    move = d.Movement("M1", d.TransferKind.DEPLOY, 1, date(2023, 12, 11), "a", cluster="cb")
    with pytest.raises(d.LedgerError, match="belongs to org 'b'"):
        shipped.deploy(move, actor="bob")


def test_same_id_same_content_is_a_no_op(shipped: Ledger) -> None:
    before = shipped.event_count()
    shipped.ship(reference().lots[0], actor="someone-else")
    assert shipped.event_count() == before


def test_same_id_other_content_is_refused(shipped: Ledger) -> None:
    before = shipped.event_count()
    changed = d.Lot("L1", "PO-A", 101, date(2023, 12, 1), date(2023, 12, 10), "a")
    with pytest.raises(d.IdempotencyConflict, match="ship:L1"):
        shipped.ship(changed, actor="alice")
    assert shipped.event_count() == before


def test_order_is_a_versioned_document(ledger: Ledger) -> None:
    ledger.import_scenario(reference())
    bigger = d.Order("PO-A", "a", "nvidia", H100, 2000, date(2023, 3, 1))
    ledger.order(bigger, actor="alice")
    ledger.order(bigger, actor="alice")
    assert ledger.to_scenario().orders == (bigger,)
    docs = [e for e in ledger.events(kind=EventKind.DOCUMENT) if e.body["id"] == "PO-A"]
    assert [e.body["data"]["qty"] for e in docs] == [1000, 2000]


# --------------------------------------------------------------------------- diversions


def test_pending_diversion_reserves_units(shipped: Ledger) -> None:
    shipped.propose_diversion(divert("D1", "L1", 70), actor="carol")
    assert pending(shipped, "org:a", Bucket.IN_TRANSIT) == -70
    assert pending(shipped, "org:b", Bucket.IN_TRANSIT) == 70
    assert posted(shipped, "org:a", Bucket.IN_TRANSIT) == 150  # nothing moved yet
    with pytest.raises(d.InsufficientUnits, match=r"org:a/in_transit has 30 .*L1.*asked for 31"):
        shipped.propose_diversion(divert("D2", "L1", 31), actor="dave")
    shipped.propose_diversion(divert("D3", "L1", 30), actor="dave")


def test_approve_posts_and_reject_releases(shipped: Ledger) -> None:
    shipped.propose_diversion(divert("D1", "L1", 70), actor="carol")
    shipped.propose_diversion(divert("D2", "L1", 30), actor="carol")
    assert shipped.decide("D1", Decision.APPROVE, actor="erin") is DiversionStatus.POSTED
    assert shipped.decide("D2", Decision.REJECT, actor="erin") is DiversionStatus.VOIDED
    assert posted(shipped, "org:b", Bucket.IN_TRANSIT) == 70
    assert pending(shipped, "org:a", Bucket.IN_TRANSIT) == 0
    # units released by the rejection can be diverted again
    shipped.propose_diversion(divert("D4", "L1", 30), actor="carol")
    view = shipped.diversion("D1")
    assert view.status is DiversionStatus.POSTED
    assert [(x.decision, x.actor) for x in view.decisions] == [
        (Decision.PROPOSE, "carol"),
        (Decision.APPROVE, "erin"),
    ]
    assert {t.phase for t in view.transfers} == {d.Phase.PENDING, d.Phase.POST}
    assert [v.diversion.id for v in shipped.diversions(DiversionStatus.VOIDED)] == ["D2"]


@pytest.mark.parametrize(
    ("first", "second", "outcome"),
    [
        (Decision.APPROVE, Decision.APPROVE, DiversionStatus.POSTED),
        (Decision.REJECT, Decision.REJECT, DiversionStatus.VOIDED),
        (Decision.APPROVE, Decision.REJECT, d.InvalidTransition),
        (Decision.VOID, Decision.APPROVE, d.InvalidTransition),
    ],
    ids=["approve-twice", "reject-twice", "reject-posted", "approve-voided"],
)
def test_decision_transitions(
    shipped: Ledger, first: Decision, second: Decision, outcome: object
) -> None:
    shipped.propose_diversion(divert("D1", "L1", 10), actor="carol")
    shipped.decide("D1", first, actor="erin")
    if isinstance(outcome, DiversionStatus):
        before = shipped.event_count()
        assert shipped.decide("D1", second, actor="frank") is outcome
        assert shipped.event_count() == before
    else:
        with pytest.raises(d.InvalidTransition, match="D1"):
            shipped.decide("D1", second, actor="frank")


def test_diversion_of_stock_after_arrival(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    shipped.propose_diversion(divert("D1", "L1", 10, on=date(2023, 12, 11)), actor="carol")
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    assert posted(shipped, "org:b", Bucket.STOCK) == 10
    assert posted(shipped, "org:b", Bucket.IN_TRANSIT) == 0


def test_receive_is_blocked_by_a_pending_diversion_in_transit(shipped: Ledger) -> None:
    shipped.propose_diversion(divert("D1", "L1", 10), actor="carol")
    with pytest.raises(d.InvalidTransition, match="D1"):
        shipped.receive("L1", date(2023, 12, 10), actor="bob")
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    assert posted(shipped, "org:a", Bucket.STOCK) == 90
    assert posted(shipped, "org:b", Bucket.STOCK) == 10  # each holder receives its part


def test_payback_at_posting_when_the_lot_shipped_already(shipped: Ledger) -> None:
    # b receives 20 of L1 from a on 12-02 and pays back 20 of LB, its lot shipping 12-05,
    # which has shipped when the diversion is approved: the payback is posted at once.
    shipped.order(d.Order("PO-B", "b", "nvidia", H100, 100, date(2023, 3, 1)), actor="alice")
    lb = d.Lot("LB", "PO-B", 50, date(2023, 12, 5), date(2023, 12, 20), "b")
    shipped.ship(lb, actor="alice")
    payback = (d.Payback("LB", 20),)
    shipped.propose_diversion(divert("D1", "L1", 20, on=date(2023, 12, 2), payback=payback),
                              actor="carol")  # fmt: skip
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    assert shipped.trace("LB").holdings == {
        Account("org:a", Bucket.IN_TRANSIT): 20,
        Account("org:b", Bucket.IN_TRANSIT): 30,
    }
    kinds = [t.kind for t in shipped.diversion("D1").transfers]
    assert kinds == [d.TransferKind.DIVERT, d.TransferKind.DIVERT, d.TransferKind.PAYBACK]
    [pay] = [t for t in shipped.diversion("D1").transfers if t.kind is d.TransferKind.PAYBACK]
    assert pay.effective_at == d.day_start(date(2023, 12, 5))  # when the lot shipped


def test_payback_when_the_lot_ships_later(ledger: Ledger) -> None:
    ledger.import_scenario(base(as_of=date(2023, 12, 31)))  # diversion posted, X1-01 not shipped
    assert posted(ledger, "org:tesla", Bucket.IN_TRANSIT) == 0
    ledger.ship(base().lots[1], actor="ops")  # LOT-X1-01 ships to x ...
    # ... and the payback moves it on to tesla at once
    assert ledger.trace("LOT-X1-01").holdings == {Account("org:tesla", Bucket.IN_TRANSIT): 12_000}


def test_unknown_diversion(ledger: Ledger) -> None:
    with pytest.raises(d.UnknownRecord, match="NOPE"):
        ledger.decide("NOPE", Decision.APPROVE, actor="erin")


# --------------------------------------------------------------------------- reversals


def test_reversal_is_an_appended_correction(shipped: Ledger) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    shipped.deploy(d.Movement("M1", d.TransferKind.DEPLOY, 60, date(2023, 12, 11), "a",
                              lot="L1", cluster="ca"), actor="bob")  # fmt: skip
    count = len(shipped.transfers())
    shipped.reverse("movement:M1:0", actor="auditor", reason="typo")
    shipped.reverse("movement:M1:0", actor="auditor", reason="typo")  # replay: no-op
    assert len(shipped.transfers()) == count + 1
    assert posted(shipped, "org:a", Bucket.STOCK) == 100
    assert posted(shipped, "cluster:ca", Bucket.DEPLOYED) == 0
    with pytest.raises(d.IdempotencyConflict, match="reverse:movement:M1:0"):
        shipped.reverse("movement:M1:0", actor="auditor", reason="another reason")
    with pytest.raises(d.UnknownRecord):
        shipped.reverse("nope", actor="auditor", reason="x")
    assert shipped.verify().ok


# --------------------------------------------------------------------------- reads


def test_events_are_paginated_with_actors(shipped: Ledger) -> None:
    everything = shipped.events(limit=1000)
    assert [e.seq for e in everything] == list(range(1, len(everything) + 1))
    page = shipped.events(limit=2, offset=len(everything) - 2)
    assert [e.id for e in page] == ["ship:L1", "ship:L2"]
    assert {e.actor for e in page} == {"alice"}


def test_balances_on_an_empty_ledger(ledger: Ledger) -> None:
    assert ledger.balances() == []
    assert ledger.verify().ok
    with pytest.raises(d.UnknownRecord):
        ledger.trace("nothing")


# --------------------------------------------------------------------------- batches


def batch_ops() -> list[object]:
    order = d.Order("PO-B", "b", "nvidia", H100, 300, date(2023, 3, 1))
    lot = d.Lot("LB1", "PO-B", 200, date(2023, 12, 2), date(2023, 12, 9), "b")
    deploy = d.Movement("MB1", d.TransferKind.DEPLOY, 150, date(2023, 12, 10), "b", lot="LB1",
                        cluster="cb")  # fmt: skip
    give = d.Diversion("DB1", "LB1", 50, "b", "c", date(2023, 12, 11),
                       status=DiversionStatus.PENDING)  # fmt: skip
    return [order, lot, Receipt("LB1", date(2023, 12, 9)), deploy, give]


def test_post_batch_applies_verbs_in_order(ledger: Ledger) -> None:
    ledger.import_scenario(reference())
    report = ledger.post_batch(batch_ops(), actor="loader")  # type: ignore[arg-type]
    assert (report.new_transfers, report.new_documents) == (4, 3)  # order, lot, diversion docs
    assert posted(ledger, "cluster:cb", Bucket.DEPLOYED) == 150
    assert pending(ledger, "org:b", Bucket.STOCK) == -50
    again = ledger.post_batch(batch_ops(), actor="loader")  # type: ignore[arg-type]
    assert again.new_events == 0
    assert [m.id for m in ledger.to_scenario().movements] == ["MB1"]
    assert ledger.verify().ok


def test_post_batch_is_all_or_nothing(ledger: Ledger) -> None:
    ledger.import_scenario(reference())
    before = ledger.event_count()
    too_much = d.Movement("MB2", d.TransferKind.DEPLOY, 51, date(2023, 12, 12), "b", lot="LB1",
                          cluster="cb")  # fmt: skip
    with pytest.raises(d.InsufficientUnits, match="MB2"):
        ledger.post_batch([*batch_ops(), too_much], actor="loader")  # type: ignore[list-item]
    assert ledger.event_count() == before


def test_transfer_json_shape(shipped: Ledger) -> None:
    row = shipped.transfers(lot="L1")[0].as_json()
    assert row == {
        "id": "ship:L1",
        "kind": "ship",
        "phase": "single",
        "debit": "vendor:nvidia/world",
        "credit": "org:a/in_transit",
        "sku": H100,
        "lot": "L1",
        "qty": 100,
        "pending_id": None,
        "diversion": None,
        "effective_at": "2023-12-01T00:00:00.000000+00:00",
        "recorded_at": "2026-01-05T12:00:00.000000+00:00",
    }


@pytest.mark.parametrize(
    ("as_of", "tesla", "x"),
    [(date(2023, 12, 9), 12_000, 0), (date(2023, 12, 10), 0, 12_000)],
    ids=["day-before", "day-of"],
)
def test_as_of_is_inclusive_of_its_day_only(
    ledger: Ledger, as_of: date, tesla: int, x: int
) -> None:
    ledger.import_scenario(base())  # the diversion is effective 2023-12-10
    assert posted(ledger, "org:tesla", Bucket.IN_TRANSIT, as_of=as_of) == tesla
    assert posted(ledger, "org:x", Bucket.IN_TRANSIT, as_of=as_of) == x
    holders = ledger.trace("LOT-T1-07", as_of=as_of).holdings
    assert sum(holders.values()) == 12_000


def test_timestamps_are_stored_like_sqlalchemy_binds_them(ledger: Ledger) -> None:
    # the batch writer bypasses SQLAlchemy's per-row binding: it must store the same text
    ledger.import_scenario(reference())
    ledger.ship(reference().lots[0], actor="ops")
    with ledger.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.count())
            .select_from(transfers)
            .where(transfers.c.effective_at == datetime(2023, 12, 1, tzinfo=UTC))
        ).scalar_one()
    assert found == 1


@pytest.mark.parametrize(
    ("changes", "field", "missing"),
    [
        pytest.param({"org": "nobody"}, "org", "nobody", id="unknown-org"),
        pytest.param({"vendor": "acme"}, "vendor", "acme", id="unknown-vendor"),
        pytest.param({"sku": "B200-NOPE"}, "sku", "B200-NOPE", id="unknown-sku"),
    ],
)
def test_order_refuses_unknown_references(
    ledger: Ledger, changes: dict[str, str], field: str, missing: str
) -> None:
    ledger.import_scenario(reference())
    before = ledger.event_count()
    good = d.Order("PO-NEW", "a", "nvidia", H100, 10, date(2024, 1, 2))
    bad = dataclasses.replace(good, **changes)  # type: ignore[arg-type]
    with pytest.raises(d.UnknownRecord, match=rf"order 'PO-NEW': {field} '{missing}'"):
        ledger.order(bad, actor="alice")
    assert ledger.event_count() == before
    ledger.order(good, actor="alice")  # the same order with known references is recorded
    assert ledger.event_count() == before + 1


@pytest.mark.parametrize(
    ("changes", "field", "missing"),
    [
        pytest.param({"order": "PO-NOPE"}, "order", "PO-NOPE", id="unknown-order"),
        pytest.param({"consignee": "nobody"}, "consignee", "nobody", id="unknown-consignee"),
    ],
)
def test_ship_refuses_unknown_references(
    ledger: Ledger, changes: dict[str, str], field: str, missing: str
) -> None:
    ledger.import_scenario(reference())
    before = ledger.event_count()
    lot = d.Lot("L9", "PO-A", 10, date(2024, 1, 2), date(2024, 1, 9), "a")
    with pytest.raises(d.UnknownRecord, match=rf"lot 'L9': {field} '{missing}'"):
        ledger.ship(dataclasses.replace(lot, **changes), actor="alice")  # type: ignore[arg-type]
    assert ledger.event_count() == before  # neither the lot document nor a transfer
    assert ledger.transfers(lot="L9") == []


def test_batch_refuses_an_order_of_an_unknown_sku_and_writes_nothing(ledger: Ledger) -> None:
    ledger.import_scenario(reference())
    before = ledger.event_count()
    ops = [
        d.Order("PO-OK", "a", "nvidia", H100, 10, date(2024, 1, 2)),
        d.Order("PO-BAD", "a", "nvidia", "NOPE", 10, date(2024, 1, 2)),
    ]
    with pytest.raises(d.UnknownRecord, match="order 'PO-BAD': sku 'NOPE'"):
        ledger.post_batch(ops, actor="alice")
    assert ledger.event_count() == before


WINDOWS = [
    pytest.param(None, None, id="everything"),
    pytest.param(date(2023, 12, 7), None, id="as-of-the-day-after-a-post"),
    pytest.param(None, date(2026, 1, 6), id="known-before-the-approval"),
    pytest.param(date(2023, 12, 3), date(2026, 1, 7), id="as-of-before-L2-shipped"),
]


@pytest.mark.parametrize(("as_of", "known_on"), WINDOWS)
def test_balances_aggregate_in_sql_match_the_fold_of_the_rows(
    shipped: Ledger, clock: FakeClock, as_of: date | None, known_on: date | None
) -> None:
    # A pending, a posted (later in time) and a voided diversion, and a deployment.
    shipped.receive("L1", date(2023, 12, 10), actor="bob")
    shipped.propose_diversion(divert("DP", "L2", 5), actor="carol")  # stays pending
    clock.advance()
    shipped.propose_diversion(divert("DA", "L2", 7, on=date(2023, 12, 6)), actor="carol")
    clock.advance()
    shipped.decide("DA", Decision.APPROVE, actor="erin")
    shipped.propose_diversion(divert("DV", "L1", 4, on=date(2023, 12, 11)), actor="carol")
    shipped.decide("DV", Decision.VOID, actor="erin")
    shipped.deploy(
        d.Movement(
            "M1", d.TransferKind.DEPLOY, 30, date(2023, 12, 12), "a", lot="L1", cluster="ca"
        ),
        actor="bob",
    )
    reference_totals: dict[tuple[str, Bucket, str], list[int]] = {}
    for (account, sku, _), b in fold(shipped.transfers(as_of, known_on)).items():
        row = reference_totals.setdefault((account.owner, account.bucket, sku), [0, 0])
        row[0] += b.posted
        row[1] += b.pend_credit - b.pend_debit
    expected = [
        d.Balance(owner, bucket, sku, p, q)
        for (owner, bucket, sku), (p, q) in sorted(reference_totals.items())
        if p or q
    ]
    got = shipped.balances(as_of, known_on)
    assert got == expected
    assert any(b.pending for b in shipped.balances())  # the window set has a live reservation


def test_balances_by_hand_while_a_diversion_is_pending_then_after_it_posts(
    shipped: Ledger, clock: FakeClock
) -> None:
    shipped.propose_diversion(divert("D1", "L1", 30), actor="carol")
    proposed_on = clock.now.date()
    clock.advance(2)
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    # As known on the proposal day: a holds 100 of L1 and 50 of L2, 30 reserved for b.
    then = {
        (b.owner, b.bucket): (b.posted, b.pending) for b in shipped.balances(known_on=proposed_on)
    }
    assert then[("org:a", Bucket.IN_TRANSIT)] == (150, -30)
    assert then[("org:b", Bucket.IN_TRANSIT)] == (0, 30)
    now = {(b.owner, b.bucket): (b.posted, b.pending) for b in shipped.balances()}
    assert now[("org:a", Bucket.IN_TRANSIT)] == (120, 0)
    assert now[("org:b", Bucket.IN_TRANSIT)] == (30, 0)
    assert now[("vendor:nvidia", Bucket.WORLD)] == (-150, 0)


def test_diversions_list_matches_each_single_view(shipped: Ledger) -> None:
    shipped.propose_diversion(divert("D:1", "L1", 10), actor="carol")  # a colon in the id
    shipped.propose_diversion(divert("D", "L1", 5), actor="dan")
    shipped.decide("D:1", Decision.APPROVE, actor="erin")
    shipped.decide("D", Decision.REJECT, actor="frank")
    shipped.propose_diversion(divert("D2", "L2", 3), actor="carol")
    views = {v.diversion.id: v for v in shipped.diversions()}
    assert set(views) == {"D:1", "D", "D2"}
    for diversion_id, view in views.items():
        assert shipped.diversion(diversion_id) == view
    assert [(x.decision, x.actor) for x in views["D"].decisions] == [
        (Decision.PROPOSE, "dan"),
        (Decision.REJECT, "frank"),
    ]
    assert [(x.decision, x.actor) for x in views["D:1"].decisions] == [
        (Decision.PROPOSE, "carol"),
        (Decision.APPROVE, "erin"),
    ]
    assert views["D2"].status is DiversionStatus.PENDING and len(views["D2"].transfers) == 1
