"""The JSON contracts of the ledger's results come from one serializer, unchanged in shape.

Each result's JSON is ``jsonable`` of its contract row (``row()``) or of itself;
the reference below is the shape the CLI and the API have always printed:
accounts as ``owner/bucket``, timestamps in the hash chain's form (UTC,
microseconds), keys in this order.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from gpuledger import domain as d
from gpuledger.domain.serialize import jsonable
from gpuledger.ledger import Ledger, Transfer
from gpuledger.ledger.codec import timestamp, to_json

from .conftest import FakeClock, base


def reference_transfer(t: Transfer) -> dict[str, Any]:
    """A transfer as the CLI and API printed it before the contract rows existed."""
    return t.body() | {
        "effective_at": timestamp(t.effective_at),
        "recorded_at": timestamp(t.recorded_at),
    }


@pytest.fixture
def books() -> Ledger:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC))
    ledger = Ledger.open("sqlite://", clock=clock)
    ledger.import_scenario(base(as_of=date(2024, 1, 5)))
    ledger.propose_diversion(
        d.Diversion(
            "D9", "LOT-T1-07", 10, "x", "xai", date(2023, 12, 20),
            status=d.DiversionStatus.PENDING, reason="r",
        ),
        actor="carol",
    )  # fmt: skip
    return ledger


def test_transfers(books: Ledger) -> None:
    for t in books.transfers():
        assert t.as_json() == jsonable(t.row()) == reference_transfer(t)
        assert list(t.as_json()) == list(reference_transfer(t))  # same key order
    assert books.transfers()[0].as_json()["effective_at"] == "2023-12-04T00:00:00.000000+00:00"


def test_trace(books: Ledger) -> None:
    trace = books.trace("LOT-T1-07")
    assert trace.as_json() == jsonable(trace.row())
    assert json.dumps(trace.as_json()) == json.dumps(
        {
            "lot": trace.lot,
            "sku": trace.sku,
            "shipped": trace.shipped,
            "transfers": [reference_transfer(t) for t in trace.transfers],
            "holdings": {str(a): q for a, q in sorted(trace.holdings.items())},
            "pending": {str(a): q for a, q in sorted(trace.pending.items())},
            "sites": {},  # the site of each cluster the lot touched (none here)
        }
    )


def test_diversions(books: Ledger) -> None:
    views = books.diversions()
    assert {v.diversion.id for v in views} == {"DIV-DEC23", "D9"}
    for view in views:
        assert view.as_json() == jsonable(view.row())
        assert json.dumps(view.as_json()) == json.dumps(
            {
                "diversion": to_json(view.diversion),
                "status": view.status.value if view.status else None,
                "decisions": [to_json(x) for x in view.decisions],
                "transfers": [reference_transfer(t) for t in view.transfers],
            }
        )


def test_a_diversion_view_is_rendered_once(books: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept view renders its JSON once (a page of the list renders a hundred views per
    request); each call still returns objects of its own at every level, so a caller
    changing what it got (the API adds the approvals) changes nothing for the next."""
    from gpuledger.ledger import results

    rendered: list[object] = []
    render = results._json

    def counting(row: object) -> dict[str, Any]:
        rendered.append(row)
        return render(row)

    monkeypatch.setattr(results, "_json", counting)
    view = books.diversions()[0]
    first = view.as_json()
    first["approvals"] = {"required": []}
    first["diversion"]["to_org"] = "mallory"
    first["transfers"].clear()
    second = view.as_json()
    assert "approvals" not in second and second is not first
    assert second == jsonable(view.row()), "a caller's change reached the next caller"
    assert len(rendered) == 1
    assert books.diversions()[0] is view, "the ledger keeps the view across reads"


def test_events_imports_and_audits(books: Ledger) -> None:
    for e in books.events(limit=10):
        assert json.dumps(e.as_json()) == json.dumps(to_json(e))
    report = books.import_scenario(base(as_of=date(2024, 1, 5)))
    assert (
        json.dumps(report.as_json()) == json.dumps(to_json(report)) == json.dumps(jsonable(report))
    )
    audit = books.verify()
    assert json.dumps(audit.as_json()) == json.dumps(to_json(audit))
