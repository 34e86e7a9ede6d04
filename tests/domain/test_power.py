"""Powered capacity (Epoch AI's method): MW x 10^6 / (TDP x overhead x PUE), rounded down."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuledger.domain import Parameters, PowerStep, Site, Sku
from gpuledger.domain.power import deploy_capacity_problem, org_capacity, site_capacity

D = date.fromisoformat
H100 = Sku("H100", tdp_w=700, h100e=1.0)
P = Parameters(system_overhead=1.82, pue=1.0)
SITE = Site(
    "giga-texas",
    "tesla",
    power=(PowerStep(D("2024-11-15"), 63.7), PowerStep(D("2024-06-01"), 35.0)),
)


@pytest.mark.parametrize(
    ("day", "units"),
    [
        pytest.param("2024-05-31", 0, id="before-the-first-step"),
        pytest.param("2024-06-01", 27_472, id="first-step"),  # 35e6 / 1274 = 27,472.5
        pytest.param("2024-11-14", 27_472, id="day-before-the-second"),
        pytest.param("2024-11-15", 50_000, id="exact-quotient-not-rounded-down"),
    ],
)
def test_site_capacity_is_a_step_function_in_units(day: str, units: int) -> None:
    assert site_capacity(H100, SITE, P, D(day)) == units


def test_site_pue_overrides_the_parameter() -> None:
    site = Site("s", "o", pue=2.0, power=(PowerStep(D("2024-01-01"), 2.548),))
    assert site_capacity(H100, site, P, D("2024-01-01")) == 1_000  # 2.548e6 / (700*1.82*2)


def test_no_stated_limit() -> None:
    assert site_capacity(H100, Site("s", "o"), P, D("2024-01-01")) is None  # no timeline
    assert site_capacity(Sku("X"), SITE, P, D("2024-12-01")) is None  # TDP unknown
    assert org_capacity(H100, [], P, D("2024-12-01")) is None  # no site at all
    assert org_capacity(H100, [SITE, Site("s", "o")], P, D("2024-12-01")) is None


def test_org_capacity_sums_its_sites() -> None:
    other = Site("s2", "tesla", power=(PowerStep(D("2024-01-01"), 1.274),))
    assert org_capacity(H100, [SITE, other], P, D("2024-12-01")) == 50_000 + 1_000


# --------------------------------------------------------------------------- the deploy rule


def _h100() -> Sku:
    return Sku("H100", tdp_w=700.0)


def test_deploy_capacity_counts_every_sku_by_its_draw() -> None:
    site = Site("s", "o", power=(PowerStep(date(2024, 1, 1), 1.2),))
    b200 = Sku("B200", tdp_w=1400.0)
    day = date(2024, 2, 1)
    # 1.2 MW runs 784 H100 (1,528.8 W each); 100 B200 draw as much as 200 H100.
    assert deploy_capacity_problem(site, _h100(), 584, [(b200, 100)], Parameters(), day) is None
    problem = deploy_capacity_problem(site, _h100(), 585, [(b200, 100)], Parameters(), day)
    assert problem is not None
    assert "room for 784 units of H100" in problem and "584 more fit; asked for 585" in problem


def test_deploy_capacity_states_no_limit_without_power_or_tdp() -> None:
    day = date(2024, 2, 1)
    unpowered = Site("s", "o")
    assert deploy_capacity_problem(unpowered, _h100(), 10**9, [], Parameters(), day) is None
    site = Site("s", "o", power=(PowerStep(date(2024, 1, 1), 0.001),))
    assert deploy_capacity_problem(site, Sku("X"), 10**9, [], Parameters(), day) is None
    before = deploy_capacity_problem(site, _h100(), 1, [], Parameters(), date(2023, 1, 1))
    assert before is not None and "0 MW" in before


@given(
    mw=st.floats(min_value=0, max_value=5_000),
    tdp=st.floats(min_value=1, max_value=3_000),
    pue=st.floats(min_value=1, max_value=3),
    qty=st.integers(min_value=1, max_value=10**7),
)
def test_a_deploy_into_an_empty_site_fits_exactly_up_to_its_capacity(
    mw: float, tdp: float, pue: float, qty: int
) -> None:
    site = Site("s", "o", pue=pue, power=(PowerStep(date(2024, 1, 1), mw),))
    sku = Sku("X", tdp_w=tdp)
    day = date(2024, 1, 2)
    capacity = site_capacity(sku, site, Parameters(), day)
    assert capacity is not None
    fits = deploy_capacity_problem(site, sku, qty, [], Parameters(), day) is None
    assert fits == (qty <= capacity)
    if capacity >= 1:  # the boundary itself, whatever qty was drawn
        assert deploy_capacity_problem(site, sku, capacity, [], Parameters(), day) is None
    assert deploy_capacity_problem(site, sku, capacity + 1, [], Parameters(), day) is not None
