"""Flows of units between owners (vendor -> org -> cluster) and their Sankey figure.

Posted transfers only (``single`` and ``post`` phases): ships vendor -> org,
diversions and paybacks org -> org, deploys org -> cluster; pending reservations
moved nothing yet. Beside them, :func:`assigned_links` adds what the plan assigns
to each cluster on a day beyond the deploys posted (kind ``assigned``), so the
clusters the page promises are drawn even before any deploy is posted.

The Sankey has one column per stage and never a loop: when units moved between
orgs, each org appears twice, as the consignee the vendor shipped to and as the
holder after diversions and paybacks, so a diversion is a flow from the first
column to the second like any other. Every flow kind has one colour
(``charts.FLOW_COLORS``) in the figure, its key and the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from gpuledger.domain import OwnerKind, Phase, TransferKind
from gpuledger.ledger import Transfer
from gpuledger.planning import Plan
from gpuledger.reports.charts import FLOW_COLORS

__all__ = [
    "ASSIGNED",
    "FLOW_KINDS",
    "FLOW_MEANINGS",
    "FlowLink",
    "assigned_links",
    "flow_links",
    "owner_label",
    "sankey_figure",
]

#: The kind of a planned flow org -> cluster (not a transfer of the books).
ASSIGNED = "assigned"
FLOW_KINDS = (TransferKind.SHIP, TransferKind.DIVERT, TransferKind.PAYBACK, TransferKind.DEPLOY)
#: What each colour of the key means (the flows table and the Sankey share it).
FLOW_MEANINGS = {
    str(TransferKind.SHIP): "shipped by a vendor",
    str(TransferKind.DIVERT): "diverted to another org",
    str(TransferKind.PAYBACK): "paid back by the receiver",
    str(TransferKind.DEPLOY): "deployed to a cluster (posted)",
    ASSIGNED: "assigned to a cluster by the plan (no deploy posted yet)",
}
_ORDER = {k: i for i, k in enumerate([*(str(k) for k in FLOW_KINDS), ASSIGNED])}
_INTO = "#in"  # an org as the consignee a vendor shipped to (first org column)


@dataclass(frozen=True)
class FlowLink:
    """Units from one owner to another over a period, by kind (a transfer kind or ``assigned``)."""

    source: str  # owner, e.g. "vendor:nvidia", "org:tesla", "cluster:tesla-cortex"
    target: str
    kind: str
    sku: str
    qty: int
    transfers: int
    diversions: tuple[str, ...]

    @property
    def highlighted(self) -> bool:
        """True for diversions and their paybacks."""
        return self.kind in (TransferKind.DIVERT, TransferKind.PAYBACK)

    @property
    def color(self) -> str:
        """The kind's colour in the one key."""
        return FLOW_COLORS[str(self.kind)]


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
    sums: dict[tuple[str, str, str, str], list[Any]] = {}
    for t in transfers:
        if t.kind not in FLOW_KINDS or t.phase not in (Phase.SINGLE, Phase.POST):
            continue
        day = t.effective_at.date()
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        src, dst = t.debit.owner, t.credit.owner
        if src == dst or not (visible(src) or visible(dst)):
            continue
        row = sums.setdefault((src, dst, str(t.kind), t.sku), [0, 0, []])
        row[0] += t.qty
        row[1] += 1
        if t.diversion and t.diversion not in row[2]:
            row[2].append(t.diversion)
    return _sorted(
        FlowLink(src, dst, kind, sku, int(q), int(n), tuple(ds))
        for (src, dst, kind, sku), (q, n, ds) in sums.items()
    )


def _sorted(links: Iterable[FlowLink]) -> list[FlowLink]:
    return sorted(links, key=lambda x: (_ORDER[str(x.kind)], x.source, x.target, x.sku))


def assigned_links(
    plan: Plan, day: date, visible: Callable[[str], bool], posted: Sequence[FlowLink]
) -> list[FlowLink]:
    """Units the plan has on each visible cluster on ``day``, beyond the deploys ``posted``.

    One link org -> cluster per (cluster, SKU) with units left after the posted
    deploys into it; the plan's holdings, not a transfer of the books.
    """
    s = plan.snapshot
    deployed: dict[tuple[str, str], int] = {}
    for x in posted:
        if x.kind == TransferKind.DEPLOY:
            deployed[(x.target, x.sku)] = deployed.get((x.target, x.sku), 0) + x.qty
    out = []
    for c, consumer in enumerate(s.consumers):
        if consumer in s.orgs:
            continue
        owner = f"{OwnerKind.CLUSTER}:{consumer}"
        org = f"{OwnerKind.ORG}:{s.orgs[int(s.consumer_org[c])]}"
        if not visible(owner):
            continue
        for k, sku in enumerate(s.skus):
            held = plan.holdings_on(c, k, day.toordinal()) - deployed.get((owner, sku), 0)
            if held > 0:
                out.append(FlowLink(org, owner, ASSIGNED, sku, held, 0, ()))
    return _sorted(out)


def owner_label(owner: str) -> str:
    """``org:tesla`` -> ``tesla``; vendors and clusters keep a hint of their kind."""
    kind, _, ident = owner.partition(":")
    if kind == OwnerKind.VENDOR:
        return f"{ident} (vendor)"
    if kind == OwnerKind.CLUSTER:
        return f"{ident} (cluster)"
    return ident


