"""Two real processes divert the same units at once: exactly one succeeds, on both backends."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, date, datetime
from typing import Any

from gpuledger import domain as d
from gpuledger.ledger import Ledger

from .conftest import reference

ROUNDS = 2


def _propose(url: str, diversion_id: str, start: Any, results: Any) -> None:
    books = Ledger.open(url, clock=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    diversion = d.Diversion(
        diversion_id, "L1", 80, "a", "b", date(2023, 12, 6), status=d.DiversionStatus.PENDING
    )
    start.wait(30)
    try:
        books.propose_diversion(diversion, actor=diversion_id)
        results.put((diversion_id, "ok"))
    except d.GpuledgerError as exc:
        results.put((diversion_id, type(exc).__name__))
    finally:
        books.close()


def test_two_processes_divert_the_same_units(ledger_url: str) -> None:
    books = Ledger.open(ledger_url)
    books.import_scenario(reference())
    books.ship(reference().lots[0], actor="ops")  # 100 units of L1 in transit at org a
    ctx = mp.get_context("spawn")
    for n in range(ROUNDS):
        start, results = ctx.Event(), ctx.Queue()
        ids = [f"D{n}-first", f"D{n}-second"]
        workers = [ctx.Process(target=_propose, args=(ledger_url, i, start, results)) for i in ids]
        for w in workers:
            w.start()
        start.set()
        outcomes = dict(results.get(timeout=60) for _ in workers)
        for w in workers:
            w.join(60)
            assert w.exitcode == 0
        assert sorted(outcomes.values()) == ["InsufficientUnits", "ok"], outcomes
        winner = next(i for i, o in outcomes.items() if o == "ok")
        assert books.decide(winner, d.Decision.VOID, actor="ops") is d.DiversionStatus.VOIDED
    assert books.verify().ok
    books.close()
