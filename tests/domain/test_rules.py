"""Rules between records: each broken rule names its field and the records involved."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.domain import (
    Cluster,
    Diversion,
    LedgerError,
    Lot,
    Movement,
    Order,
    Payback,
    TransferKind,
)
from gpuledger.domain.rules import (
    diversion_problems,
    lot_problems,
    movement_problems,
    refuse,
)

D = date.fromisoformat
ORDER = Order("PO", "tesla", "nvidia", "H100", 100, D("2023-03-01"))


def lot(qty: int = 40, ships: str = "2023-12-04", arrives: str = "2023-12-18", **kw: str) -> Lot:
    return Lot(kw.get("id", "L1"), "PO", qty, D(ships), D(arrives), kw.get("consignee", "tesla"))


@pytest.mark.parametrize(
    ("the_lot", "before", "fields"),
    [
        pytest.param(lot(), 0, [], id="fits"),
        pytest.param(lot(qty=100), 0, [], id="exactly-the-order"),
        pytest.param(lot(qty=61), 40, ["qty"], id="beyond-what-is-left"),
        pytest.param(lot(ships="2023-02-28"), 0, ["ships_on"], id="ships-before-ordered"),
        pytest.param(lot(arrives="2023-12-03"), 0, ["arrives_on"], id="arrives-before-ships"),
    ],
)
def test_lot_against_order(the_lot: Lot, before: int, fields: list[str]) -> None:
    assert [p.field for p in lot_problems(the_lot, ORDER, before)] == fields


def test_lot_beyond_order_names_what_is_left() -> None:
    (p,) = lot_problems(lot(qty=70), ORDER, 40)
    assert "60 left for lot L1" in p.reason


DIV = Diversion("DIV", "L1", 10, "tesla", "x", D("2023-12-10"))
PAY = lot(id="LX", consignee="x", ships="2024-03-01", arrives="2024-03-10")


@pytest.mark.parametrize(
    ("payback", "paylots", "fields"),
    [
        pytest.param((Payback("LX", 10),), {"LX": (PAY, "H100")}, [], id="good-payback"),
        pytest.param((Payback("LY", 10),), {}, ["payback[0].lot"], id="unknown-lot"),
        pytest.param(
            (Payback("LX", 10),),
            {"LX": (lot(id="LX", consignee="x", ships="2023-12-10"), "H100")},
            ["payback[0].lot"],
            id="ships-on-the-diversion-day",
        ),
        pytest.param(
            (Payback("LX", 10),), {"LX": (PAY, "H200")}, ["payback[0].lot"], id="other-sku"
        ),
        pytest.param(
            (Payback("LX", 10),),
            {"LX": (lot(id="LX", ships="2024-03-01", arrives="2024-03-10"), "H100")},
            ["payback[0].lot"],
            id="not-the-receivers-lot",
        ),
        pytest.param(
            (Payback("LX", 41),), {"LX": (PAY, "H100")}, ["payback[0].qty"], id="too-many"
        ),
        pytest.param(
            (Payback("L1", 10),),
            {"L1": (lot(), "H100")},
            ["payback[0].lot", "payback[0].lot", "payback[0].lot"],
            id="the-diverted-lot-itself",
        ),
    ],
)
def test_diversion_payback(
    payback: tuple[Payback, ...], paylots: dict[str, tuple[Lot, str]], fields: list[str]
) -> None:
    d = Diversion(DIV.id, DIV.lot, DIV.qty, DIV.from_org, DIV.to_org, DIV.on, payback)
    assert [p.field for p in diversion_problems(d, lot(), "H100", paylots)] == fields


def test_diversion_between_one_org_and_before_shipping() -> None:
    d = Diversion("D", "L1", 5, "tesla", "tesla", D("2023-12-01"))
    assert [p.field for p in diversion_problems(d, lot(), "H100", {})] == ["to", "on"]


def test_movement_cluster_must_be_the_orgs() -> None:
    m = Movement("M", TransferKind.DEPLOY, 5, D("2024-01-01"), "tesla", cluster="colossus")
    assert [p.field for p in movement_problems(m, Cluster("colossus", "xai"))] == ["cluster"]
    assert movement_problems(m, Cluster("colossus", "tesla")) == []
    no_cluster = Movement("M", TransferKind.FAIL, 5, D("2024-01-01"), "tesla")
    assert [p.field for p in movement_problems(no_cluster, None)] == ["cluster"]


def test_refuse_raises_the_first_problem() -> None:
    refuse("lot L1", [])
    with pytest.raises(LedgerError, match="lot L1 field 'qty'"):
        refuse("lot L1", lot_problems(lot(qty=101), ORDER, 0))
