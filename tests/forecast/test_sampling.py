"""Arrival draws: deterministic rows stay put, lognormal rows match their model."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from gpuledger.domain import ScenarioError
from gpuledger.forecast.sampling import Z90, arrival_model, sample_arrivals
from gpuledger.planning.snapshot import SupplyKind

from .conftest import D, SnapshotBuilder


def _draw(builder: SnapshotBuilder, n: int, seed: int = 7) -> np.ndarray:
    snap = builder.build()
    model = arrival_model(snap)
    rng = np.random.default_rng(seed)
    return sample_arrivals(model, rng.random((n, len(snap.supply_id))))


def test_z90_is_the_normal_90th_percentile() -> None:
    assert 0.5 * (1 + math.erf(Z90 / math.sqrt(2))) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize(
    "kind",
    [SupplyKind.ARRIVED, SupplyKind.IN_TRANSIT, SupplyKind.EXPECTED, SupplyKind.OPEN_ORDER],
    ids=lambda k: k.name,
)
def test_no_spread_keeps_every_scheduled_day(kind: SupplyKind) -> None:
    b = SnapshotBuilder().org("t").lead(100, 100)
    b.row("L1", "t", 10, "2024-03-01", kind)
    days = _draw(b, 50)
    assert (days == D("2024-03-01").toordinal()).all()


def test_no_lead_time_model_means_no_spread() -> None:
    b = SnapshotBuilder().org("t")
    b.row("O1", "t", 10, "2024-05-01", SupplyKind.OPEN_ORDER)
    assert (_draw(b, 20) == D("2024-05-01").toordinal()).all()


def test_open_order_arrival_quantiles_match_the_lognormal_within_2_percent() -> None:
    # ordered on as_of: no truncation, arrival - ordered_on ~ lognormal(P50=120, P90=200)
    as_of = D("2024-01-01")
    b = SnapshotBuilder(as_of=as_of, horizon_end=D("2030-01-01")).org("t").lead(120, 200)
    b.row("O1", "t", 5, "2024-04-30", SupplyKind.OPEN_ORDER, ordered="2024-01-01")
    lead = _draw(b, 20_000)[:, 0] - as_of.toordinal()
    assert np.quantile(lead, 0.5) == pytest.approx(120, rel=0.02)
    assert np.quantile(lead, 0.9) == pytest.approx(200, rel=0.02)


def test_expected_lot_keeps_its_date_at_the_median_and_shifts_by_the_deviation() -> None:
    # the lot is expected on 2024-06-01, later than ordered + P50: the deviation shifts it
    b = SnapshotBuilder(horizon_end=D("2030-01-01")).org("t").lead(100, 150)
    b.row("L1", "t", 5, "2024-06-01", SupplyKind.EXPECTED, ordered="2024-01-01")
    shift = _draw(b, 20_000)[:, 0] - D("2024-06-01").toordinal()
    assert np.median(shift) == pytest.approx(0, abs=1)
    # P90 of the deviation: 150 - 100 = 50 days
    assert np.quantile(shift, 0.9) == pytest.approx(50, rel=0.04)


def test_overdue_order_is_drawn_after_as_of_only() -> None:
    # ordered 200 days before as_of with P50 100: it has not arrived, so it comes later
    as_of = D("2024-01-01")
    b = SnapshotBuilder(as_of=as_of).org("t").lead(100, 150)
    b.row("O1", "t", 5, "2023-10-03", SupplyKind.OPEN_ORDER, ordered="2023-06-15")
    days = _draw(b, 5_000)[:, 0]
    assert days.min() >= as_of.toordinal() + 1
    # a truncated draw, not a pile-up at the floor: few samples sit on as_of + 1
    assert (days == as_of.toordinal() + 1).mean() < 0.05


@pytest.mark.parametrize(
    ("slip", "expected"),
    [((0, 0), 0), ((0, 30), 0), ((5, 5), 5)],
    ids=["none", "p50-zero-means-none", "fixed"],
)
def test_transit_slip_rules(slip: tuple[int, int], expected: int) -> None:
    b = SnapshotBuilder(slip={"nvidia": slip}).org("t")
    b.row("L1", "t", 5, "2024-02-01", SupplyKind.IN_TRANSIT)
    assert (_draw(b, 100)[:, 0] - D("2024-02-01").toordinal() == expected).all()


def test_transit_slip_lognormal_median() -> None:
    b = SnapshotBuilder(slip={"nvidia": (10, 30)}).org("t")
    b.row("L1", "t", 5, "2024-02-01", SupplyKind.IN_TRANSIT)
    slip = _draw(b, 20_000)[:, 0] - D("2024-02-01").toordinal()
    assert slip.min() >= 0
    assert np.median(slip) == pytest.approx(10, abs=0.5)
    assert np.quantile(slip, 0.9) == pytest.approx(30, rel=0.04)


def test_arrivals_beyond_the_horizon_are_clipped_to_the_day_after() -> None:
    b = SnapshotBuilder(horizon_end=D("2024-03-01")).org("t").lead(100, 1000)
    b.row("O1", "t", 5, "2024-02-01", SupplyKind.OPEN_ORDER, ordered="2023-12-01")
    days = _draw(b, 2_000)[:, 0]
    assert days.max() == D("2024-03-02").toordinal()


@pytest.mark.parametrize(("p50", "p90"), [(100, 50), (0, 10)], ids=["p90-below-p50", "p50-zero"])
def test_malformed_lead_time_is_a_scenario_error_naming_the_vendor(p50: int, p90: int) -> None:
    b = SnapshotBuilder().org("t").lead(p50, p90)
    b.row("O1", "t", 5, "2024-02-01", SupplyKind.OPEN_ORDER)
    with pytest.raises(ScenarioError, match="nvidia"):
        arrival_model(b.build())


def test_lead_time_in_force_on_the_order_date_is_used() -> None:
    # two models: before 2024 no spread, from 2024 a wide one; the 2023 order stays put
    b = SnapshotBuilder(as_of=date(2023, 1, 1)).org("t")
    b.lead(100, 100, since="2000-01-01").lead(50, 200, since="2024-01-01")
    b.row("O-old", "t", 5, "2023-04-11", SupplyKind.OPEN_ORDER, ordered="2023-01-01")
    b.row("O-new", "t", 5, "2024-02-20", SupplyKind.OPEN_ORDER, ordered="2024-01-01")
    days = _draw(b, 200)
    assert (days[:, 0] == D("2023-04-11").toordinal()).all()
    assert days[:, 1].std() > 5
