"""Flows of posted units between owners (vendor -> org -> cluster) and their Sankey figure.

The flows count posted transfers only (``single`` and ``post`` phases): ships
vendor -> org, diversions and paybacks org -> org, deploys org -> cluster;
pending reservations moved nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gpuledger.domain import OwnerKind, Phase, TransferKind
from gpuledger.ledger import Transfer
from gpuledger.reports.charts import COLORS

__all__ = ["FLOW_KINDS", "FlowLink", "flow_links", "owner_label", "sankey_figure"]


@dataclass(frozen=True)
class FlowLink:
    """Posted units from one owner to another over a period, by kind of transfer."""

    source: str  # owner, e.g. "vendor:nvidia", "org:tesla", "cluster:tesla-cortex"
    target: str
    kind: TransferKind
    sku: str
    qty: int
    transfers: int
    diversions: tuple[str, ...]

    @property
    def highlighted(self) -> bool:
        """True for diversions and their paybacks."""
        return self.kind in (TransferKind.DIVERT, TransferKind.PAYBACK)


FLOW_KINDS = (TransferKind.SHIP, TransferKind.DIVERT, TransferKind.PAYBACK, TransferKind.DEPLOY)


def flow_links(
    transfers: Iterable[Transfer],
    visible: Callable[[str], bool],
    start: date | None = None,
    end: date | None = None,
) -> list[FlowLink]:
    """Posted transfers between owners in ``[start, end]``, summed per (source, target, kind).

    Args:
        visible: True for an owner (``org:...``, ``cluster:...``, ``vendor:...``) the
            reader may see (``Visibility.sees_owner``); a link is shown when either
            end is visible.
    """
    sums: dict[tuple[str, str, TransferKind, str], list[Any]] = {}
    for t in transfers:
        if t.kind not in FLOW_KINDS or t.phase not in (Phase.SINGLE, Phase.POST):
            continue
        day = t.effective_at.date()
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        src, dst = t.debit.owner, t.credit.owner
        if src == dst or not (visible(src) or visible(dst)):
            continue
        row = sums.setdefault((src, dst, t.kind, t.sku), [0, 0, []])
        row[0] += t.qty
        row[1] += 1
        if t.diversion and t.diversion not in row[2]:
            row[2].append(t.diversion)
    order = {k: i for i, k in enumerate(FLOW_KINDS)}
    return sorted(
        (
            FlowLink(src, dst, kind, sku, int(q), int(n), tuple(ds))
            for (src, dst, kind, sku), (q, n, ds) in sums.items()
        ),
        key=lambda x: (order[x.kind], x.source, x.target, x.sku),
    )


def owner_label(owner: str) -> str:
    """``org:tesla`` -> ``tesla``; vendors and clusters keep a hint of their kind."""
    kind, _, ident = owner.partition(":")
    if kind == OwnerKind.VENDOR:
        return f"{ident} (vendor)"
    if kind == OwnerKind.CLUSTER:
        return f"{ident} (cluster)"
    return ident


def sankey_figure(links: Sequence[FlowLink], title: str) -> dict[str, Any]:
    """A Plotly Sankey of the links: vendors -> orgs -> clusters; diversions in red."""
    owners: list[str] = []
    for x in links:
        for owner in (x.source, x.target):
            if owner not in owners:
                owners.append(owner)
    rank = {OwnerKind.VENDOR.value: 0, OwnerKind.ORG.value: 1, OwnerKind.CLUSTER.value: 2}
    owners.sort(key=lambda o: (rank.get(o.partition(":")[0], 3), o))
    index = {o: i for i, o in enumerate(owners)}
    inflow = dict.fromkeys(owners, 0)
    outflow = dict.fromkeys(owners, 0)
    for x in links:
        outflow[x.source] += x.qty
        inflow[x.target] += x.qty
    labels = [f"{owner_label(o)}: {max(inflow[o], outflow[o]):,} GPUs" for o in owners]
    kinds = [str(x.kind) for x in links]
    data = [
        {
            "type": "sankey",
            "arrangement": "snap",
            "valueformat": ",d",
            "valuesuffix": " GPUs",
            "node": {
                "label": labels,
                "customdata": owners,
                "pad": 18,
                "thickness": 18,
                "color": ["#34495e" if o.startswith("vendor:") else "#1f5fa8" for o in owners],
                "hovertemplate": "%{label}<extra></extra>",
            },
            "link": {
                "source": [index[x.source] for x in links],
                "target": [index[x.target] for x in links],
                "value": [x.qty for x in links],
                "customdata": [
                    f"{x.kind}{': ' + ', '.join(x.diversions) if x.diversions else ''}"
                    for x in links
                ],
                "label": kinds,
                "color": [COLORS.get(k, COLORS["ship"]) for k in kinds],
                "hovertemplate": "%{customdata}<br>%{value:,d} GPUs<extra></extra>",
            },
        }
    ]
    layout = {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 16, "r": 16, "t": 48, "b": 16},
        "font": {"size": 12},
        "autosize": True,
    }
    return {"data": data, "layout": layout}
