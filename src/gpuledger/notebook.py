"""gpuledger in a notebook: the books, a plan, an impact and a forecast as pandas DataFrames.

An interface like the command line: every value is parsed by
:mod:`gpuledger.services.requests` and every result comes from the same
services the CLI, the API and the web call, so a DataFrame holds the rows of
``gpuledger ... --format csv``. Date columns are ``datetime64``; missing
values are ``NaT`` / ``None``.

Example::

    from gpuledger.notebook import open_books

    with open_books("fleet.db") as books:
        books.lots(status="expected")
        books.plan(policy="priority", known_on="2024-01-15")
        books.impact(divert="LOT-A-2:800:alpha:beta", on="2024-03-01")
        books.forecast(samples=2000, seed=7)

See docs/notebook.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd

from gpuledger.config import database_url
from gpuledger.domain.enums import ListKind
from gpuledger.services import requests as rq

if TYPE_CHECKING:
    from gpuledger.ledger import Ledger

__all__ = ["Books", "open_books"]

#: Columns read as dates wherever they appear.
DATE_COLUMNS = frozenset(
    {
        "ordered_on",
        "ships_on",
        "arrives_on",
        "by",
        "stated_on",
        "on",
        "known_on",
        "completed_on",
        "completed_before",
        "completed_after",
        "p10",
        "p50",
        "p90",
    }
)

Day = str | date | None


def frame(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of a result's JSON as a DataFrame, date columns as ``datetime64``."""
    df = pd.DataFrame(list(rows), columns=list(columns) if columns is not None else None)
    for column in df.columns:
        if column in DATE_COLUMNS:
            df[column] = pd.to_datetime(df[column], format="ISO8601")
    return df


def _now() -> datetime:
    return datetime.now(UTC)


