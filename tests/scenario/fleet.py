"""A valid fleet file that the scenario tests edit one spot at a time.

Each case replaces one unique anchor of ``BASE`` and finds the expected line by
searching the edited text for a needle, independently of the loader.
"""

from __future__ import annotations

from dataclasses import dataclass

FILE = "fleet.yaml"

BASE = """\
name: base
as_of: 2024-06-30
parameters:
  claim_tolerance: 0.05
skus:
  - id: H100
vendors:
  - id: nvidia
    lead_time:
      - sku: H100
        from: 2023-01-01
        p50_days: 273
        p90_days: 364
groups:
  - id: g
orgs:
  - id: tesla
    group: g
  - id: x
    group: g
clusters:
  - id: cortex
    org: tesla
orders:
  - id: PO-T
    org: tesla
    vendor: nvidia
    sku: H100
    qty: 20000
    ordered_on: 2023-01-01
  - id: PO-X
    org: x
    vendor: nvidia
    sku: H100
    qty: 12000
    ordered_on: 2023-04-01
lots:
  - id: LOT-T1
    order: PO-T
    qty: 12000
    ships_on: 2023-12-04
    arrives_on: 2023-12-18
    consignee: tesla
  - id: LOT-T2
    order: PO-T
    qty: 8000
    ships_on: 2024-02-05
    arrives_on: 2024-02-19
    consignee: tesla
  - id: LOT-X1
    order: PO-X
    qty: 6000
    ships_on: 2024-01-08
    arrives_on: 2024-01-22
    consignee: x
targets:
  - id: tesla-eoy
    consumer: tesla
    sku: H100
    qty: 20000
    by: 2024-12-31
    priority: 1
    weight: 1.0
claims:
  - id: tesla-35k
    org: tesla
    sku: H100
    qty: 35000
    by: 2024-04-23
    stated_on: 2024-04-23
    kind: actual
events:
  - op: divert
    id: DIV-1
    lot: LOT-T1
    qty: 12000
    from: tesla
    to: x
    on: 2023-12-10
    payback:
      - lot: LOT-X1
        qty: 6000
  - op: deploy
    id: DEP-1
    qty: 5000
    on: 2024-03-01
    org: tesla
    lot: LOT-T2
    cluster: cortex
"""

T2 = "  - id: LOT-T2\n    order: PO-T\n"
X1 = "  - id: LOT-X1\n    order: PO-X\n"
DIV = "  - op: divert\n    id: DIV-1\n"
DEP = "  - op: deploy\n    id: DEP-1\n"


@dataclass(frozen=True)
class Case:
    """Replace ``old`` (unique in BASE) by ``new``; the error is on the line holding ``needle``."""

    old: str
    new: str
    needle: str
    record: str | None
    field: str | None
    reason: str


def edit(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"edit anchor not unique: {old!r}"
    return BASE.replace(old, new)


def line_of(text: str, needle: str) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"needle {needle!r} on lines {hits}"
    return hits[0]


LOT_T2 = "lots[1] LOT-T2"
DIV_1 = "events[0] DIV-1"
DEP_1 = "events[1] DEP-1"
