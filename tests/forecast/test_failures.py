"""Failures: a cluster's units and failures are its org's too."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpuledger.forecast.failures import LLAMA3, FailureModel, _fold_children, failures_bins_first


@pytest.mark.parametrize("same", [False, True], ids=["from-other", "in-place"])
def test_fold_children_adds_each_child_to_its_parent(same: bool) -> None:
    # series 0 and 1 are orgs; 2, 3 belong to 0 and 4 to 1
    into = np.arange(2 * 5).reshape(1, 2, 5) * 10
    source = into if same else np.ones((1, 2, 5), dtype=np.int64)
    children, dest = np.array([2, 3, 4]), np.array([0, 0, 1])
    expected = into.copy()
    expected[..., 0] += source[..., 2] + source[..., 3]
    expected[..., 1] += source[..., 4]
    _fold_children(into, source, children, dest, np.add)
    assert (into == expected).all()


def test_fold_children_in_place_reads_children_before_writing_a_chain() -> None:
    # series 2 -> 1 -> 0: every child's value is the one before the fold
    into = np.array([[[1, 10, 100]]])
    _fold_children(into, into, np.array([2, 1]), np.array([1, 0]), np.add)
    assert into.tolist() == [[[11, 110, 100]]]


def test_cluster_failures_count_against_its_org() -> None:
    held = np.zeros((3, 4, 3), dtype=np.int64)  # [bins, samples, series]
    held[1:, :, 0] = 500  # the org's own units
    held[1:, :, 2] = 400  # its cluster's, also the org's
    held[1:, :, 0] += 400
    failed = failures_bins_first(
        held, np.array([0.5, 0.0, 0.5]), np.array([-1, -1, 0]), 30, np.random.default_rng(3)
    )
    assert (failed[:, :, 0] >= failed[:, :, 2]).all()
    assert failed[-1, :, 2].min() > 0
    assert (failed[:, :, 1] == 0).all()
    # the org fails on at most its own 500 units beyond the cluster's failures
    assert (failed[-1, :, 0] - failed[-1, :, 2] <= 500).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interruptions_per_failure": 0.5},
        {"interruptions_per_failure": 101.0},
        {"repair_days": -1},
        {"rma_days": 3_651},
    ],
    ids=["fewer-interruptions-than-failures", "too-many", "negative-repair", "rma-too-long"],
)
def test_failure_model_bounds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FailureModel(**kwargs)  # type: ignore[arg-type]


def test_llama3_calibration_is_the_published_table() -> None:
    assert (LLAMA3.interruptions, LLAMA3.failures, LLAMA3.gpus, LLAMA3.days) == (
        419,
        220,
        16_384,
        54,
    )
    assert LLAMA3.annual_failure_rate == pytest.approx(0.0868, abs=5e-4)
    assert FailureModel().interruptions_per_failure == pytest.approx(419 / 220)


def test_in_service_is_held_less_units_under_repair_or_awaiting_a_replacement() -> None:
    model = FailureModel(repair_days=2, rma_days=30)
    h = -math.log1p(-0.09) / 365
    want = -math.expm1(-h * (419 / 220 - 1) * 2) - math.expm1(-h * 30)
    assert model.out_of_service_share(0.09) == pytest.approx(want)
    lost = FailureModel(replace=False, repair_days=2)
    assert lost.out_of_service_share(0.09) == pytest.approx(-math.expm1(-h * (419 / 220 - 1) * 2))
    assert FailureModel().out_of_service_share(0.0) == 0.0
