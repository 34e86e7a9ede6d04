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

from gpuledger.domain import PolicyName
from gpuledger.ledger import Ledger
from gpuledger.planning import DivertChange, impact, with_sites
from gpuledger.services import planning as services
from tests.web.books import clock, import_eve

ON = date(2023, 12, 10)
EVE = date(2023, 12, 9)  # the books a change on ON is evaluated on
impact_module = importlib.import_module("gpuledger.planning.impact")


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
