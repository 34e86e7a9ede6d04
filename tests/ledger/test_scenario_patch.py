"""The scenario's diversions, patched after each write, equal a fresh read (issue 16).

``ScenarioBase.advance`` patches the diversions' part where a write touched it
(first-seen places; above 64 touched, as after an import, it is made afresh).
Random proposals (ids reused), decisions on any diversion, new versions of a
diversion's document, bulk imports past the patch bound, reversals of divert
rows, clock moves, and reads of several dates skipped so that one read catches
up with several writes: the kept scenario equals ``scenario_from_books``.
(Written by a hostile review of the patch.)
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gpuledger import domain as d
from gpuledger.domain import Decision
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger
from gpuledger.ledger.scenario_base import scenario_from_books

from .conftest import FakeClock, base

AS_OF = date(2024, 7, 1)
LOTS = ("LOT-T1-07", "LOT-X1-01", "LOT-T1-08", "LOT-X1-02")

op = st.one_of(
    st.tuples(st.just("propose"), st.sampled_from(LOTS), st.integers(1, 30), st.integers(0, 12)),
    st.tuples(st.just("decide"), st.integers(0, 50),
              st.sampled_from([Decision.REJECT, Decision.APPROVE, Decision.VOID])),
    st.tuples(st.just("reversion"), st.integers(0, 50), st.text("abc", min_size=1, max_size=3)),
    st.tuples(st.just("bulk"), st.integers(60, 75)),
    st.tuples(st.just("reverse"), st.integers(0, 1000)),
    st.tuples(st.just("read"), st.sampled_from([None, AS_OF, AS_OF - timedelta(days=3)])),
    st.tuples(st.just("advance"), st.integers(0, 2)),
)  # fmt: skip


def giver(lot: str) -> str:
    return "tesla" if lot.startswith("LOT-T") else "x"


def apply(books: Ledger, clock: FakeClock, n: int, o: tuple[Any, ...]) -> None:
    try:
        if o[0] == "propose":
            div = d.Diversion(f"D{o[3]}", o[1], o[2], giver(o[1]), "xai", AS_OF - timedelta(days=1))
            books.propose_diversion(div, actor="t")
        elif o[0] == "decide":
            ds = books.to_scenario().diversions
            if ds:
                books.decide(ds[o[1] % len(ds)].id, o[2], actor="t")
        elif o[0] == "reversion":
            s = books.to_scenario()
            if s.diversions:
                i = o[1] % len(s.diversions)
                ds = list(s.diversions)
                ds[i] = dataclasses.replace(ds[i], reason=o[2])
                books.import_scenario(dataclasses.replace(s, diversions=tuple(ds), as_of=AS_OF),
                                      actor="t")  # fmt: skip
        elif o[0] == "bulk":
            s = books.to_scenario()
            new = tuple(
                d.Diversion(f"B{n}-{k}", "LOT-T1-08", 1, "tesla", "xai", AS_OF - timedelta(days=1),
                            status=d.DiversionStatus.PENDING)
                for k in range(o[1])
            )  # fmt: skip
            books.import_scenario(
                dataclasses.replace(s, diversions=(*s.diversions, *new), as_of=AS_OF), actor="t"
            )
        elif o[0] == "reverse":
            rows = [t for t in books.transfers() if t.kind is K.DIVERT]
            if rows:
                books.reverse(rows[o[1] % len(rows)].id, actor="t", reason="test")
        elif o[0] == "advance":
            clock.advance(o[1])
    except d.GpuledgerError:  # refused writes are fine
        pass


def check(books: Ledger, as_of: date | None) -> None:
    kept = books.to_scenario(as_of)
    with books.engine.connect() as conn:
        fresh = scenario_from_books(conn, as_of)
    assert kept.diversions == fresh.diversions
    assert kept == fresh


# Each example opens books on disk: few examples, no shrinking (a failure shows its writes).
@settings(max_examples=25, deadline=None,
          suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # fmt: skip
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_scenario_after_writes_equals_fresh(ops: list[tuple[Any, ...]]) -> None:
    with TemporaryDirectory() as tmp:
        clock = FakeClock()
        books = Ledger.open(f"sqlite:///{Path(tmp) / 'books.db'}", clock=clock)
        try:
            books.import_scenario(base())
            books.to_scenario()
            for n, o in enumerate(ops):
                apply(books, clock, n, o)
                if o[0] == "read":
                    check(books, o[1])
            check(books, None)
        finally:
            books.close()
