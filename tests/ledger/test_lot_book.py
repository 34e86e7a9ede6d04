"""A write reads its lot's history without building every row of it (issue 16).

Each write loads the lots it touches (``Work.preload_lots``). Proposals and
rejections pile up on a lot as pending and void rows; building a ``Transfer`` for
each of them twice, on every write, made a write's cost grow with the lot's
history. The rows a write needs are built; the others stay raw.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import Decision
from gpuledger.ledger import Ledger
from gpuledger.ledger import lot_book as lot_book_module

from .conftest import FakeClock, base

AS_OF = date(2024, 7, 1)  # the diversions' day: the lot is in tesla's stock
HISTORY = 30  # diversions proposed and rejected on the lot before the one measured


def test_a_decision_builds_the_rows_it_needs_not_the_lots_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=FakeClock())
    try:
        books.import_scenario(base())
        for n in range(HISTORY):
            books.propose_diversion(
                d.Diversion(f"OLD{n}", "LOT-T1-08", 1, "tesla", "xai", AS_OF), actor="t"
            )
            books.decide(f"OLD{n}", Decision.REJECT, actor="t")
        built: list[str] = []
        real = lot_book_module._transfer

        def counted(r: lot_book_module.RawRow, when: object) -> object:
            built.append(r[1])
            return real(r, when)  # type: ignore[arg-type]

        monkeypatch.setattr(lot_book_module, "_transfer", counted)
        books.propose_diversion(
            d.Diversion("NEW", "LOT-T1-08", 5, "tesla", "xai", AS_OF), actor="t"
        )
        books.decide("NEW", Decision.APPROVE, actor="t")
        assert len(built) <= 4, f"{len(built)} rows built for two writes: {built[:8]}"
        view = books.diversion("NEW")
        assert view.diversion.status is d.DiversionStatus.POSTED
        stock = {(b.owner, b.bucket): b.posted for b in books.balances()}
        assert stock[("org:xai", d.Bucket.STOCK)] == 5
    finally:
        books.close()