def _node_label(node: str) -> str:
    if node.endswith(_INTO):
        return f"{owner_label(node.removesuffix(_INTO))} (shipped to)"
    return owner_label(node)


def _staged(links: Sequence[FlowLink]) -> list[tuple[str, str, FlowLink | None, int]]:
    """(source node, target node, link or None for units kept, qty) with no org -> org loop."""
    between = [x for x in links if x.highlighted]
    if not between:
        return [(x.source, x.target, x, x.qty) for x in links]
    out: list[tuple[str, str, FlowLink | None, int]] = []
    shipped: dict[str, int] = {}
    moved: dict[str, int] = {}
    for x in links:
        if x.kind == TransferKind.SHIP:
            out.append((x.source, x.target + _INTO, x, x.qty))
            shipped[x.target] = shipped.get(x.target, 0) + x.qty
        elif x.highlighted:
            out.append((x.source + _INTO, x.target, x, x.qty))
            moved[x.source] = moved.get(x.source, 0) + x.qty
        else:
            out.append((x.source, x.target, x, x.qty))
    for org, qty in shipped.items():
        kept = qty - moved.get(org, 0)
        if kept > 0:
            out.append((org + _INTO, org, None, kept))
    return out


def link_url(x: FlowLink, n: int) -> str:
    """Where a click on a flow leads: its diversion's page, else its row in the table."""
    if x.highlighted and len(x.diversions) == 1:
        return f"/diversions/{quote(x.diversions[0], safe='')}"
    return f"#flow-{n}"


def sankey_figure(links: Sequence[FlowLink]) -> dict[str, Any]:
    """A Plotly Sankey of the links, one column per stage, coloured by kind (no loop)."""
    staged = _staged(links)
    nodes: list[str] = []
    for src, dst, _, _ in staged:
        for node in (src, dst):
            if node not in nodes:
                nodes.append(node)
    index = {node: i for i, node in enumerate(nodes)}
    inflow = dict.fromkeys(nodes, 0)
    outflow = dict.fromkeys(nodes, 0)
    for src, dst, _, qty in staged:
        outflow[src] += qty
        inflow[dst] += qty
    labels = [f"{_node_label(n)}: {max(inflow[n], outflow[n]):,} GPUs" for n in nodes]
    xs, ys = _positions(nodes, {n: max(inflow[n], outflow[n]) for n in nodes})
    row = {id(x): n for n, x in enumerate(links)}
    custom, colors = [], []
    for _, _, x, _ in staged:
        if x is None:
            custom.append(["kept by the consignee", "#flows-table"])
            colors.append(_alpha(FLOW_COLORS["ship"]))
            continue
        what = f"{x.kind}: {owner_label(x.source)} → {owner_label(x.target)}"
        if x.diversions:
            what += f" ({', '.join(x.diversions)})"
        custom.append([what, link_url(x, row[id(x)])])
        colors.append(_alpha(x.color))
    data = [
        {
            "type": "sankey",
            "arrangement": "snap",
            "valueformat": ",d",
            "valuesuffix": " GPUs",
            "node": {
                "label": labels,
                "customdata": nodes,
                "pad": 18,
                "thickness": 16,
                "color": ["#34495e" if n.startswith("vendor:") else "#5b7896" for n in nodes],
                "x": xs,
                "y": ys,
                "hovertemplate": "%{label}<extra></extra>",
            },
            "link": {
                "source": [index[src] for src, _, _, _ in staged],
                "target": [index[dst] for _, dst, _, _ in staged],
                "value": [qty for _, _, _, qty in staged],
                "label": [str(x.kind) if x is not None else "kept" for _, _, x, _ in staged],
                "customdata": custom,
                "color": colors,
                "hovertemplate": "%{customdata[0]}<br>%{value:,d} GPUs<extra></extra>",
            },
        }
    ]
    layout = {
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "font": {"size": 12},
        "height": 460,
        "autosize": True,
    }
    return {"data": data, "layout": layout}


def _stage(node: str) -> int:
    """The node's column: vendor 0, consignee 1, holder 2, cluster 3."""
    if node.startswith(f"{OwnerKind.VENDOR}:"):
        return 0
    if node.endswith(_INTO):
        return 1
    if node.startswith(f"{OwnerKind.CLUSTER}:"):
        return 3
    return 2


def _positions(nodes: Sequence[str], value: dict[str, int]) -> tuple[list[float], list[float]]:
    """Each node's (x, y) centre in [0, 1]: a column per stage, stacked by value in a column.

    Columns without nodes are skipped, so the diagram always spans the width.
    """
    stages = sorted({_stage(n) for n in nodes})
    column = {st: i / max(1, len(stages) - 1) for i, st in enumerate(stages)}
    xs, ys = [], []
    for n in nodes:
        st = _stage(n)
        mates = [m for m in nodes if _stage(m) == st]
        total = sum(value[m] for m in mates) or 1
        before = sum(value[m] for m in mates[: mates.index(n)])
        xs.append(round(min(0.999, max(0.001, column[st])), 3))
        ys.append(round(0.02 + 0.96 * (before + value[n] / 2) / total, 3))
    return xs, ys


def _alpha(hex_color: str, alpha: float = 0.55) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"
