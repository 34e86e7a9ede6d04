"""The planning snapshot built from the books (contract: planning/snapshot.py)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from gpuledger import domain as d
from gpuledger.ledger import Ledger
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

from .conftest import H100, base


def rows(s: PlanningSnapshot) -> set[tuple[str, SupplyKind, int, str, date]]:
    """Supply rows as (id, kind, qty, holder, day)."""
    return {
        (
            s.supply_id[i],
            SupplyKind(int(s.supply_kind[i])),
            int(s.supply_qty[i]),
            s.orgs[int(s.supply_holder[i])],
            date.fromordinal(int(s.supply_day[i])),
        )
        for i in range(len(s.supply_id))
    }


def test_index_spaces(ledger: Ledger) -> None:
    ledger.import_scenario(base())
    snap = ledger.snapshot(date(2024, 7, 1))
    assert snap.orgs == ("tesla", "x", "xai")
    assert snap.pools == ("musk", "xai")
    assert snap.org_pool.tolist() == [0, 0, 1]
    assert snap.consumers == ("tesla", "x", "xai", "cortex", "colossus")
    assert snap.consumer_org.tolist() == [0, 1, 2, 0, 2]
    assert snap.target_id == ("tesla-eoy24",)
    assert snap.target_consumer.tolist() == [0]
    assert snap.lead_time(0, 0, date(2023, 6, 1).toordinal()) == (300, 360)
    assert snap.sku_annual_failure_rate.tolist() == [0.09]
    assert snap.vendor_slip_p90_days.tolist() == [9]


def test_supply_mid_story(ledger: Ledger) -> None:
    ledger.import_scenario(base())
    snap = ledger.snapshot(date(2024, 1, 15))
    # T1-07 diverted to x and arrived; X1-01 shipped and paid back to tesla (in transit);
    # T1-08 and X1-02 not shipped; PO-T1 50k - 22k = 28k open, PO-X1 fully covered.
    assert rows(snap) == {
        ("LOT-T1-07", SupplyKind.ARRIVED, 12_000, "x", date(2023, 12, 18)),
        ("LOT-X1-01", SupplyKind.IN_TRANSIT, 12_000, "tesla", date(2024, 1, 24)),
        ("LOT-T1-08", SupplyKind.EXPECTED, 10_000, "tesla", date(2024, 2, 15)),
        ("LOT-X1-02", SupplyKind.EXPECTED, 12_000, "x", date(2024, 6, 24)),
        ("PO-T1", SupplyKind.OPEN_ORDER, 28_000, "tesla", date(2024, 1, 16)),  # overdue
    }
    assert any("PO-T1" in note for note in snap.notes)
    assert snap.supply_order == tuple(
        {"LOT-T1-07": "PO-T1", "LOT-X1-01": "PO-X1", "LOT-T1-08": "PO-T1",
         "LOT-X1-02": "PO-X1", "PO-T1": "PO-T1"}[i]
        for i in snap.supply_id
    )  # fmt: skip
    assert snap.supply_sku.tolist() == [0] * 5
    assert snap.supply_ordered_day.tolist() == [date(2023, 3, 1).toordinal()] * 5


def test_arrived_counts_clusters_and_excludes_failed(ledger: Ledger) -> None:
    failed = d.Movement("F1", d.TransferKind.FAIL, 100, date(2024, 3, 5), "tesla", cluster="cortex")
    ledger.import_scenario(base(movements=(*base().movements, failed)))
    snap = ledger.snapshot(date(2024, 7, 1))
    arrived = {(r[0], r[3]): r[2] for r in rows(snap) if r[1] is SupplyKind.ARRIVED}
    # T1-08: 10k arrived, 5k deployed at cortex (tesla's), 100 of them failed
    assert arrived[("LOT-T1-08", "tesla")] == 10_000 - 100
    assert arrived[("LOT-X1-01", "tesla")] == 12_000


def test_expected_lot_paid_back_and_known_on(ledger: Ledger) -> None:
    ledger.import_scenario(base(as_of=date(2023, 12, 31)))
    snap = ledger.snapshot(date(2023, 12, 31))
    # X1-01 (consigned to x) is paid back to tesla in full by the posted diversion
    assert ("LOT-X1-01", SupplyKind.EXPECTED, 12_000, "tesla", date(2024, 1, 24)) in rows(snap)
    # as known on 2023-12-31 the diversion (known 2024-06-04) is not in the books
    then = ledger.snapshot(date(2023, 12, 31), known_on=date(2023, 12, 31))
    assert ("LOT-X1-01", SupplyKind.EXPECTED, 12_000, "x", date(2024, 1, 24)) in rows(then)
    assert ("LOT-T1-07", SupplyKind.ARRIVED, 12_000, "tesla", date(2023, 12, 18)) not in rows(then)


def test_open_order_on_schedule_and_horizon(ledger: Ledger) -> None:
    schedule = (d.Delivery(date(2024, 9, 1), 30_000), d.Delivery(date(2024, 12, 1), 20_000))
    order = d.Order("PO-T1", "tesla", "nvidia", H100, 60_000, date(2023, 3, 1), schedule=schedule)
    ledger.import_scenario(base(orders=(order, base().orders[1])))
    snap = ledger.snapshot(date(2024, 7, 1), horizon_days=10)
    open_rows = sorted((r[4], r[2]) for r in rows(snap) if r[1] is SupplyKind.OPEN_ORDER)
    # lots cover 22k: the first 22k of the schedule; 10k beyond the schedule at P50
    assert open_rows == [
        (date(2024, 7, 2), 10_000),  # 2023-03-01 + 300 days is overdue
        (date(2024, 9, 1), 8_000),
        (date(2024, 12, 1), 20_000),
    ]
    assert snap.horizon_end == date(2024, 12, 31) + timedelta(days=10)
    assert isinstance(snap.supply_qty, np.ndarray) and snap.supply_qty.dtype == np.int64
