"""The books' snapshot and scenario after writes: brought forward equals rebuilt.

``Ledger`` keeps the scenario's documents and the snapshot's transfer rows of
the last head it read and brings them forward from the events after it. After
any sequence of writes, what it returns must equal a full rebuild from the
books (``build_snapshot`` and ``scenario_from_books`` on a fresh read).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gpuledger import domain as d
from gpuledger.domain import Decision
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger
from gpuledger.ledger import snapshot as snapshot_module
from gpuledger.ledger.results import Transfer
from gpuledger.ledger.scenario_base import scenario_from_books
from gpuledger.ledger.snapshot import RowState, build_snapshot
from gpuledger.planning.snapshot import PlanningSnapshot

from .conftest import H100, FakeClock, base

AS_OF = date(2024, 7, 1)
LOTS = ("LOT-T1-07", "LOT-X1-01", "LOT-T1-08", "LOT-X1-02")
ORGS = ("tesla", "x", "xai")

write = st.one_of(
    st.tuples(st.just("deploy"), st.sampled_from(LOTS), st.integers(1, 300)),
    st.tuples(st.just("propose"), st.sampled_from(LOTS), st.integers(1, 300)),
    st.tuples(
        st.just("decide"), st.sampled_from([Decision.REJECT, Decision.APPROVE, Decision.VOID])
    ),
    st.tuples(st.just("reverse"), st.integers(0, 1_000)),
    st.tuples(st.just("fail"), st.integers(1, 50)),
    st.tuples(st.just("receive"), st.sampled_from(LOTS), st.integers(0, 20)),
    st.tuples(st.just("target"), st.integers(1, 100_000), st.integers(0, 400)),
    st.tuples(st.just("order"), st.integers(1, 50_000)),
    st.tuples(st.just("advance"), st.integers(0, 3)),
)


def apply(books: Ledger, clock: FakeClock, n: int, op: tuple[object, ...]) -> None:
    """One write; refused writes (not enough units, nothing pending) are fine."""
    try:
        if op[0] == "deploy":
            lot, qty = str(op[1]), int(op[2])  # type: ignore[call-overload]
            holder = next(o for o in ORGS if o in ("tesla", "x") and lot.startswith(
                "LOT-T" if o == "tesla" else "LOT-X"))  # fmt: skip
            cluster = "cortex" if holder == "tesla" else None
            if cluster is None:
                return
            books.deploy(
                d.Movement(f"M{n}", K.DEPLOY, qty, AS_OF, holder, lot=lot, cluster=cluster),
                actor="t",
            )
        elif op[0] == "propose":
            lot, qty = str(op[1]), int(op[2])  # type: ignore[call-overload]
            giver = "tesla" if lot.startswith("LOT-T") else "x"
            div = d.Diversion(f"D{n}", lot, qty, giver, "xai", AS_OF - timedelta(days=1))
            books.propose_diversion(div, actor="t")
        elif op[0] == "decide":
            pending = [v for v in books.diversions(d.DiversionStatus.PENDING)]
            if pending:
                books.decide(pending[-1].diversion.id, op[1], actor="t")  # type: ignore[arg-type]
        elif op[0] == "reverse":
            # Any transfer in the books, the n-th modulo their number: a shipment,
            # a deployment, a pending diversion or its post or void.
            rows = [t for t in books.transfers() if t.kind is not K.REVERSAL]
            if rows:
                chosen = rows[int(op[1]) % len(rows)]  # type: ignore[call-overload]
                books.reverse(chosen.id, actor="t", reason="test")
        elif op[0] == "receive":
            books.receive(str(op[1]), AS_OF - timedelta(days=int(op[2])), actor="t")  # type: ignore[call-overload]
        elif op[0] == "fail":
            books.fail(
                d.Movement(f"F{n}", K.FAIL, int(op[1]), AS_OF, "tesla", lot="LOT-T1-08",  # type: ignore[call-overload]
                           cluster="cortex"),
                actor="t",
            )  # fmt: skip
        elif op[0] == "target":
            qty, days = int(op[1]), int(op[2])  # type: ignore[call-overload]
            scenario = books.to_scenario()
            target = d.Target(f"T{n}", "xai", H100, qty, AS_OF + timedelta(days=days))
            books.import_scenario(
                dataclasses.replace(scenario, targets=(*scenario.targets, target), as_of=AS_OF),
                actor="t",
            )
        elif op[0] == "order":
            books.order(
                d.Order("PO-XAI", "xai", "nvidia", H100, int(op[1]), date(2024, 5, 1)),  # type: ignore[call-overload]
                actor="t",
            )
        else:
            clock.advance(int(op[1]))  # type: ignore[call-overload]
    except (d.LedgerError, d.UnknownRecord, d.InvalidInput):
        pass


def same(a: PlanningSnapshot, b: PlanningSnapshot) -> None:
    for f in dataclasses.fields(PlanningSnapshot):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


# Each example opens books on disk: few examples, no shrinking (a failure shows its writes).
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(writes=st.lists(write, min_size=1, max_size=8), known_on=st.sampled_from([None, 1, 30]))
def test_snapshot_brought_forward_equals_rebuilt(writes, known_on) -> None:
    with TemporaryDirectory() as tmp:
        clock = FakeClock()
        books = Ledger.open(f"sqlite:///{Path(tmp) / 'books.db'}", clock=clock)
        try:
            books.import_scenario(base())
            known = None if known_on is None else clock.now.date() + timedelta(days=known_on)
            books.snapshot(AS_OF, known)  # the base the later reads bring forward
            books.to_scenario()
            for n, op in enumerate(writes):
                apply(books, clock, n, op)
                kept = books.snapshot(AS_OF, known)
                with books.engine.connect() as conn:
                    rebuilt = build_snapshot(conn, AS_OF, known)
                    scenario = scenario_from_books(conn)
                same(kept, rebuilt)
                assert books.to_scenario() == scenario
            folds_in_any_split(books.transfers())
        finally:
            books.close()


def folds_in_any_split(rows: list[Transfer]) -> None:
    """Folding rows[:k] then advancing with rows[k:] equals folding every row, for every k,
    and leaves the state advanced from as it was (a kept state is shared by readers)."""
    whole = RowState.of(rows, len(rows))
    for k in range(len(rows) + 1):
        head = RowState.of(rows[:k], k)
        assert head.advance(rows[k:], len(rows)) == whole, k
        assert head == RowState.of(rows[:k], k), f"advancing changed the state at {k}"


def test_a_snapshot_after_a_write_folds_only_the_new_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Brought forward means folding the rows of the events after the kept head, not all
    rows, and making again the supply rows of the lot they touched, not of every lot."""
    clock = FakeClock()
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=clock)
    try:
        books.import_scenario(base())
        books.snapshot(AS_OF)  # the kept base
        folded: list[str] = []
        made: list[str] = []
        advance, lot_rows = RowState.advance, snapshot_module._lot_rows

        def counting(state: RowState, rows: Iterable[Transfer], seq: int) -> RowState:
            rows = list(rows)
            folded.extend(t.id for t in rows)
            return advance(state, rows, seq)

        def making(lot: Any, *args: Any) -> Any:
            made.append(lot.id)
            return lot_rows(lot, *args)

        monkeypatch.setattr(RowState, "advance", counting)
        monkeypatch.setattr(snapshot_module, "_lot_rows", making)
        for n in range(3):
            books.deploy(
                d.Movement(f"M{n}", K.DEPLOY, 5, AS_OF, "tesla", lot="LOT-T1-08", cluster="cortex"),
                actor="t",
            )
            folded.clear()
            made.clear()
            books.snapshot(AS_OF)
            assert len(folded) == 1, f"write {n}: folded {len(folded)} rows for one new row"
            assert made == ["LOT-T1-08"], f"write {n}: made the rows of {made}"
    finally:
        books.close()


