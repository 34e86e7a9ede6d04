"""Balances after writes: brought forward from the kept ones equals summed afresh.

``Ledger.balances`` keeps the balances of each window (as of, known on) it read
and brings them forward with the rows of the events after their head, so a
read after a write costs what the write added rather than an aggregate over
every transfer. After any sequence of writes (movements, diversions proposed,
approved, rejected or voided, reversals, receipts, documents) it must equal
the same read on freshly opened books, for windows that cut through the rows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from gpuledger import domain as d
from gpuledger.domain import Bucket, Decision
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger
from gpuledger.ledger import ledger as ledger_module
from gpuledger.ledger.balances import org_account
from gpuledger.ledger.chain import NewEvent, write_events
from gpuledger.ledger.results import EventKind, Transfer

from .conftest import H100, FakeClock, base
from .test_incremental_snapshot import AS_OF, apply, write

WINDOWS = st.tuples(
    st.sampled_from([None, AS_OF - timedelta(days=200), AS_OF - timedelta(days=1), AS_OF]),
    st.sampled_from([None, 0, 1, 3]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(writes=st.lists(write, min_size=1, max_size=10), windows=st.lists(WINDOWS, max_size=3))
@example(
    writes=[("propose", "LOT-T1-08", 7), ("decide", Decision.VOID), ("propose", "LOT-X1-01", 3)],
    windows=[(AS_OF - timedelta(days=1), 0)],
)
@example(
    writes=[
        ("propose", "LOT-T1-08", 7),
        ("deploy", "LOT-T1-08", 5),
        ("advance", 2),
        ("decide", Decision.APPROVE),
        ("reverse", 3),
        ("propose", "LOT-T1-08", 2),
        ("reverse", 999),
    ],
    windows=[(AS_OF, 1), (None, 0)],
)
def test_balances_brought_forward_equal_summed_afresh(writes, windows) -> None:
    with TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'books.db'}"
        clock = FakeClock()
        books = Ledger.open(url, clock=clock)
        try:
            books.import_scenario(base())
            start = clock.now.date()
            keys = [(None, None)] + [
                (as_of, None if k is None else start + timedelta(days=k)) for as_of, k in windows
            ]
            for as_of, known_on in keys:
                books.balances(as_of, known_on)  # the bases the later reads bring forward
            # books whose bases are built after the first write, with its pending rows
            late: Ledger | None = None
            for n, op in enumerate(writes):
                apply(books, clock, n, op)
                fresh = Ledger.open(url, clock=clock)
                try:
                    for as_of, known_on in keys:
                        expected = fresh.balances(as_of, known_on)
                        assert books.balances(as_of, known_on) == expected, (n, op, as_of)
                        assert late is None or late.balances(as_of, known_on) == expected
                finally:
                    fresh.close()
                if late is None:
                    late = Ledger.open(url, clock=clock)
                    for as_of, known_on in keys:
                        late.balances(as_of, known_on)
            if late is not None:
                late.close()
        finally:
            books.close()


def test_balances_after_a_write_fold_only_the_new_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a write, balances are the kept ones plus the write's rows: the aggregate
    over every transfer runs for the first read of a window only."""
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=FakeClock())
    summed = counted_sums(monkeypatch)
    try:
        books.import_scenario(base())
        books.balances()
        books.balances(date(2024, 7, 1))
        assert len(summed) == 2
        for n in range(3):
            books.deploy(
                d.Movement(f"M{n}", K.DEPLOY, 5, AS_OF, "tesla", lot="LOT-T1-08", cluster="cortex"),
                actor="t",
            )
            div = d.Diversion(f"D{n}", "LOT-T1-08", 7, "tesla", "xai", AS_OF - timedelta(days=1))
            books.propose_diversion(div, actor="t")
            books.balances()
            books.balances(date(2024, 7, 1))
        books.decide("D0", d.Decision.VOID, actor="t")
        held = {(b.owner, b.bucket, b.sku): (b.posted, b.pending) for b in books.balances()}
        assert len(summed) == 2, f"summed every transfer again: {summed[2:]}"
        assert held[("org:tesla", d.Bucket.STOCK, H100)][1] == -14, "D1 and D2 still pending"
    finally:
        books.close()


