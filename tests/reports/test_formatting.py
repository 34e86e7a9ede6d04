"""Numbers for people: separators, units, signed days, ISO dates, safe JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from gpuledger.reports import formatting as f


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (f.gpus, 12000, "12,000 GPUs"),
        (f.gpus, None, "—"),
        (f.gpu_days, 1_234_567, "1,234,567 GPU-days"),
        (f.days, 104, "+104 days"),
        (f.days, -1, "-1 day"),
        (f.days, 0, "0 days"),
        (f.days, None, "—"),
        (f.percent, 0.237, "24%"),
        (f.usd, 1234567.4, "USD 1,234,567"),
        (f.iso, date(2024, 12, 31), "2024-12-31"),
        (f.iso, datetime(2024, 6, 4, 12, tzinfo=UTC), "2024-06-04 12:00:00Z"),
        (f.iso, "2024-06-04T00:00:00+00:00", "2024-06-04 00:00:00Z"),
        (f.iso, "2024-06-04", "2024-06-04"),
    ],
    ids=lambda v: repr(v) if not callable(v) else v.__name__,
)
def test_formats(fn, value, expected) -> None:  # type: ignore[no-untyped-def]
    assert fn(value) == expected


def test_script_json_cannot_close_the_script_tag() -> None:
    text = f.script_json({"a": "</script><b>&"})
    assert "</" not in text and "<" not in text
    assert json.loads(text) == {"a": "</script><b>&"}
