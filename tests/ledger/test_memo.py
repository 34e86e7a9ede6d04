"""Reads memoised on the chain head: ``HeadMemo`` alone, then through ``Ledger``."""

from __future__ import annotations

import random
import threading
from datetime import date

import numpy as np
import pytest

from gpuledger import domain as d
from gpuledger.domain import Decision, DiversionStatus
from gpuledger.ledger import Ledger
from gpuledger.ledger import ledger as module
from gpuledger.ledger.memo import HeadMemo
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

from .conftest import FakeClock, reference

H1 = (1, "a" * 64)
H2 = (2, "b" * 64)

# --------------------------------------------------------------------------- HeadMemo


def test_same_head_and_key_computes_once() -> None:
    memo = HeadMemo()
    calls: list[int] = []

    def compute() -> list[int]:
        calls.append(1)
        return [len(calls)]

    first = memo.get(H1, "k", "x", compute)
    assert memo.get(H1, "k", "x", compute) is first
    assert memo.get(H1, "k", "y", compute) == [2]  # another key
    assert memo.get(H1, "other", "x", compute) == [3]  # another kind
    assert len(calls) == 3
    assert (memo.stats("k").hits, memo.stats("k").misses) == (1, 2)


def test_newer_head_drops_everything() -> None:
    memo = HeadMemo()
    memo.get(H1, "k", "x", lambda: "old")
    memo.get(H1, "j", "x", lambda: "old")
    assert memo.get(H2, "k", "x", lambda: "new") == "new"
    assert len(memo) == 1
    assert memo.get(H2, "j", "x", lambda: "new") == "new"


def test_older_head_is_computed_but_not_stored() -> None:
    memo = HeadMemo()
    memo.get(H2, "k", "x", lambda: "new")
    assert memo.get(H1, "k", "x", lambda: "old") == "old"
    assert memo.get(H1, "k", "x", lambda: "old again") == "old again"
    assert memo.get(H2, "k", "x", lambda: "recomputed") == "new"


def test_same_seq_other_hash_is_another_state() -> None:
    memo = HeadMemo()
    memo.get(H1, "k", "x", lambda: "first books")
    assert memo.get((1, "c" * 64), "k", "x", lambda: "replaced books") == "replaced books"


def test_lru_keeps_the_most_recently_used_per_kind() -> None:
    memo = HeadMemo(size=2)
    memo.get(H1, "k", 1, lambda: "one")
    memo.get(H1, "k", 2, lambda: "two")
    memo.get(H1, "k", 1, lambda: "unused")  # 1 is now the most recent
    memo.get(H1, "k", 3, lambda: "three")  # evicts 2
    memo.get(H1, "j", 9, lambda: "other kind")  # its own bound
    assert memo.get(H1, "k", 1, lambda: "recomputed") == "one"
    assert memo.get(H1, "k", 2, lambda: "recomputed") == "recomputed"
    assert len(memo) == 3


def test_exceptions_are_not_stored() -> None:
    memo = HeadMemo()

    def fail() -> str:
        raise d.UnknownRecord("diversion 'X' is not in the ledger")

    with pytest.raises(d.UnknownRecord, match="'X'"):
        memo.get(H1, "k", "x", fail)
    assert memo.get(H1, "k", "x", lambda: "found") == "found"


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1, got 0"):
        HeadMemo(size=0)


def test_concurrent_callers_share_one_computation() -> None:
    memo = HeadMemo()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return "value"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(memo.get(H1, "k", "x", slow)))
    first.start()
    assert started.wait(10)
    waiters = [
        threading.Thread(target=lambda: results.append(memo.get(H1, "k", "x", slow)))
        for _ in range(3)
    ]
    for t in waiters:
        t.start()
    # the waiters are either blocked on the first computation or will hit its result
    release.set()
    for t in [first, *waiters]:
        t.join(10)
    assert results == ["value"] * 4
    assert len(calls) == 1
    assert (memo.stats("k").hits, memo.stats("k").misses) == (3, 1)


