"""The snapshot brought forward after writes of every kind equals the snapshot built afresh.

``Ledger.snapshot`` keeps each snapshot with its supply rows per lot
(``SnapshotBase``) and, after a write, makes again only the rows of the lots
the write touched, splicing them into the sorted supply and its arrays. Here
random sequences of writes (shipments of new and expected lots, receipts,
deployments, failures, diversions with paybacks approved, rejected or voided,
reversals, amended and new orders and lots, targets) are followed, after each
one, by snapshots of several windows compared field by field with
``build_snapshot`` on the same books; and the folded holdings are checked
against ``balances.fold``, which knows nothing of snapshots.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from gpuledger import domain as d
from gpuledger.domain import Decision
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger, balances
from gpuledger.ledger.results import Transfer
from gpuledger.ledger.snapshot import RowState, _held_as, build_snapshot
from gpuledger.planning.snapshot import PlanningSnapshot

from .conftest import H100, FakeClock, base

AS_OF = date(2024, 7, 1)
#: Lots of the books: the story's, and one of x still to ship (paybacks go to it).
TO_SHIP = d.Lot("LOT-X1-03", "PO-X1", 6_000, date(2024, 9, 2), date(2024, 9, 16), "x")
LOTS = ("LOT-T1-07", "LOT-X1-01", "LOT-T1-08", "LOT-X1-02", TO_SHIP.id)
ORDERS = {"PO-T1": "tesla", "PO-X1": "x"}
#: Windows read after each write: (as of, days after the clock for known on, horizon days).
WINDOWS = (
    (AS_OF, None, None),
    (AS_OF, 1, None),
    (AS_OF - timedelta(days=200), None, 90),
    (AS_OF + timedelta(days=90), 30, None),
)

days = st.integers(-120, 120)
write = st.one_of(
    st.tuples(st.just("ship-new"), st.sampled_from(sorted(ORDERS)), st.integers(1, 5_000), days),
    st.tuples(st.just("ship-expected"), days),
    st.tuples(st.just("receive"), st.sampled_from(LOTS), st.integers(0, 30)),
    st.tuples(st.just("deploy"), st.sampled_from(LOTS), st.integers(1, 3_000)),
    st.tuples(st.just("fail"), st.integers(1, 500)),
    st.tuples(st.just("propose"), st.sampled_from(LOTS), st.integers(1, 3_000), st.booleans()),
    st.tuples(
        st.just("decide"), st.sampled_from([Decision.APPROVE, Decision.REJECT, Decision.VOID])
    ),
    st.tuples(st.just("reverse"), st.integers(0, 1_000)),
    st.tuples(
        st.just("amend-order"), st.sampled_from(sorted(ORDERS)), st.integers(-20_000, 20_000)
    ),
    st.tuples(st.just("new-order"), st.integers(1, 50_000)),
    st.tuples(st.just("amend-lot"), st.sampled_from(LOTS), days),
    st.tuples(st.just("target"), st.integers(1, 100_000), st.integers(0, 400)),
    st.tuples(st.just("advance"), st.integers(0, 3)),
)


def apply(books: Ledger, clock: FakeClock, n: int, op: tuple[object, ...]) -> None:
    """One write; writes the books refuse (not enough units, nothing pending) are fine."""
    kind, args = op[0], op[1:]
    try:
        if kind == "ship-new":
            order, qty, shift = str(args[0]), int(args[1]), int(args[2])  # type: ignore[call-overload]
            ships = AS_OF + timedelta(days=shift)
            lot = d.Lot(f"LOT-N{n}", order, qty, ships, ships + timedelta(days=14), ORDERS[order])
            books.ship(lot, actor="t")
        elif kind == "ship-expected":
            ships = AS_OF + timedelta(days=int(args[0]))  # type: ignore[call-overload]
            lot = dataclasses.replace(TO_SHIP, ships_on=ships, arrives_on=ships + timedelta(14))
            books.ship(lot, actor="t")
        elif kind == "receive":
            books.receive(str(args[0]), AS_OF - timedelta(days=int(args[1])), actor="t")  # type: ignore[call-overload]
        elif kind == "deploy":
            lot, qty = str(args[0]), int(args[1])  # type: ignore[call-overload]
            org, cluster = ("tesla", "cortex") if lot.startswith("LOT-T") else ("x", "cortex")
            books.deploy(d.Movement(f"M{n}", K.DEPLOY, qty, AS_OF, org, lot=lot, cluster=cluster),
                         actor="t")  # fmt: skip
        elif kind == "fail":
            books.fail(d.Movement(f"F{n}", K.FAIL, int(args[0]), AS_OF, "tesla",  # type: ignore[call-overload]
                                  lot="LOT-T1-08", cluster="cortex"), actor="t")  # fmt: skip
        elif kind == "propose":
            lot, qty, pays_back = str(args[0]), int(args[1]), bool(args[2])  # type: ignore[call-overload]
            giver = "tesla" if lot.startswith("LOT-T") else "x"
            receiver = "x" if giver == "tesla" else "xai"
            payback = (d.Payback(TO_SHIP.id, qty),) if pays_back and receiver == "x" else ()
            books.propose_diversion(
                d.Diversion(f"D{n}", lot, qty, giver, receiver, AS_OF - timedelta(1), payback),
                actor="t",
            )
        elif kind == "decide":
            pending = books.diversions(d.DiversionStatus.PENDING)
            if pending:
                books.decide(pending[-1].diversion.id, args[0], actor="t")  # type: ignore[arg-type]
        elif kind == "reverse":
            rows = [t for t in books.transfers() if t.kind is not K.REVERSAL]
            if rows:
                chosen = rows[int(args[0]) % len(rows)]  # type: ignore[call-overload]
                books.reverse(chosen.id, actor="t", reason="test")
        elif kind == "amend-order":
            order = next(o for o in books.to_scenario().orders if o.id == args[0])
            qty = max(1, order.qty + int(args[1]))  # type: ignore[call-overload]
            books.order(dataclasses.replace(order, qty=qty), actor="t")
        elif kind == "new-order":
            books.order(d.Order("PO-XAI", "xai", "nvidia", H100, int(args[0]), date(2024, 5, 1)),  # type: ignore[call-overload]
                        actor="t")  # fmt: skip
        elif kind == "amend-lot":
            scenario = books.to_scenario()
            shift = timedelta(days=int(args[1]))  # type: ignore[call-overload]
            lots = tuple(
                dataclasses.replace(lot, arrives_on=lot.arrives_on + shift) if lot.id == args[0]
                else lot
                for lot in scenario.lots
            )  # fmt: skip
            books.import_scenario(dataclasses.replace(scenario, lots=lots, as_of=AS_OF), actor="t")
        elif kind == "target":
            qty, by = int(args[0]), AS_OF + timedelta(days=int(args[1]))  # type: ignore[call-overload]
            scenario = books.to_scenario()
            target = d.Target(f"T{n}", "xai", H100, qty, by)
            books.import_scenario(
                dataclasses.replace(scenario, targets=(*scenario.targets, target), as_of=AS_OF),
                actor="t",
            )
        else:
            clock.advance(int(args[0]))  # type: ignore[call-overload]
    except (d.LedgerError, d.UnknownRecord, d.InvalidInput):
        pass


def assert_same(kept: PlanningSnapshot, rebuilt: PlanningSnapshot, what: str) -> None:
    """Every field equal: arrays element by element and of one dtype, the rest by ``==``."""
    for f in dataclasses.fields(PlanningSnapshot):
        x, y = getattr(kept, f.name), getattr(rebuilt, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{what}: {f.name}"
            assert not x.flags.writeable, f"{what}: {f.name} is writeable"
        else:
            assert x == y, f"{what}: {f.name}: {x!r} != {y!r}"


def folded_holdings(rows: list[Transfer]) -> dict[str, dict[object, int]]:
    """Posted units per lot and holding, from ``balances.fold`` (the oracle of ``RowState``)."""
    out: dict[str, dict[object, int]] = defaultdict(lambda: defaultdict(int))
    for (account, _, lot), b in balances.fold(rows).items():
        how = _held_as(account)
        if how is not None and b.posted:
            out[lot][how] += b.posted
    return {
        lot: {h: q for h, q in held.items() if q} for lot, held in out.items() if any(held.values())
    }


# Each example opens books on disk: few examples, no shrinking (a failure shows its writes).
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(writes=st.lists(write, min_size=1, max_size=10))
# A payback approved, then its lot shipped and received; a diversion voided, one rejected.
@example(
    writes=[
        ("propose", "LOT-T1-08", 700, True),
        ("decide", Decision.APPROVE),
        ("ship-expected", 10),
        ("receive", TO_SHIP.id, 0),
        ("deploy", TO_SHIP.id, 5),
    ]
)
@example(
    writes=[
        ("propose", "LOT-X1-02", 300, False),
        ("decide", Decision.VOID),
        ("propose", "LOT-T1-07", 200, True),
        ("decide", Decision.REJECT),
    ]
)
def test_snapshot_after_any_writes_equals_a_fresh_build(writes: list[tuple[object, ...]]) -> None:
    with TemporaryDirectory() as tmp:
        clock = FakeClock()
        books = Ledger.open(f"sqlite:///{Path(tmp) / 'books.db'}", clock=clock)
        try:
            story = base()
            orders = tuple(
                dataclasses.replace(o, qty=40_000) if o.id == "PO-X1" else o for o in story.orders
            )  # room for the lot to ship, and open quantity left
            books.import_scenario(
                dataclasses.replace(story, orders=orders, lots=(*story.lots, TO_SHIP))
            )
            start = clock.now.date()
            windows = [
                (as_of, None if k is None else start + timedelta(days=k), h)
                for as_of, k, h in WINDOWS
            ]
            for window in windows:
                books.snapshot(*window)  # the bases the later reads bring forward
            for n, op in enumerate(writes):
                apply(books, clock, n, op)
                for window in windows:
                    kept = books.snapshot(*window)
                    with books.engine.connect() as conn:
                        rebuilt = build_snapshot(conn, *window)
                    assert_same(kept, rebuilt, f"after {writes[: n + 1]}, window {window}")
            rows = books.transfers()
            assert RowState.of(rows).holdings == folded_holdings(rows)
        finally:
            books.close()


def test_kept_bases_are_not_used_on_books_replaced_under_them(tmp_path: Path) -> None:
    """A database replaced by other books with a longer chain: the kept snapshot's head is
    not on the new chain, so the snapshot is built afresh (not brought forward)."""
    path, other_path = tmp_path / "books.db", tmp_path / "other.db"
    books = Ledger.open(f"sqlite:///{path}", clock=FakeClock())
    other = Ledger.open(f"sqlite:///{other_path}", clock=FakeClock())
    try:
        books.import_scenario(base())
        books.snapshot(AS_OF)  # the kept bases
        other.import_scenario(base(lots=base().lots[:2], movements=()))
        for n in range(books.event_count() - other.event_count() + 3):
            other.order(d.Order(f"PO-N{n}", "xai", "nvidia", H100, 10 + n, date(2024, 5, 1)),
                        actor="t")  # fmt: skip
        other.close()
        with sqlite3.connect(other_path) as source, sqlite3.connect(path) as target:
            source.backup(target)
        kept = books.snapshot(AS_OF)
        with books.engine.connect() as conn:
            assert_same(kept, build_snapshot(conn, AS_OF), "replaced books")
        assert "LOT-T1-08" not in kept.supply_id
    finally:
        books.close()
        other.close()
