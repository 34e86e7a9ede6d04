"""gpuledger.notebook: DataFrames holding the services' rows, and examples/notebook.py runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from gpuledger.domain import BooksNotFound, InvalidInput
from gpuledger.domain.enums import ListKind
from gpuledger.notebook import Books, open_books
from gpuledger.services.lists import list_records, parse_query
from gpuledger.services.planning import plan_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    db = tmp_path_factory.mktemp("nb") / "books.db"
    with open_books(db, create=True) as opened:
        assert opened.import_file(ROOT / "examples" / "small.yaml") > 0
        yield opened


@pytest.mark.parametrize("kind", list(ListKind), ids=str)
def test_records_are_the_lists_rows(books: Books, kind: ListKind) -> None:
    df = books.records(str(kind))
    rows = list_records(books.ledger, parse_query(kind)).rows()
    assert list(df["id"]) == [r["id"] for r in rows]
    assert len(df.columns) == len(rows[0]) if rows else True


def test_dates_are_datetimes_and_filters_apply(books: Books) -> None:
    lots = books.lots(status="expected", end="2024-06-30")
    assert list(lots["id"]) == ["LOT-A-3", "LOT-B-2"]
    assert pd.api.types.is_datetime64_any_dtype(lots["arrives_on"])


def test_plan_impact_and_forecast_have_a_row_per_target(books: Books) -> None:
    plan = books.plan(known_on="2024-01-15")
    expected = plan_report(books.ledger, known_on=pd.Timestamp("2024-01-15").date())
    assert list(plan["id"]) == [t.id for t in expected.targets]
    assert plan.set_index("id").loc["alpha-q1", "completed_on"] == pd.Timestamp("2024-04-01")
    impact = books.impact(diversion="DIV-A2-BETA")
    assert impact["gpu_days_lost"].sum() > 0
    forecast = books.forecast(samples=30, seed=1)
    assert set(forecast["id"]) == set(plan["id"])
    assert forecast["on_time_probability"].between(0, 1).all()


def test_bad_values_are_the_services_errors(books: Books) -> None:
    with pytest.raises(InvalidInput, match="policy"):
        books.plan(policy="fairshare")
    with pytest.raises(InvalidInput, match="status"):
        books.lots(status="shipped")
    with pytest.raises(BooksNotFound):
        open_books(ROOT / "no-such-books.db")


def test_the_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "notebook.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "GPU-days lost in all: 145600" in done.stdout


def test_import_file_writes_into_the_open_books_even_in_memory() -> None:
    """The notebook imports through its own open ledger: in-memory books see what they import."""
    with open_books("sqlite://", create=True) as opened:
        assert opened.import_file(ROOT / "examples" / "small.yaml") > 0
        assert not opened.balances().empty
        assert set(opened.records("orgs")["id"]) >= {"alpha", "beta"}
