"""Counts in GPUs or H100-equivalents (``--unit``): one conversion for plan and impact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from gpuledger.domain import InvalidInput, PolicyName
from gpuledger.domain.enums import CountUnit
from gpuledger.planning import DivertChange, impact, plan
from gpuledger.services.planning import in_unit
from gpuledger.services.requests import parse_unit
from tests.planning.conftest import SnapBuilder


def snapshot(h100e: list[float]):
    b = SnapBuilder(skus=("H100", "B200"))
    b.lot("L1", "a", 10, "2024-02-01").lot("L2", "a", 4, "2024-02-01", sku="B200")
    b.target("t1", "a", 10, "2024-03-01").target("t2", "a", 4, "2024-03-01", sku="B200")
    return replace(b.build(), sku_h100e=np.array(h100e, dtype=np.float64))


def test_plan_rows_in_h100e_use_each_skus_factor() -> None:
    s = snapshot([1.0, 2.5])
    doc = in_unit(plan(s, PolicyName.CONSIGNED).to_json(), s, CountUnit.H100E)
    rows = {t["id"]: t for t in doc["targets"]}
    assert doc["unit"] == "h100e"
    assert (rows["t1"]["qty"], rows["t1"]["held_at_by"]) == (10.0, 10.0)
    assert (rows["t2"]["qty"], rows["t2"]["held_at_by"], rows["t2"]["powered_at_by"]) == (
        10.0,
        10.0,
        10.0,
    )
    assert rows["t2"]["by"] == "2024-03-01"  # only counts change


def test_impact_gpu_days_in_h100e() -> None:
    s = snapshot([1.0, 2.5])
    result = impact(s, DivertChange("L2", 4, "a", "b", date(2024, 1, 15)), PolicyName.CONSIGNED)
    gpus = in_unit(result.to_json(), s, CountUnit.GPUS)
    h100e = in_unit(result.to_json(), s, CountUnit.H100E)
    assert gpus["unit"] == "gpus"
    a = next(o for o in gpus["orgs"] if o["org"] == "a")
    a_e = next(o for o in h100e["orgs"] if o["org"] == "a")
    assert a_e["gpu_days_lost"] == a["gpu_days_lost"] * 2.5 > 0
    assert a_e["powered_gpu_days_lost"] == a["powered_gpu_days_lost"] * 2.5


def test_a_sku_without_factor_is_refused_naming_it() -> None:
    s = snapshot([1.0, float("nan")])
    with pytest.raises(InvalidInput, match="B200"):
        in_unit(plan(s, PolicyName.CONSIGNED).to_json(), s, CountUnit.H100E)


@pytest.mark.parametrize(
    ("text", "want"), [(None, CountUnit.GPUS), ("gpus", CountUnit.GPUS), ("H100E", CountUnit.H100E)]
)
def test_parse_unit(text: str | None, want: CountUnit) -> None:
    assert parse_unit(text) is want


def test_parse_unit_refuses_others() -> None:
    with pytest.raises(InvalidInput, match="--unit 'watts' is not one of gpus, h100e"):
        parse_unit("watts", "--unit")
