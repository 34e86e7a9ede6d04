"""Impacts at one state of the books share their baseline (issue 16: impact under load).

Every impact plans the books before the change twice over (the plan, then the
plan kept before the change's day) and only then the changed books; at one chain
head the first two are the same for every change of the same day and policy.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from gpuledger.domain import Diversion, DiversionStatus, PolicyName
from gpuledger.domain.enums import Decision
from gpuledger.ledger import Ledger
from gpuledger.planning import SITE_PARTS, DivertChange, impact, site_inputs, with_sites
from gpuledger.services import planning as services
from tests.web.books import clock, import_eve

ON = date(2023, 12, 10)
EVE = date(2023, 12, 9)  # the books a change on ON is evaluated on
impact_module = importlib.import_module("gpuledger.planning.impact")
PENDING = DiversionStatus.PENDING


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    import_eve(url)
    books = Ledger.open(url, clock=clock)
    yield books
    books.close()


def divert(qty: int) -> DivertChange:
    return DivertChange("LOT-T-2023-12", qty, "tesla", "x", ON)


def test_impacts_at_one_head_plan_the_baseline_once_and_answer_as_alone(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[object] = []
    real_plan = impact_module.plan
    monkeypatch.setattr(
        impact_module, "plan", lambda *a, **k: planned.append(1) or real_plan(*a, **k)
    )
    first = services.impact_of_change(ledger, divert(12_000), PolicyName.CONSIGNED)
    again = services.impact_of_change(ledger, divert(5_000), PolicyName.CONSIGNED)
    assert len(planned) == 1
    services.impact_of_change(ledger, divert(5_000), PolicyName.PRIORITY)  # another policy
    assert len(planned) == 2
    for qty, got in ((12_000, first), (5_000, again)):
        s = with_sites(
            ledger.snapshot(ON - (ON - date(2023, 12, 9))), ledger.to_scenario(date(2023, 12, 9))
        )
        alone = impact(s, divert(qty), PolicyName.CONSIGNED)
        assert got.to_json() == alone.to_json()


def test_a_kept_baseline_cannot_be_changed_in_place(ledger: Ledger) -> None:
    result = services.impact_of_change(ledger, divert(12_000), PolicyName.CONSIGNED)
    for array in (
        result.before.assign_qty,
        result.before.holdings,
        result.before.snapshot.sku_h100e,
    ):
        assert isinstance(array, np.ndarray)
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_a_dated_change_reads_only_the_books_of_its_eve(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A diversion carries its date: the snapshot of the books' today, built only to
    read a default date off it, is work an impact after every write paid for nothing."""
    asked: list[date] = []
    real = Ledger.snapshot

    def noted(self: Ledger, as_of: date, *args: object, **kwargs: object) -> object:
        asked.append(as_of)
        return real(self, as_of, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "snapshot", noted)
    later = DivertChange("LOT-T-2023-12", 12_000, "tesla", "x", date(2024, 1, 15))
    assert services.books_today(ledger) == EVE  # the books' today is not the change's eve
    result = services.impact_of_change(ledger, later, PolicyName.CONSIGNED)
    assert result.before.snapshot.as_of == date(2024, 1, 14)
    assert set(asked) == {date(2024, 1, 14)}


def _planned(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Counts the baselines planned (``planning.impact.plan``: once per baseline)."""
    planned: list[object] = []
    real_plan = impact_module.plan
    monkeypatch.setattr(
        impact_module, "plan", lambda *a, **k: planned.append(1) or real_plan(*a, **k)
    )
    return planned


def test_a_write_that_leaves_the_eve_as_it_was_keeps_its_baseline(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A diversion proposed and rejected for the change's day changes the books (a new
    head, a new document) but not the books of the eve: under writes like these an impact
    costs what it costs with a warm memo (issue 16), and answers as on fresh books."""
    planned = _planned(monkeypatch)
    services.impact_of_change(ledger, divert(12_000), PolicyName.CONSIGNED)
    pending = Diversion("D-NOT", "LOT-T-2023-12", 10, "tesla", "x", ON, status=PENDING)
    ledger.propose_diversion(pending, actor="planner")
    ledger.decide("D-NOT", Decision.REJECT, actor="planner")
    got = services.impact_of_change(ledger, divert(5_000), PolicyName.CONSIGNED)
    assert len(planned) == 1
    fresh = Ledger.open(str(ledger.engine.url), clock=clock)
    try:
        alone = services.impact_of_change(fresh, divert(5_000), PolicyName.CONSIGNED)
    finally:
        fresh.close()
    assert len(planned) == 2
    assert got.to_json() == alone.to_json()


def test_a_write_that_changes_the_eve_plans_its_baseline_again(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = _planned(monkeypatch)
    before = services.impact_of_change(ledger, divert(5_000), PolicyName.CONSIGNED)
    earlier = Diversion("D-EVE", "LOT-T-2023-06", 500, "tesla", "x", EVE, status=PENDING)
    ledger.propose_diversion(earlier, actor="planner")
    ledger.decide("D-EVE", Decision.APPROVE, actor="planner")  # posted on the eve
    after = services.impact_of_change(ledger, divert(5_000), PolicyName.CONSIGNED)
    assert len(planned) == 2
    assert after.to_json() != before.to_json()


def test_with_sites_reads_only_the_parts_its_results_are_kept_for(ledger: Ledger) -> None:
    """``services.planning`` keeps a sited snapshot for the scenario parts
    ``planning.site_inputs`` names: a part read but not named would serve a stale one."""
    scenario = ledger.to_scenario(EVE)
    read: set[str] = set()

    class Recording:
        def __getattr__(self, name: str) -> object:
            read.add(name)
            return getattr(scenario, name)

    sited = with_sites(ledger.snapshot(EVE), Recording())  # type: ignore[arg-type]
    assert sited.power_cap is not None  # the story's sites state power: every part is read
    named = {f for f in SITE_PARTS}
    assert read <= named, read - named
    assert site_inputs(scenario) == tuple(getattr(scenario, f) for f in SITE_PARTS)