def test_waiters_get_the_computations_exception() -> None:
    memo = HeadMemo()
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        assert release.wait(10)
        raise d.UnknownRecord("lot 'L9' is not in the ledger")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            memo.get(H1, "k", "x", failing)
        except d.UnknownRecord as exc:
            errors.append(exc)

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=call)
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert len(errors) == 2


# --------------------------------------------------------------------------- through the Ledger

AS_OF = date(2023, 12, 5)
LOTS = {lot.id: lot for lot in reference().lots}


def supply(snap: PlanningSnapshot, lot: str) -> set[tuple[SupplyKind, int, str]]:
    """(kind, qty, holder) of the supply rows of one lot."""
    return {
        (SupplyKind(int(snap.supply_kind[i])), int(snap.supply_qty[i]), snap.orgs[holder])
        for i, holder in enumerate(snap.supply_holder.tolist())
        if snap.supply_id[i] == lot
    }


def divert_10(on: date = AS_OF) -> d.Diversion:
    return d.Diversion("D1", "L1", 10, "a", "b", on, status=DiversionStatus.PENDING)


def read_all(ledger: Ledger) -> tuple[PlanningSnapshot, d.Scenario, list[str]]:
    return (
        ledger.snapshot(AS_OF),
        ledger.to_scenario(),
        [f"{v.diversion.id}:{v.status}" for v in ledger.diversions()],
    )


@pytest.mark.parametrize("writer", ["other ledger", "same ledger"])
def test_a_write_is_seen_by_the_next_read(pair: tuple[Ledger, Ledger], writer: str) -> None:
    a, b = pair
    w = b if writer == "other ledger" else a
    snap, scenario, views = read_all(a)
    assert supply(snap, "L1") == {(SupplyKind.EXPECTED, 100, "a")}  # not shipped yet
    assert [o.id for o in scenario.orders] == ["PO-A"]
    assert views == []
    with pytest.raises(d.UnknownRecord, match="'D1'"):
        a.diversion("D1")
    # repeated reads with no write in between are the memoised values
    assert read_all(a)[0] is snap
    assert a.to_scenario() is scenario
    assert a.memo_stats("snapshot").hits == 1

    w.ship(LOTS["L1"], actor="alice")
    assert supply(a.snapshot(AS_OF), "L1") == {(SupplyKind.IN_TRANSIT, 100, "a")}

    w.order(d.Order("PO-B", "b", "nvidia", "H100-SXM5-80GB", 10, date(2023, 4, 1)), actor="bob")
    assert [o.id for o in a.to_scenario().orders] == ["PO-A", "PO-B"]

    w.propose_diversion(divert_10(), actor="carol")
    assert read_all(a)[2] == ["D1:pending"]
    assert a.diversion("D1").status is DiversionStatus.PENDING
    assert [x.status for x in a.to_scenario().diversions] == [DiversionStatus.PENDING]

    w.decide("D1", Decision.APPROVE, actor="erin", on=AS_OF)
    snap, scenario, views = read_all(a)
    assert views == ["D1:posted"]
    assert a.diversion("D1").status is DiversionStatus.POSTED
    assert [x.status for x in scenario.diversions] == [DiversionStatus.POSTED]
    assert supply(snap, "L1") == {
        (SupplyKind.IN_TRANSIT, 90, "a"),
        (SupplyKind.IN_TRANSIT, 10, "b"),
    }
    assert [v.diversion.id for v in a.diversions(DiversionStatus.POSTED)] == ["D1"]
    assert a.diversions(DiversionStatus.PENDING) == []


def test_arguments_are_part_of_the_key(pair: tuple[Ledger, Ledger]) -> None:
    a, b = pair
    b.ship(LOTS["L1"], actor="alice")
    before_ship = a.snapshot(date(2023, 11, 30))
    after_ship = a.snapshot(AS_OF)
    as_known_before = a.snapshot(AS_OF, known_on=date(2023, 11, 30))
    assert supply(before_ship, "L1") == {(SupplyKind.EXPECTED, 100, "a")}
    assert supply(after_ship, "L1") == {(SupplyKind.IN_TRANSIT, 100, "a")}
    # the clock recorded the shipment in 2026: as known in 2023 it had not shipped
    assert supply(as_known_before, "L1") == {(SupplyKind.EXPECTED, 100, "a")}
    assert a.snapshot(AS_OF, horizon_days=10).horizon_end < after_ship.horizon_end
    assert a.to_scenario(date(2024, 1, 1)).as_of == date(2024, 1, 1)
    assert a.to_scenario().as_of == reference().as_of


