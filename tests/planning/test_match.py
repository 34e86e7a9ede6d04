"""Interval matching: ordered supply filling ordered demands within each key."""

from __future__ import annotations

import numpy as np
import pytest

from gpuledger.planning._match import match


def i64(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


@pytest.mark.parametrize(
    ("skey", "sqty", "dkey", "dqty", "expected"),
    [
        pytest.param(i64(0), i64(10), i64(0), i64(4), [(0, 0, 4)], id="one-lot-part-used"),
        pytest.param(
            i64(0, 0),
            i64(3, 5),
            i64(0, 0),
            i64(4, 4),
            [(0, 0, 3), (1, 0, 1), (1, 1, 4)],
            id="lot-split-across-demands",
        ),
        pytest.param(
            i64(0, 1),
            i64(5, 5),
            i64(1, 1),
            i64(2, 9),
            [(1, 0, 2), (1, 1, 3)],
            id="keys-do-not-mix",
        ),
        pytest.param(i64(0), i64(0), i64(0), i64(3), [], id="zero-supply"),
        pytest.param(i64(0), i64(4), i64(0, 0), i64(0, 2), [(0, 1, 2)], id="zero-demand-skipped"),
        pytest.param(
            i64(1), i64(4), i64(0, 1), i64(3, 1), [(0, 1, 1)], id="demand-key-without-supply"
        ),
    ],
)
def test_match_fills_in_order(skey, sqty, dkey, dqty, expected) -> None:
    seg = match(skey, sqty, dkey, dqty)
    got = list(zip(seg.supply.tolist(), seg.demand.tolist(), seg.qty.tolist(), strict=True))
    assert got == expected
