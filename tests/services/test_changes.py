"""``changes``: what the books recorded between two dates, by record, old and new, with actors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gpuledger.domain import InputTooLarge, InvalidInput, Order
from gpuledger.ledger import Ledger
from gpuledger.scenario import load_scenario
from gpuledger.services.changes import changes
from gpuledger.services.visibility import Visibility
from tests.cli.conftest import SMALL


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 10, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def books(tmp_path: Path) -> Iterator[tuple[Ledger, Clock]]:
    clock = Clock()
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=clock)
    ledger.import_scenario(load_scenario(SMALL), actor="setup")
    yield ledger, clock
    ledger.close()


def order(qty: int) -> Order:
    return Order("PO-BETA-2", "beta", "nvidia", "H100-SXM5-80GB", qty, date(2025, 1, 2))


def test_changes_are_grouped_by_record_with_old_new_and_actor(
    books: tuple[Ledger, Clock],
) -> None:
    ledger, clock = books
    ledger.order(order(400), actor="paula")
    clock.now = datetime(2025, 1, 11, 9, tzinfo=UTC)
    ledger.order(order(450), actor="omar")
    ledger.reverse("movement:DEP-A1:0", actor="omar", reason="wrong cluster")

    day1 = changes(ledger, date(2025, 1, 10), date(2025, 1, 10))
    assert [r.record for r in day1.records] == ["order PO-BETA-2"]
    (created,) = day1.records[0].entries
    assert (created.what, created.actor) == ("created", "paula")
    assert ("qty", None, 400) in [(f.field, f.old, f.new) for f in created.fields]

    day2 = changes(ledger, date(2025, 1, 11))
    by_record = {r.record: r.entries for r in day2.records}
    assert set(by_record) == {"order PO-BETA-2", "transfer movement:DEP-A1:0"}
    (amended,) = by_record["order PO-BETA-2"]
    assert (amended.what, amended.actor) == ("changed", "omar")
    assert [(f.field, f.old, f.new) for f in amended.fields] == [("qty", 400, 450)]
    (reversal,) = by_record["transfer movement:DEP-A1:0"]
    assert reversal.what == "reverse"
    assert ("reason", None, "wrong cluster") in [(f.field, f.old, f.new) for f in reversal.fields]

    rows = day2.rows()
    assert {r["record"] for r in rows} == set(by_record)
    assert day2.to_json()["records"][0]["entries"][0]["actor"] == "omar"


def test_a_reader_sees_only_changes_touching_their_orgs(books: tuple[Ledger, Clock]) -> None:
    ledger, _ = books
    ledger.order(order(400), actor="paula")
    consumer_org = Visibility.everything(ledger.to_scenario()).consumer_org
    alpha = Visibility(frozenset({"alpha"}), False, consumer_org)
    beta = Visibility(frozenset({"beta"}), False, consumer_org)
    assert [r.record for r in changes(ledger, date(2025, 1, 10), seen=beta).records] == [
        "order PO-BETA-2"
    ]
    assert changes(ledger, date(2025, 1, 10), seen=alpha).records == ()


def test_a_window_backwards_or_too_wide_is_refused(books: tuple[Ledger, Clock]) -> None:
    ledger, _ = books
    with pytest.raises(InvalidInput, match="--until"):
        changes(ledger, date(2025, 1, 10), date(2025, 1, 9))
    with pytest.raises(InputTooLarge, match="--until"):
        changes(ledger, date(2000, 1, 1), limit=3)
