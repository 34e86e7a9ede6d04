"""Epoch AI's files into the books: atomic, re-import a no-op, export then import round-trips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from gpuledger.domain import ScenarioError
from gpuledger.ledger import Ledger
from gpuledger.scenario import dump_scenario, parse_scenario
from gpuledger.services.epoch import import_epoch


def _books(path: Path) -> Ledger:
    return Ledger.open(f"sqlite:///{path}", clock=lambda: datetime(2026, 1, 5, tzinfo=UTC))


def test_import_then_reimport_then_round_trip(tmp_path: Path) -> None:
    books = _books(tmp_path / "a.db")
    first = import_epoch(books, actor="analyst")
    assert first.books.new_events > 0
    assert first.to_json()["created"] == {
        "orgs": 177,
        "sites": 16,
        "power_steps": 113,
        "clusters": 502,
        "skus": 43,
        "claims": 349,
    }
    events = books.event_count()
    again = import_epoch(books, actor="analyst")
    assert again.books.new_events == 0 and books.event_count() == events
    exported = books.to_scenario()
    assert len(exported.claims) == 349 and len(exported.sites) == 16
    assert sum(c.site is not None for c in exported.clusters) == 8 == first.report.placed
    assert first.to_json()["at_no_site_by_reason"] == first.report.unplaced_by_reason()
    # Export, then import into fresh books: the same scenario comes back.
    fresh = _books(tmp_path / "b.db")
    fresh.import_scenario(parse_scenario(dump_scenario(exported)), actor="analyst")
    assert fresh.to_scenario() == exported
    books.close()
    fresh.close()


def test_owner_filter(tmp_path: Path) -> None:
    books = _books(tmp_path / "a.db")
    result = import_epoch(books, actor="analyst", owners=["Tesla"])
    assert {o.id for o in books.to_scenario().orgs} == {"Tesla"}
    # Tesla: the earnings-call claim, Cortex phase 1, the 10k H100 cluster and four A100 clusters.
    assert result.report.claims == 7
    assert result.report.clusters == 12
    books.close()


def test_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "gpu_clusters.csv"
    bad.write_bytes(b"Name,Owner\n\xff,x\n")
    books = _books(tmp_path / "a.db")
    before = books.event_count()
    with pytest.raises(ScenarioError):
        import_epoch(books, actor="analyst", clusters=bad)
    assert books.event_count() == before
    books.close()


def test_a_cluster_at_its_data_center_is_bound_by_its_power(tmp_path: Path) -> None:
    # xAI's Colossus phases sit at the Colossus 1 site: the planner caps each of
    # them by that site's power (Epoch AI's method), where before they had none.
    from gpuledger.domain.power import site_capacity
    from gpuledger.planning.power import NO_LIMIT, capacity_on
    from gpuledger.services.planning import books_snapshot

    books = _books(tmp_path / "a.db")
    import_epoch(books, actor="analyst", owners=["xAI"])
    scenario = books.to_scenario()
    day = date(2024, 9, 2)
    snap = books_snapshot(books, day)
    books.close()
    site = {x.id: x for x in scenario.sites}["xAI-Colossus-1-Memphis-Tennessee"]
    h100 = {k.id: k for k in scenario.skus}["NVIDIA-H100-SXM5-80GB"]
    want = site_capacity(h100, site, scenario.parameters, day)
    assert want is not None and want > 0
    caps = capacity_on(snap, np.array([day.toordinal()], dtype=np.int64))
    assert caps is not None
    k = snap.skus.index(h100.id)
    for phase in ("xAI-Colossus-Memphis-Phase-1", "xAI-Colossus-Memphis-Phase-3"):
        cap = int(caps[snap.consumers.index(phase), k, 0])
        assert cap != NO_LIMIT and cap == want, phase