def test_snapshot_arrays_are_read_only(pair: tuple[Ledger, Ledger]) -> None:
    a, _ = pair
    snap = a.snapshot(AS_OF)
    arrays = {k: v for k, v in vars(snap).items() if isinstance(v, np.ndarray)}
    assert "supply_qty" in arrays and "target_weight" in arrays
    assert [k for k, v in arrays.items() if v.flags.writeable] == []
    with pytest.raises(ValueError, match="read-only"):
        snap.supply_qty[0] = 0
    assert a.snapshot(AS_OF).supply_qty.tolist() == snap.supply_qty.tolist()


def test_the_diversion_list_is_a_new_list_each_call(pair: tuple[Ledger, Ledger]) -> None:
    a, b = pair
    b.ship(LOTS["L1"], actor="alice")
    b.propose_diversion(divert_10(), actor="carol")
    first = a.diversions()
    first.clear()
    assert [v.diversion.id for v in a.diversions()] == ["D1"]


# --------------------------------------------------------------------------- incremental list


def views_of(ledger: Ledger, status: DiversionStatus | None = None) -> list[tuple[object, ...]]:
    """Every field of every view, in list order."""
    return [(v.diversion, v.status, v.decisions, v.transfers) for v in ledger.diversions(status)]


@pytest.mark.parametrize("seed", [1, 2, 3], ids=lambda s: f"seed{s}")
def test_the_incremental_list_equals_a_full_rebuild(
    pair: tuple[Ledger, Ledger],
    ledger_url: str,
    clock: FakeClock,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebuilds: list[int] = []
    full = module.all_diversion_views

    def counted(conn: object) -> object:
        rebuilds.append(1)
        return full(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "all_diversion_views", counted)
    a, b = pair
    rng = random.Random(seed)
    a.ship(LOTS["L1"], actor="alice")
    a.ship(LOTS["L2"], actor="alice")
    assert views_of(a) == []
    pending: list[str] = []
    proposed = fresh_ledgers = 0
    for step in range(40):
        writer = a if rng.random() < 0.7 else b  # b: a write through another Ledger
        roll = rng.random()
        if roll < 0.45 or not pending:
            proposed += 1
            lot, to = rng.choice(["L1", "L2"]), rng.choice(["b", "c"])
            new = d.Diversion(
                f"D{proposed}", lot, 1, "a", to, AS_OF, status=DiversionStatus.PENDING
            )
            writer.propose_diversion(new, actor="carol")
            pending.append(new.id)
        elif roll < 0.9:
            decision = rng.choice([Decision.APPROVE, Decision.REJECT, Decision.VOID])
            writer.decide(pending.pop(rng.randrange(len(pending))), decision, actor="erin")
        else:
            writer.order(
                d.Order(f"PO-{step}", "b", "nvidia", "H100-SXM5-80GB", 1, AS_OF), actor="bob"
            )
        if rng.random() < 0.6:  # reads skip some heads: updates span several events
            fresh = Ledger.open(ledger_url, clock=clock)
            fresh_ledgers += 1
            try:
                assert views_of(a) == views_of(fresh), f"step {step}"
            finally:
                fresh.close()
    fresh = Ledger.open(ledger_url, clock=clock)
    fresh_ledgers += 1
    try:
        for status in (None, *DiversionStatus):
            assert views_of(a, status) == views_of(fresh, status)
    finally:
        fresh.close()
    assert len(a.diversions()) == proposed
    assert {v.status for v in a.diversions()} == set(DiversionStatus)
    # only a's first read and each fresh Ledger's first read rebuilt the whole list
    assert len(rebuilds) == 1 + fresh_ledgers
    last = d.Diversion("LAST", "L1", 1, "a", "b", AS_OF, status=DiversionStatus.PENDING)
    b.propose_diversion(last, actor="carol")
    assert views_of(a)[-1][0] == last
    assert len(rebuilds) == 1 + fresh_ledgers
