"""The one result serializer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pytest

from gpuledger.domain import Bucket
from gpuledger.domain.serialize import jsonable


@dataclass(frozen=True)
class Row:
    id: str
    on: date
    bucket: Bucket
    n: int
    curve: tuple[int, ...] = field(default=(), metadata={"json": False})


@dataclass(frozen=True)
class Report:
    at: datetime
    rows: tuple[Row, ...]
    by_org: dict[str, int]


def test_dataclasses_dates_enums_and_hidden_fields() -> None:
    r = Report(
        at=datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
        rows=(Row("a", date(2024, 2, 29), Bucket.STOCK, np.int64(5), (1, 2)),),  # type: ignore[arg-type]
        by_org={"tesla": 1},
    )
    assert jsonable(r) == {
        "at": "2024-01-02T03:04:00+00:00",
        "rows": [{"id": "a", "on": "2024-02-29", "bucket": "stock", "n": 5}],
        "by_org": {"tesla": 1},
    }
    assert type(jsonable(r)["rows"][0]["n"]) is int


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        jsonable({1, 2})