def counted_sums(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The windows ``sum_balances`` is called for from now on (the aggregate still runs)."""
    summed: list[object] = []
    aggregate = ledger_module.sum_balances

    def counting(*args: object, **kwargs: object) -> object:
        summed.append(args[1:])
        return aggregate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger_module, "sum_balances", counting)
    return summed


@pytest.mark.parametrize("kept_first", [True, False])
def test_a_row_of_an_unknown_kind_never_makes_balances_fail(
    tmp_path: Path, kept_first: bool
) -> None:
    """A transfer of a kind this version does not know (a newer version shares the books)
    is summed by the aggregate, which reads phases and quantities alone; a kept base is
    not brought forward over it but summed afresh, with the same answer."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    books = Ledger.open(url, clock=FakeClock())
    try:
        books.import_scenario(base())
        if kept_first:
            books.balances()
        at = datetime(2024, 6, 1, tzinfo=UTC)
        a, b = org_account("tesla", Bucket.STOCK), org_account("xai", Bucket.STOCK)
        future = SimpleNamespace(value="lend")  # a TransferKind of a later version
        t = Transfer("lend:1", future, d.Phase.SINGLE, a, b, H100, "LOT-T1-07", 3, at, at)  # type: ignore[arg-type]
        body = {"op": "lend", "input": {}}
        with books.engine.begin() as conn:
            write_events(conn, [NewEvent("lend:1", EventKind.OPERATION, body, "t", at, at, [t])])
        held = {(x.owner, x.bucket): x.posted for x in books.balances() if x.sku == H100}
        assert held[("org:xai", Bucket.STOCK)] == 3
    finally:
        books.close()


def test_a_window_read_after_every_write_stays_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept bases go least recently kept first: a window read after every write is not
    dropped by seven other windows read once each (eight are kept)."""
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=FakeClock())
    summed = counted_sums(monkeypatch)
    try:
        books.import_scenario(base())
        books.balances()  # the hot window
        for n in range(3):
            books.deploy(
                d.Movement(f"M{n}", K.DEPLOY, 1, AS_OF, "tesla", lot="LOT-T1-08", cluster="cortex"),
                actor="t",
            )
            summed.clear()
            books.balances()
            assert summed == [], f"round {n}: the hot window was summed afresh"
            for k in range(7):
                books.balances(date(2024, 7, 1) - timedelta(days=k + 10 * n))
    finally:
        books.close()


def test_after_a_bulk_write_balances_are_summed_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding costs per row in Python: after a write of more events than
    ``_FOLD_AT_MOST`` the aggregate runs instead, with the same answer."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    books = Ledger.open(url, clock=FakeClock())
    summed = counted_sums(monkeypatch)
    try:
        scenario = base()
        books.import_scenario(scenario)
        books.balances()
        order = scenario.orders[0]
        lots = tuple(
            d.Lot(f"LOT-BULK-{i:04d}", order.id, 1, date(2024, 1, 1), date(2024, 1, 9), order.org)
            for i in range(ledger_module._FOLD_AT_MOST + 1)
        )
        bigger = dataclasses.replace(order, qty=order.qty + len(lots))
        books.import_scenario(
            dataclasses.replace(
                scenario,
                orders=tuple(bigger if o.id == order.id else o for o in scenario.orders),
                lots=(*scenario.lots, *lots),
            ),
            actor="t",
        )
        summed.clear()
        kept = books.balances()
        assert len(summed) == 1, "a bulk write is summed afresh"
        fresh = Ledger.open(url, clock=FakeClock())
        try:
            assert kept == fresh.balances()
        finally:
            fresh.close()
    finally:
        books.close()