def test_movements_posted_since_are_appended_not_copied(tmp_path: Path) -> None:
    """A read after a write costs what the write added: the scenario base brought forward
    shares the log of posted movements and appends to it, rather than copying every
    movement posted before; a base brought forward from an older one gets its own copy,
    so no base ever shows a movement posted after it."""
    from gpuledger.ledger.chain import read_head
    from gpuledger.ledger.scenario_base import ScenarioBase

    clock = FakeClock()
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=clock)
    try:
        books.import_scenario(base())
        heads = []
        for n in range(3):
            with books.engine.connect() as conn:
                heads.append(read_head(conn)[0])
            books.deploy(
                d.Movement(f"M{n}", K.DEPLOY, 5, AS_OF, "tesla", lot="LOT-T1-08", cluster="cortex"),
                actor="t",
            )
        with books.engine.connect() as conn:
            heads.append(read_head(conn)[0])
            b0 = ScenarioBase.read(conn, heads[0])
            b1 = b0.advance(conn, heads[1])
            b2 = b1.advance(conn, heads[2])
            again = b0.advance(conn, heads[3])  # the log has grown past b0: a copy
            b3 = b2.advance(conn, heads[3])
            rebuilt = scenario_from_books(conn, AS_OF)

        def posted(b: ScenarioBase) -> list[str]:
            return [m.id for m in b.scenario(AS_OF).movements]

        assert b2.posted is b1.posted, "brought forward from the newest base: appended"
        assert again.posted is not b0.posted
        assert b3.posted is b1.posted
        imported = [m.id for m in base().movements]
        assert posted(b0) == imported, "an older base never shows later movements"
        assert posted(b1) == [*imported, "M0"]
        assert posted(b2) == [*imported, "M0", "M1"]
        assert posted(again) == posted(b3) == [*imported, "M0", "M1", "M2"]
        assert b3.scenario(AS_OF) == again.scenario(AS_OF) == rebuilt
    finally:
        books.close()


