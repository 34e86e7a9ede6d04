"""Balances and lot traces memoised on the chain head, as the snapshot is (API reads, issue 16)."""

from __future__ import annotations

from datetime import date

from gpuledger.domain import Bucket
from gpuledger.ledger import Ledger

from .conftest import reference

LOTS = {lot.id: lot for lot in reference().lots}


def in_transit(ledger: Ledger, **dates: date | None) -> int:
    return sum(x.posted for x in ledger.balances(**dates) if x.bucket is Bucket.IN_TRANSIT)


def test_balances_are_read_once_per_head_and_arguments(pair: tuple[Ledger, Ledger]) -> None:
    a, b = pair
    assert in_transit(a) == 0
    b.ship(LOTS["L1"], actor="alice")  # a write through another Ledger is seen at once
    first = a.balances()
    assert in_transit(a) == 100
    assert (a.memo_stats("balances").hits, a.memo_stats("balances").misses) == (1, 2)
    assert in_transit(a, as_of=date(2023, 11, 30)) == 0  # other arguments: another entry
    assert a.memo_stats("balances").misses == 3
    first.clear()  # each call is a new list: a caller's change reaches no other caller
    assert in_transit(a) == 100
    b.ship(LOTS["L2"], actor="alice")
    assert in_transit(a) == 100 + LOTS["L2"].qty


def test_traces_are_read_once_per_head_and_arguments(pair: tuple[Ledger, Ledger]) -> None:
    a, b = pair
    assert a.trace("L1").transfers == ()
    a.trace("L1")
    assert (a.memo_stats("trace").hits, a.memo_stats("trace").misses) == (1, 1)
    b.ship(LOTS["L1"], actor="alice")
    assert [t.kind.value for t in a.trace("L1").transfers] == ["ship"]
    assert a.trace("L1", known_on=date(2023, 1, 1)).transfers == ()
    assert a.memo_stats("trace").misses == 3


def test_a_memoised_read_that_hits_runs_the_head_alone(pair: tuple[Ledger, Ledger]) -> None:
    """A hit reads the chain head by one statement, outside any transaction (SQLite: no
    BEGIN statement; PostgreSQL: autocommit, no BEGIN or COMMIT round trips); a write by
    another Ledger is still seen at once, because the head is read on every call."""
    from sqlalchemy import event

    a, b = pair
    a.balances()
    a.to_scenario()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql.split()[0].upper())

    event.listen(a.engine, "before_cursor_execute", seen)
    try:
        a.balances()
        a.to_scenario()
        assert statements == ["SELECT", "SELECT"], statements
        b.ship(LOTS["L1"], actor="alice")
        assert in_transit(a) == 100
    finally:
        event.remove(a.engine, "before_cursor_execute", seen)