class Books:
    """An open set of books, read as DataFrames (close it, or use ``with``)."""

    def __init__(self, ledger: Ledger, url: str) -> None:
        self.ledger = ledger
        self.url = url

    def __enter__(self) -> Books:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the books' connections."""
        self.ledger.close()

    # ------------------------------------------------------------------ the books

    def import_file(self, path: str | Path, *, actor: str = rq.DEFAULT_ACTOR) -> int:
        """Import a scenario file (YAML, XLSX or a CSV folder) atomically; new events written."""
        from gpuledger.services.books import import_into

        source = rq.parse_input_file(str(path), "path")
        report = import_into(self.ledger, source, actor=rq.parse_id(actor, "actor"), clock=_now)
        return report.new_events

    def balances(self, as_of: Day = None, known_on: Day = None) -> pd.DataFrame:
        """Units per account and SKU, posted and pending (``gpuledger balances``)."""
        from gpuledger.services.books import balances_report

        report = balances_report(
            self.ledger,
            rq.parse_optional_date(as_of, "as_of"),
            rq.parse_optional_date(known_on, "known_on"),
        )
        return frame(report.to_json()["balances"], ("owner", "bucket", "sku", "posted", "pending"))

    def records(
        self,
        kind: str,
        *,
        org: str | None = None,
        sku: str | None = None,
        status: str | None = None,
        start: Day = None,
        end: Day = None,
    ) -> pd.DataFrame:
        """The records of ``kind`` (orgs, orders, lots, targets, claims, diversions), filtered."""
        from gpuledger.services.lists import list_records, parse_query

        chosen = rq.parse_choice(kind, ListKind, "kind")
        names = {"org": "org", "sku": "sku", "status": "status", "start": "start", "end": "end"}
        query = parse_query(
            chosen, org=org, sku=sku, status=status, start=start, end=end, names=names
        )
        result = list_records(self.ledger, query)
        return frame(result.rows(), result.columns)

    def orgs(self) -> pd.DataFrame:
        """The orgs of the books."""
        return self.records("orgs")

    def orders(self, **filters: Any) -> pd.DataFrame:
        """Order lines with ``in_lots`` and ``left`` (filters as :meth:`records`)."""
        return self.records("orders", **filters)

    def lots(self, **filters: Any) -> pd.DataFrame:
        """Lots with their status and what is ``left`` of their order."""
        return self.records("lots", **filters)

    def targets(self, **filters: Any) -> pd.DataFrame:
        """Targets with the org of their consumer."""
        return self.records("targets", **filters)

    def claims(self, **filters: Any) -> pd.DataFrame:
        """Public claims."""
        return self.records("claims", **filters)

    def diversions(self, **filters: Any) -> pd.DataFrame:
        """Diversions and their status in the books."""
        return self.records("diversions", **filters)

    # ------------------------------------------------------------------ planning

    def plan(
        self, policy: str | None = None, as_of: Day = None, known_on: Day = None
    ) -> pd.DataFrame:
        """One row per target: held on its due date, completion and lateness."""
        from gpuledger.services.planning import plan_report

        result = plan_report(
            self.ledger,
            rq.parse_policy(policy, "policy"),
            rq.parse_optional_date(as_of, "as_of"),
            rq.parse_optional_date(known_on, "known_on"),
        )
        return frame(result.to_json()["targets"])

    def impact(
        self,
        *,
        diversion: str | None = None,
        divert: str | None = None,
        on: Day = None,
        payback: Iterable[str] = (),
        slip: str | None = None,
        new_order: str | None = None,
        priority: str | None = None,
        policy: str | None = None,
        known_on: Day = None,
    ) -> pd.DataFrame:
        """One row per target: before and after a change (or a diversion in the books).

        The change is given as on the command line: ``divert="LOT:QTY:FROM:TO"``
        with ``on`` (and ``payback=["LOT:QTY"]``), ``slip="LOT:DAYS"``,
        ``new_order="ORG:VENDOR:SKU:QTY"`` with ``on``, ``priority="TARGET:N"``;
        or ``diversion=ID``.
        """
        from gpuledger.services.planning import impact_of_change, impact_of_diversion

        chosen = rq.parse_policy(policy, "policy")
        known = rq.parse_optional_date(known_on, "known_on")
        payback = list(payback)
        if diversion is not None:
            rq.check_one_subject(diversion, [divert, slip, new_order, priority], "diversion")
            ident = rq.parse_id(diversion, "diversion")
            result = impact_of_diversion(self.ledger, ident, chosen, known_on=known)
        else:
            change = rq.parse_change(
                divert=divert,
                on=rq.parse_optional_date(on, "on"),
                payback=payback,
                slip=slip,
                new_order=new_order,
                priority=priority,
            )
            result = impact_of_change(self.ledger, change, chosen, None, known)
        return frame(result.to_json()["targets"])

    def forecast(
        self,
        samples: int | None = None,
        seed: int | None = None,
        policy: str | None = None,
        as_of: Day = None,
        known_on: Day = None,
    ) -> pd.DataFrame:
        """One row per target: P10, P50 and P90 completion and the odds of being on time.

        Two odds columns: ``on_time_probability`` counts units held,
        ``powered_on_time_probability`` only units the sites could power.
        """
        from gpuledger.services.forecasting import forecast_report

        result = forecast_report(
            self.ledger,
            rq.parse_policy(policy, "policy"),
            samples=rq.parse_samples(samples, "samples"),
            seed=rq.parse_seed(seed, "seed"),
            as_of=rq.parse_optional_date(as_of, "as_of"),
            known_on=rq.parse_optional_date(known_on, "known_on"),
        )
        return frame(result.to_json()["targets"])


def open_books(where: str | Path | None = None, *, create: bool = False) -> Books:
    """The books at a SQLite file or a SQLAlchemy URL (default: as the CLI finds them).

    ``create=True`` brings new books into being (to import a file into);
    otherwise books that do not exist are refused (BooksNotFound).
    """
    from gpuledger.services.books import open_books as open_ledger

    text = None if where is None else str(where)
    url = text if text is not None and "://" in text else database_url(text)
    return Books(open_ledger(url, create=create, clock=_now), url)