def test_a_scenario_after_a_write_dresses_only_the_diversions_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario's diversions are patched where a write changed them: a read after a
    write costs what the write added, not every diversion the books hold (issue 16:
    proposals and rejections pile up; each used to re-dress all of them)."""
    from gpuledger.ledger.scenario_base import ScenarioBase

    clock = FakeClock()
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=clock)
    try:
        books.import_scenario(base())
        for n in range(40):
            books.propose_diversion(
                d.Diversion(f"D{n}", "LOT-T1-08", 1, "tesla", "xai", AS_OF), actor="t"
            )
            if n:  # D0 stays pending
                books.decide(f"D{n}", Decision.REJECT if n % 2 else Decision.APPROVE, actor="t")
        books.to_scenario()  # the kept base, with its parts
        dressed: list[str] = []
        real = ScenarioBase._with_status
        monkeypatch.setattr(
            ScenarioBase, "_with_status", lambda self, x: dressed.append(x.id) or real(self, x)
        )
        books.propose_diversion(
            d.Diversion("NEW", "LOT-T1-08", 1, "tesla", "xai", AS_OF), actor="t"
        )
        first = books.to_scenario()
        books.decide("D0", Decision.VOID, actor="t")  # an old one changes status
        books.decide("NEW", Decision.REJECT, actor="t")
        second = books.to_scenario()
        assert sorted(dressed) == ["D0", "NEW", "NEW"]
        with books.engine.connect() as conn:
            assert second == scenario_from_books(conn)
        made = [x.id for x in first.diversions]
        assert made[-41:] == [*(f"D{n}" for n in range(40)), "NEW"]
        at = made.index("D0")
        assert first.diversions[at].status is d.DiversionStatus.PENDING
        assert second.diversions[at].status is d.DiversionStatus.VOIDED
    finally:
        books.close()
