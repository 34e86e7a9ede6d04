"""forecast(): exact without uncertainty, faithful to the model, reproducible."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.forecast import BLOCK_SIZE, forecast
from gpuledger.forecast.engine import default_threads
from gpuledger.forecast.failures import (
    LLAMA3,
    FailureModel,
    bucket_failures,
    cumulative_failures,
)
from gpuledger.forecast.result import MEASURES
from gpuledger.planning import plan
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

from .conftest import D, SnapshotBuilder
from .test_kernels import random_snapshot

ALL_POLICIES = [
    PolicyName.CONSIGNED,
    PolicyName.PRIORITY,
    PolicyName.FAIR_SHARE,
    PolicyName.OPTIMAL,
]


def with_models(snap: PlanningSnapshot, p50: int, p90: int, afr: float) -> PlanningSnapshot:
    """The snapshot with one lead-time model for every (vendor, SKU) and a failure rate."""
    n = len(snap.skus)
    return snap.with_supply(
        lead_vendor=np.zeros(n, dtype=np.int64),
        lead_sku=np.arange(n, dtype=np.int64),
        lead_from_day=np.zeros(n, dtype=np.int64) + 1,
        lead_p50_days=np.full(n, p50, dtype=np.int64),
        lead_p90_days=np.full(n, p90, dtype=np.int64),
        sku_annual_failure_rate=np.full(n, afr),
        vendor_slip_p50_days=np.array([3]),
        vendor_slip_p90_days=np.array([3 if p50 == p90 else 9]),
    )


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
@pytest.mark.parametrize("seed", [0, 3, 7], ids=lambda s: f"fleet{s}")
@pytest.mark.parametrize("afr", [0.0, 0.3], ids=["no-failures", "replaced-failures"])
def test_no_spread_no_failures_is_the_deterministic_plan(
    policy: PolicyName, seed: int, afr: float
) -> None:
    # replaced failures lower no holdings: with no spread the forecast is the plan
    snap = random_snapshot(seed)
    snap = snap.with_supply(vendor_slip_p50_days=np.array([0]), vendor_slip_p90_days=np.array([0]))
    snap = with_models(snap, 90, 90, afr)
    expected = plan(snap, policy)
    result = forecast(snap, policy, samples=20, seed=1)
    on_time = result.on_time_probability()
    for t, (p10, p50, p90) in enumerate(result.completion_quantiles()):
        done = int(expected.target_completed_day[t])
        want = None if done < 0 else done
        assert (p10, p50, p90) == (want, want, want), snap.target_id[t]
        late = done < 0 or done > int(snap.target_by[t])
        assert on_time[t] == (0.0 if late else 1.0)


def test_one_lot_completion_quantiles_match_the_lognormal_within_2_percent() -> None:
    as_of = D("2024-01-01")
    b = SnapshotBuilder(as_of=as_of, horizon_end=D("2030-01-01")).org("t").lead(150, 240)
    b.row("O1", "t", 100, "2024-05-30", SupplyKind.OPEN_ORDER, ordered="2024-01-01")
    b.target("t-100", "t", 100, "2024-06-30")
    result = forecast(b.build(), PolicyName.CONSIGNED, samples=20_000, seed=11)
    _p10, p50, p90 = result.completion_quantiles()[0]
    assert p50 is not None and p90 is not None
    assert p50 - as_of.toordinal() == pytest.approx(150, rel=0.02)
    assert p90 - as_of.toordinal() == pytest.approx(240, rel=0.02)
    # on time means lead <= 181 days: P(lognormal <= 181) with the fitted parameters
    sigma = (math.log(240) - math.log(150)) / 1.2815515655446004
    z = (math.log(181.5) - math.log(150)) / sigma
    assert result.on_time_probability()[0] == pytest.approx(
        0.5 * (1 + math.erf(z / 2**0.5)), abs=0.01
    )


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"fleet{s}")
def test_quantiles_are_ordered(policy: PolicyName, seed: int) -> None:
    snap = with_models(random_snapshot(seed), 40, 90, 0.3)
    result = forecast(snap, policy, samples=60, seed=seed)
    inf = float("inf")
    for p10, p50, p90 in result.completion_quantiles():
        a, b, c = (inf if x is None else x for x in (p10, p50, p90))
        assert a <= b <= c
    for consumer in ("a", "b"):
        for sku in snap.skus:
            try:
                _, lo, mid, hi = result.holdings_curve(consumer, sku)
            except UnknownRecord:
                continue
            assert (lo <= mid).all() and (mid <= hi).all()


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.PRIORITY], ids=str)
def test_same_seed_same_answer_whatever_the_batch_size(policy: PolicyName) -> None:
    snap = with_models(random_snapshot(5), 40, 90, 0.2)
    runs = [
        forecast(snap, policy, samples=BLOCK_SIZE * 2 + 17, seed=42, batch_size=size)
        for size in (1, BLOCK_SIZE, 10 * BLOCK_SIZE)
    ]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0].completed, other.completed)
        np.testing.assert_array_equal(runs[0].curves, other.curves)
        assert runs[0].to_json() == other.to_json()
    different = forecast(snap, policy, samples=BLOCK_SIZE * 2 + 17, seed=43)
    assert not np.array_equal(runs[0].curves, different.curves)


@pytest.mark.parametrize("policy", [PolicyName.CONSIGNED, PolicyName.FAIR_SHARE], ids=str)
def test_same_seed_same_answer_whatever_the_thread_count(policy: PolicyName) -> None:
    snap = with_models(random_snapshot(5), 40, 90, 0.2)
    samples = BLOCK_SIZE * 3 + 17 if policy is PolicyName.CONSIGNED else 2 * BLOCK_SIZE + 3
    runs = [
        forecast(snap, policy, samples=samples, seed=42, batch_size=BLOCK_SIZE, threads=n)
        for n in (1, 2, 3)
    ]
    runs.append(forecast(snap, policy, samples=samples, seed=42))  # default thread count
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0].completed, other.completed)
        np.testing.assert_array_equal(runs[0].curves, other.curves)


def test_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threads"):
        forecast(random_snapshot(1), "priority", samples=3, seed=0, threads=0)


def test_default_threads_uses_at_most_two_cores() -> None:
    assert 1 <= default_threads() <= 2


def test_samples_of_a_block_do_not_depend_on_the_total() -> None:
    snap = with_models(random_snapshot(2), 40, 90, 0.2)
    small = forecast(snap, PolicyName.PRIORITY, samples=100, seed=9)
    large = forecast(snap, PolicyName.PRIORITY, samples=300, seed=9)
    np.testing.assert_array_equal(small.completed, large.completed[:100])


def failure_snapshot(afr: float) -> PlanningSnapshot:
    # 500 held today, 500 more on day 181 (no spread); the target needs all 1000
    b = SnapshotBuilder(as_of=D("2024-01-01"), horizon_end=D("2025-01-01"), afr={"H100": afr})
    b.org("t")
    b.row("L1", "t", 500, "2023-12-01", SupplyKind.ARRIVED)
    b.row("L2", "t", 500, "2024-06-30", SupplyKind.IN_TRANSIT)
    b.target("t-1000", "t", 1000, "2024-07-31")
    return b.build()


def test_replaced_failures_never_make_a_planned_target_never() -> None:
    # the plan completes on 2024-06-30; failed units are replaced, so failures
    # (counted: about 500 x 9% x half a year) delay nothing
    result = forecast(failure_snapshot(0.09), "consigned", samples=200, seed=1)
    assert result.on_time_probability() == [1.0]
    assert result.to_json()["targets"][0]["p50"] == "2024-06-30"
    assert result.failures[:, 0].mean() == pytest.approx(500 * 0.09 * 1.5, rel=0.1)
    assert (result.interruptions >= result.failures).all()


def test_lost_failures_can_prevent_completion() -> None:
    lost = FailureModel(replace=False)
    assert forecast(
        failure_snapshot(0.0), "consigned", samples=50, seed=1, failure_model=lost
    ).on_time_probability() == [1.0]
    result = forecast(failure_snapshot(0.09), "consigned", samples=200, seed=1, failure_model=lost)
    # ~23 of the first 500 are lost before the second lot arrives: it never completes
    assert result.on_time_probability() == [0.0]
    assert result.to_json()["targets"][0]["p50"] is None
    assert (result.failures[:, 0] == 1000 - result.curves[:, 0, -1]).all()


def test_llama3_fleet_over_54_days_has_llama3_interruptions() -> None:
    # 16,384 GPUs held on as_of, a 54-day window, the SKU's rate from the table
    b = SnapshotBuilder(
        as_of=D("2024-01-01"),
        horizon_end=D("2024-02-24"),
        afr={"H100": LLAMA3.annual_failure_rate},
    )
    b.org("meta")
    b.row("L1", "meta", LLAMA3.gpus, "2023-12-01", SupplyKind.ARRIVED)
    b.target("m", "meta", LLAMA3.gpus, "2024-01-31")
    result = forecast(b.build(), "consigned", samples=512, seed=5)
    # every sample within the Poisson range (3.3 sigma) of the table's counts
    for drawn, seen in ((result.interruptions, 419), (result.failures, 220)):
        half = 3.3 * seen**0.5
        assert (np.abs(drawn[:, 0] - seen) <= half).all(), (drawn.min(), drawn.max())
        assert drawn[:, 0].mean() == pytest.approx(seen, rel=0.03)
    # held units never fall (replaced), and the target completes on as_of
    assert result.on_time_probability() == [1.0]


def test_buckets_of_a_day_are_not_biased() -> None:
    # 14-day buckets overcount early losses; a day's buckets keep the rate exact
    lost = FailureModel(replace=False)
    snap = failure_snapshot(0.09)
    result = forecast(snap, "consigned", samples=2000, seed=2, failure_model=lost)
    expected = 500 * -np.expm1(np.log1p(-0.09) * 54 / 365)
    _, p50, _ = result.holdings_quantiles("t", D("2024-02-24"))
    assert 500 - p50 == pytest.approx(expected, abs=1.5)


def test_failures_thin_holdings_at_the_annual_rate() -> None:
    afr = 0.09
    result = forecast(
        failure_snapshot(afr),
        "consigned",
        samples=400,
        seed=3,
        failure_bucket_days=1,
        failure_model=FailureModel(replace=False),
    )
    _, p50, _ = result.holdings_quantiles("t", D("2025-01-01"))
    # 500 units exposed 366 days, 500 exposed 185 days (from the day after arrival)
    keep = 500 * (1 - afr) ** (366 / 365) + 500 * (1 - afr) ** (185 / 365)
    assert p50 == pytest.approx(keep, abs=6)


def test_failures_are_binomial_per_bucket() -> None:
    # 100 units held before failures start (bin 0); buckets of 10 days at AFR 50%
    arrivals = np.zeros((2000, 1, 4), dtype=np.int64)
    arrivals[:, 0, 0] = 100
    failed = cumulative_failures(
        arrivals, np.array([0.5]), np.array([-1]), 10, np.random.default_rng(0)
    )
    assert (failed[:, :, 0] == 0).all()
    assert (np.diff(failed, axis=2) >= 0).all()
    p = 1 - 0.5 ** (10 / 365)
    assert failed[:, 0, 1].mean() == pytest.approx(100 * p, rel=0.05)
    assert failed[:, 0, 3].mean() == pytest.approx(100 * (1 - (1 - p) ** 3), rel=0.03)


@pytest.mark.parametrize("afr", [0.09, 0.3], ids=["afr9", "afr30"])
def test_failures_over_a_year_match_the_annual_rate(afr: float) -> None:
    # 10,000 units held before failures start; 73 buckets of 5 days = one year
    arrivals = np.zeros((400, 1, 74), dtype=np.int64)
    arrivals[:, 0, 0] = 10_000
    failed = cumulative_failures(
        arrivals, np.array([afr]), np.array([-1]), 5, np.random.default_rng(4)
    )
    assert failed[:, 0, -1].mean() == pytest.approx(10_000 * afr, rel=0.02)
    # the per-bucket spread is the binomial's within sampling error
    p = 1 - (1 - afr) ** (5 / 365)
    first = failed[:, 0, 1]
    assert first.var() == pytest.approx(10_000 * p * (1 - p), rel=0.25)


@pytest.mark.parametrize(
    ("alive", "p"),
    [(0, 0.5), (3, 0.9), (1_000, 0.0035), (200_000, 0.0035)],
    ids=["none", "small-high-rate", "thousand", "large"],
)
def test_bucket_failures_never_exceed_the_units_alive(alive: int, p: float) -> None:
    draws = bucket_failures(np.full(20_000, alive), np.full(20_000, p), np.random.default_rng(2))
    assert (draws >= 0).all() and (draws <= alive).all()
    if alive == 0:
        assert (draws == 0).all()
    elif p < 0.5:
        # a Poisson of the binomial's mean: clipping at alive is negligible when p is small
        assert draws.mean() == pytest.approx(alive * p, rel=0.03)


def test_to_json_contract_and_frame() -> None:
    b = SnapshotBuilder(as_of=D("2024-01-01"), horizon_end=D("2024-12-31")).org("t")
    b.row("L1", "t", 10, "2024-03-01", SupplyKind.IN_TRANSIT)
    b.target("now", "t", 10, "2024-04-01").target("never", "t", 11, "2024-04-01")
    result = forecast(b.build(), "consigned", samples=5, seed=0)
    assert result.to_json() == {
        "samples": 5,
        "seed": 0,
        "policy": "consigned",
        "failures": "failures on: 1.90 interruptions per failure, interruptions out 1 "
        "day(s), failures replaced after 30 days",
        "measures": MEASURES,
        "targets": [
            {
                "id": "now",
                "p10": "2024-03-01",
                "p50": "2024-03-01",
                "p90": "2024-03-01",
                "on_time_probability": 1.0,
                "powered_on_time_probability": 1.0,
            },
            {
                "id": "never",
                "p10": None,
                "p50": None,
                "p90": None,
                "on_time_probability": 0.0,
                "powered_on_time_probability": 0.0,
            },
        ],
    }
    frame = result.to_frame()
    assert list(frame["id"]) == ["now", "never"]
    assert frame.loc[0, "p50"] == date(2024, 3, 1)


def test_progress_hook_reports_every_batch() -> None:
    calls: list[tuple[int, int]] = []
    snap = random_snapshot(1)
    forecast(
        snap,
        "priority",
        samples=600,
        seed=0,
        batch_size=BLOCK_SIZE,
        progress=lambda d, n: calls.append((d, n)),
    )
    assert calls == [(256, 600), (512, 600), (600, 600)]


def test_holdings_lookup_errors_name_the_consumer() -> None:
    result = forecast(random_snapshot(1), "priority", samples=3, seed=0)
    with pytest.raises(UnknownRecord, match="nobody"):
        result.holdings_quantiles("nobody", D("2024-02-01"))


@pytest.mark.parametrize("samples", [0, -1], ids=["zero", "negative"])
def test_samples_must_be_positive(samples: int) -> None:
    with pytest.raises(ValueError, match="samples"):
        forecast(random_snapshot(1), "priority", samples=samples, seed=0)


def test_cluster_failures_count_against_its_org_too() -> None:
    # series 0: an org receiving 100 units, 60 of them for its cluster (series 1)
    arrivals = np.zeros((500, 2, 13), dtype=np.int64)
    arrivals[:, 0, 0] = 100
    arrivals[:, 1, 0] = 60
    failed = cumulative_failures(
        arrivals, np.array([0.6, 0.6]), np.array([-1, 0]), 5, np.random.default_rng(1)
    )
    org_lost, cluster_lost = failed[:, 0], failed[:, 1]
    assert (org_lost >= cluster_lost).all()
    assert (org_lost - cluster_lost <= 40).all()
    # the org loses its own 40 units' failures plus the cluster's: 100 units' worth
    # over 12 buckets of 5 days
    expected = 100 * (1 - 0.4 ** (60 / 365))
    assert org_lost[:, -1].mean() == pytest.approx(expected, rel=0.05)


def test_curves_frame_has_one_row_per_series_and_grid_day() -> None:
    result = forecast(failure_snapshot(0.0), "consigned", samples=4, seed=0, curve_step_days=30)
    frame = result.curves_frame()
    assert len(frame) == result.layout.series_consumer.size * result.layout.grid.size
    last = frame[frame["day"] == frame["day"].max()].iloc[0]
    assert (last["consumer"], last["p10"], last["p50"], last["p90"]) == ("t", 1000, 1000, 1000)


def test_rich_progress_hook_drives_a_bar() -> None:
    import io

    from rich.console import Console

    from gpuledger.forecast import rich_progress

    out = io.StringIO()
    seen: list[int] = []

    def both(done: int, total: int) -> None:
        seen.append(done)
        hook(done, total)

    console = Console(file=out, force_terminal=True, width=80)
    with rich_progress("sampling", console=console) as hook:
        forecast(
            failure_snapshot(0.0), "consigned", samples=300, seed=0, batch_size=1, progress=both
        )
    assert seen == [256, 300]
    assert "sampling" in out.getvalue()


@settings(max_examples=25, deadline=None)
@given(
    fleet=st.integers(0, 10_000),
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from([PolicyName.CONSIGNED, PolicyName.PRIORITY]),
    spread=st.integers(0, 120),
    afr=st.sampled_from([0.0, 0.09, 0.5]),
)
def test_quantiles_are_ordered_property(
    fleet: int, seed: int, policy: PolicyName, spread: int, afr: float
) -> None:
    snap = with_models(random_snapshot(fleet), 40, 40 + spread, afr)
    result = forecast(snap, policy, samples=40, seed=seed, failure_bucket_days=7)
    inf = float("inf")
    probability = result.on_time_probability()
    for t, (p10, p50, p90) in enumerate(result.completion_quantiles()):
        a, b, c = (inf if x is None else x for x in (p10, p50, p90))
        assert a <= b <= c
        assert 0.0 <= probability[t] <= 1.0


@pytest.mark.parametrize(
    "build",
    [
        lambda b: b.row("L1", "t", 5, "2024-02-01", SupplyKind.IN_TRANSIT),
        lambda b: b.target("x", "t", 5, "2024-05-01"),
    ],
    ids=["no-targets", "no-supply"],
)
def test_empty_sides_run(build) -> None:  # type: ignore[no-untyped-def]
    b = SnapshotBuilder().org("t")
    build(b)
    snap = b.build()
    for policy in ALL_POLICIES:
        out = forecast(snap, policy, samples=3, seed=0).to_json()
        assert [t["p50"] for t in out["targets"]] == [None] * len(snap.target_id)


def test_a_failing_progress_hook_ends_a_threaded_run_with_its_error() -> None:
    calls: list[int] = []

    def hook(done: int, _total: int) -> None:
        calls.append(done)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        forecast(
            random_snapshot(1),
            "priority",
            samples=8 * BLOCK_SIZE,
            seed=0,
            batch_size=BLOCK_SIZE,
            threads=2,
            progress=hook,
        )
    assert calls == [BLOCK_SIZE]


def test_in_service_quantiles_take_out_the_expected_repairs() -> None:
    result = forecast(failure_snapshot(0.09), "consigned", samples=20, seed=0)
    held = result.holdings_quantiles("t", D("2024-12-31"))
    share = FailureModel().out_of_service_share(0.09)
    assert result.in_service_quantiles("t", D("2024-12-31")) == tuple(
        math.floor(h * (1 - share)) for h in held
    )
    off = forecast(failure_snapshot(0.09), "consigned", samples=20, seed=0, failures=False)
    assert off.in_service_quantiles("t", D("2024-12-31")) == held
    assert off.failure_model is None and not off.interruptions.any()


@pytest.mark.parametrize("replace_failed", [True, False])
@pytest.mark.parametrize("policy", list(PolicyName))
def test_books_with_nothing_to_plan_forecast_nothing(
    policy: PolicyName, replace_failed: bool
) -> None:
    """Books of an org and its cluster, with no supply and no target yet (a new
    user's first import): a forecast of nothing, not a crash (`gpuledger forecast`
    on such books ended in a NumPy traceback)."""
    b = SnapshotBuilder(as_of=date(2024, 1, 1), horizon_end=date(2024, 6, 1), skus=["H100"])
    b.org("a").cluster("a-1", "a")
    snap = with_models(b.build(), 20, 60, 0.5)
    model = FailureModel(replace=replace_failed)
    fc = forecast(snap, policy, samples=300, seed=1, threads=2, failure_model=model)
    assert fc.completed.shape == (300, 0)
    assert fc.curves.shape[:2] == (300, 0)
    assert fc.to_json()["targets"] == []
