"""Block results are copied into whole-run arrays in sample order, whatever their arrival order.

Large outputs live in an anonymous mapping of their own (engine._output): same answer.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from gpuledger.forecast import engine, forecast
from gpuledger.forecast.blocks import BLOCK_SIZE, BlockResult
from gpuledger.forecast.engine import _gather

from .test_kernels import random_snapshot


def result(block: int, n: int) -> BlockResult:
    """A block of ``n`` samples whose every value is its first sample's index."""
    lo = block * BLOCK_SIZE
    values = np.arange(lo, lo + n, dtype=np.int64)
    return BlockResult(
        block=block,
        completed=np.repeat(values[:, None], 3, axis=1),
        curves=np.repeat(values[:, None, None], 2, axis=1).repeat(4, axis=2).astype(np.int32),
        interruptions=np.repeat(values[:, None], 2, axis=1),
        failures=np.repeat(values[:, None], 2, axis=1),
        power_short=np.repeat(values[:, None] % 2 == 1, 3, axis=1),
    )


def test_blocks_out_of_order_land_in_sample_order() -> None:
    samples = 2 * BLOCK_SIZE + 5
    seen: list[tuple[int, int]] = []
    stream = [[result(2, 5)], [result(0, BLOCK_SIZE), result(1, BLOCK_SIZE)]]
    out = _gather(stream, samples, 3, lambda done, total: seen.append((done, total)))
    expect = np.arange(samples)
    np.testing.assert_array_equal(out["completed"][:, 0], expect)
    np.testing.assert_array_equal(out["curves"][:, 1, 3], expect)
    np.testing.assert_array_equal(out["power_short"][:, 2], expect % 2 == 1)
    assert out["curves"].dtype == np.int32 and out["power_short"].dtype == np.bool_
    assert seen == [(5, samples), (samples, samples)]


def test_a_missing_block_is_an_error() -> None:
    with pytest.raises(AssertionError, match="every block"):
        _gather([[result(0, BLOCK_SIZE)]], BLOCK_SIZE + 1, 2, None)


def test_large_outputs_in_a_mapping_of_their_own_hold_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snap = random_snapshot(3)
    usual = forecast(snap, "priority", samples=BLOCK_SIZE + 3, seed=4, threads=1)
    monkeypatch.setattr(engine, "_OWN_MAPPING_BYTES", 1)  # every non-empty output mapped
    mapped = forecast(snap, "priority", samples=BLOCK_SIZE + 3, seed=4, threads=1)
    for name in ("completed", "curves", "interruptions", "failures", "power_short"):
        a, b = getattr(usual, name), getattr(mapped, name)
        assert b.dtype == a.dtype and b.flags.writeable and b.flags.c_contiguous
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert not mapped.curves.flags.owndata  # a view of its mapping


def test_a_batch_is_freed_before_the_next_is_computed() -> None:
    """At world size a batch's arrays are hundreds of MB: none of them may outlive
    the copy into the whole-run outputs (the loop variable kept the last block)."""
    alive: list[list[bool]] = []

    def stream() -> Iterator[list[BlockResult]]:
        previous: list[weakref.ref[BlockResult]] = []
        for b in range(3):
            gc.collect()
            alive.append([ref() is not None for ref in previous])
            batch = [result(b, BLOCK_SIZE)]
            previous = [weakref.ref(r) for r in batch]
            yield batch
            del batch

    _gather(stream(), 3 * BLOCK_SIZE, 3, None)
    assert alive == [[], [False], [False]]
