"""The no-negative grid over imports: scenarios with any dates and any ``known_on``.

Hypothesis writes a small fleet's history (deploy, fail and return movements
and a diversion, each on some day and known on some later day or not) and
imports it. Either the import is refused and writes nothing, or every
(as_of, known_on) view over the event dates holds no negative balance: nothing
is recorded before what it depends on, and no unit moves before it is there.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gpuledger import domain as d
from gpuledger.domain import TransferKind
from gpuledger.ledger import Ledger

from .conftest import reference
from .grid import negative_views

START = date(2023, 12, 1)
OPS = (TransferKind.DEPLOY, TransferKind.FAIL, TransferKind.RETURN)


def known(draw: st.DrawFn, on: date) -> date | None:
    """Known on the day (None), or some days later."""
    return draw(st.one_of(st.none(), st.integers(0, 30).map(lambda k: on + timedelta(k))))


@st.composite
def histories(draw: st.DrawFn) -> d.Scenario:
    """``reference()`` with random arrivals, then per lot a deploy, fail, return chain.

    The chains are mostly consistent in effective time (each step on or after
    the one it depends on, within what that step moved) and random in recorded
    time; sometimes a step is moved to any day, to meet the refusals too.
    """
    ref = reference(as_of=date(2024, 3, 1))
    lots = tuple(
        dataclasses.replace(lot, arrives_on=lot.ships_on + timedelta(draw(st.integers(0, 20))))
        for lot in ref.lots
    )
    movements = []
    for lot in lots:
        on, qty = lot.arrives_on, lot.qty
        for op in OPS[: draw(st.integers(0, 3))]:
            if draw(st.integers(0, 9)) == 0:
                on = START + timedelta(draw(st.integers(0, 45)))  # anywhere
            else:
                on += timedelta(draw(st.integers(0, 10)))
            qty = draw(st.integers(1, qty))
            cluster = None if op is TransferKind.RETURN else "ca"
            movements.append(
                d.Movement(f"{op.value}-{lot.id}", op, qty, on, "a", lot=lot.id, cluster=cluster,
                           known_on=known(draw, on))
            )  # fmt: skip
    diversions: tuple[d.Diversion, ...] = ()
    if draw(st.booleans()):
        on = START + timedelta(draw(st.integers(0, 45)))
        status = draw(st.sampled_from([d.DiversionStatus.POSTED, d.DiversionStatus.VOIDED]))
        diversions = (
            d.Diversion("DV", "L1", draw(st.integers(1, 50)), "a", "b", on, status=status,
                        known_on=known(draw, on)),
        )  # fmt: skip
    return dataclasses.replace(ref, lots=lots, movements=tuple(movements), diversions=diversions)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_an_import_is_refused_or_leaves_every_view_whole(scenario: d.Scenario) -> None:
    books = Ledger.open("sqlite://", clock=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    try:
        try:
            books.import_scenario(scenario)
        except d.LedgerError as exc:
            event(f"refused: {type(exc).__name__}")
            assert books.event_count() == 0
            return
        event("imported")
        assert negative_views(books) == []
        assert books.verify().ok
        assert books.import_scenario(scenario).new_events == 0
    finally:
        books.close()
