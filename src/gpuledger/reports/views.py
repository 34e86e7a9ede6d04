"""What the web pages and the HTML report show, gathered from the shared operations.

No rule lives here: every number comes from :mod:`gpuledger.services`, the ledger,
the forecast and :mod:`gpuledger.claims` (the same calls the CLI and the API
make), and what a reader may see from ``services.visibility``; this module only
shapes it into rows and Plotly figures (plain dicts: ``{"data": [...], "layout": {...}}``).

Choices of presentation (not of the books):

- a target the plan completes on time is *at risk* when the forecast gives it an
  on-time probability below :data:`AT_RISK_BELOW`;
- curves are drawn as steps through the days their value changes;
- the flows (Sankey) count posted transfers only (``single`` and ``post``
  phases): ships vendor -> org, diversions and paybacks org -> org, deploys
  org -> cluster; pending reservations moved nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np

from gpuledger.domain import (
    Bucket,
    Diversion,
    DiversionStatus,
    OwnerKind,
    Phase,
    Scenario,
    TransferKind,
)
from gpuledger.forecast import Forecast
from gpuledger.ledger import Ledger, Transfer
from gpuledger.planning import Plan, PlanningSnapshot
from gpuledger.services.books import balances_report
from gpuledger.services.visibility import consumer_orgs

__all__ = [
    "AT_RISK_BELOW",
    "Chart",
    "FlowLink",
    "OrgSection",
    "TargetRow",
    "TargetState",
    "fan_charts",
    "fan_figure",
    "flow_links",
    "forecast_rows",
    "holdings_figure",
    "lot_skus",
    "org_sections",
    "sankey_figure",
    "target_rows",
]

#: A target on time in the plan but below this forecast on-time probability is at risk.
AT_RISK_BELOW = 0.8

COLORS = {
    "ship": "rgba(52, 101, 164, 0.45)",
    "divert": "rgba(192, 57, 43, 0.85)",
    "payback": "rgba(230, 126, 34, 0.8)",
    "deploy": "rgba(39, 174, 96, 0.5)",
    "target": "#2c3e50",
    "diversion": "#c0392b",
}
_LINE_COLORS = ("#1f5fa8", "#16a085", "#8e44ad", "#d35400", "#7f8c8d")


class TargetState(StrEnum):
    """How a target stands in the plan, refined by the forecast."""

    ON_TIME = "on-time"
    AT_RISK = "at-risk"
    LATE = "late"
    NEVER = "never"


@dataclass(frozen=True)
class TargetRow:
    """One target as the overview shows it: the plan's row and the forecast's odds."""

    id: str
    consumer: str
    org: str
    sku: str
    qty: int
    by: date
    held_at_by: int
    completed_on: date | None
    days_late: int | None
    on_time_probability: float | None
    state: TargetState

    @property
    def status(self) -> str:
        """The status in words: on time, late by N days, at risk, not complete."""
        match self.state:
            case TargetState.LATE:
                n = self.days_late or 0
                return f"late by {n:,} day{'s' if n != 1 else ''}"
            case TargetState.NEVER:
                return "not complete in the horizon"
            case TargetState.AT_RISK:
                p = self.on_time_probability or 0.0
                return f"at risk ({p * 100:.0f}% on time in the forecast)"
        return "on time"


def lot_skus(scenario: Scenario) -> dict[str, str]:
    """Each lot -> its SKU (through its order)."""
    order_sku = {o.id: o.sku for o in scenario.orders}
    return {lot.id: order_sku.get(lot.order, "") for lot in scenario.lots}


def target_rows(
    plan: Plan, fc: Forecast | None, consumer_org: Mapping[str, str], orgs: Iterable[str]
) -> list[TargetRow]:
    """The plan's targets of ``orgs`` (their clusters included), with forecast odds."""
    keep = set(orgs)
    odds: dict[str, float] = {}
    if fc is not None:
        odds = dict(zip(fc.snapshot.target_id, fc.on_time_probability(), strict=True))
    rows = []
    for t in plan.to_json()["targets"]:
        org = consumer_org.get(t["consumer"], t["consumer"])
        if org not in keep:
            continue
        done = date.fromisoformat(t["completed_on"]) if t["completed_on"] else None
        p = odds.get(t["id"])
        if done is None:
            state = TargetState.NEVER
        elif t["days_late"]:
            state = TargetState.LATE
        elif p is not None and p < AT_RISK_BELOW:
            state = TargetState.AT_RISK
        else:
            state = TargetState.ON_TIME
        rows.append(
            TargetRow(
                id=t["id"],
                consumer=t["consumer"],
                org=org,
                sku=t["sku"],
                qty=t["qty"],
                by=date.fromisoformat(t["by"]),
                held_at_by=t["held_at_by"],
                completed_on=done,
                days_late=t["days_late"],
                on_time_probability=p,
                state=state,
            )
        )
    return rows


# --------------------------------------------------------------------------- charts


def _steps(day0: int, curve: Sequence[int] | np.ndarray[Any, Any]) -> tuple[list[str], list[int]]:
    """Points where a daily curve changes (plus its ends): enough for an ``hv`` line."""
    values = np.asarray(curve, dtype=np.int64)
    if values.size == 0:
        return [], []
    change = np.flatnonzero(np.diff(values)) + 1
    idx = np.unique(np.concatenate([[0], change, [values.size - 1]]))
    xs = [date.fromordinal(day0 + int(i)).isoformat() for i in idx]
    return xs, [int(values[i]) for i in idx]


def _target_markers(s: PlanningSnapshot, rows: list[int]) -> dict[str, Any]:
    """A Plotly trace of target markers (qty at ``by``) for the given target rows."""
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": "targets",
        "x": [date.fromordinal(int(s.target_by[i])).isoformat() for i in rows],
        "y": [int(s.target_qty[i]) for i in rows],
        "text": [s.target_id[i] for i in rows],
        "textposition": "top left",
        "marker": {"symbol": "diamond", "size": 11, "color": COLORS["target"]},
        "hovertemplate": "%{text}: %{y:,d} GPUs by %{x}<extra></extra>",
    }


def _layout(title: str, y_title: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 64, "r": 16, "t": 48, "b": 48},
        "xaxis": {"type": "date", "title": {"text": "date"}},
        "yaxis": {"title": {"text": y_title}, "tickformat": ",d", "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "hovermode": "x unified",
        "shapes": [],
        "annotations": [],
        "autosize": True,
    }


def _marker_line(layout: dict[str, Any], day: date, text: str, color: str, dash: str) -> None:
    iso = day.isoformat()
    layout["shapes"].append(
        {
            "type": "line",
            "x0": iso,
            "x1": iso,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": color, "width": 1.5, "dash": dash},
        }
    )
    layout["annotations"].append(
        {
            "x": iso,
            "yref": "paper",
            "y": 1,
            "text": text,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": 11, "color": color},
        }
    )


def holdings_figure(
    plan: Plan,
    org: str,
    sku: str,
    diversions: Sequence[Diversion],
    lot_sku: Mapping[str, str],
) -> dict[str, Any]:
    """An org's planned holdings of ``sku`` over time (its clusters too), targets as markers.

    Diversions of the SKU into or out of the org are vertical lines on their day;
    the books' date (the plan's ``as_of``) is a dotted line.
    """
    s = plan.snapshot
    k = s.skus.index(sku)
    o = s.orgs.index(org)
    family = [c for c in range(len(s.consumers)) if int(s.consumer_org[c]) == o]
    data: list[dict[str, Any]] = []
    for n, c in enumerate(family):
        xs, ys = _steps(plan.day0, plan.curve(c, k))
        name = s.consumers[c]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": _LINE_COLORS[n % len(_LINE_COLORS)]},
                "name": f"{name} holdings" if c != o else f"{name} holdings (clusters included)",
                "x": xs,
                "y": ys,
                "hovertemplate": "%{y:,d} GPUs",
            }
        )
    mine = [
        i
        for i in range(len(s.target_id))
        if int(s.target_sku[i]) == k and int(s.target_consumer[i]) in family
    ]
    if mine:
        data.append(_target_markers(s, mine))
    layout = _layout(f"{org}: {sku} held (stock + deployed) against targets", "GPUs")
    for d in diversions:
        if org not in (d.from_org, d.to_org) or lot_sku.get(d.lot) != sku:
            continue
        sign = "-" if d.from_org == org else "+"
        status = "" if d.status is DiversionStatus.POSTED else f" ({d.status})"
        _marker_line(layout, d.on, f"{d.id} {sign}{d.qty:,}{status}", COLORS["diversion"], "dash")
    _marker_line(layout, plan.as_of, f"books as of {plan.as_of.isoformat()}", "#555", "dot")
    return {"data": data, "layout": layout}


def fan_figure(fc: Forecast, consumer: str, sku: str) -> dict[str, Any]:
    """Forecast holdings of a consumer: the P10-P90 band, the P50 line, its targets."""
    days, p10, p50, p90 = fc.holdings_curve(consumer, sku)
    xs = [d.isoformat() for d in days]
    s = fc.snapshot
    c = s.consumers.index(consumer)
    k = s.skus.index(sku)
    mine = [
        i
        for i in range(len(s.target_id))
        if int(s.target_consumer[i]) == c and int(s.target_sku[i]) == k
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P90",
            "x": xs,
            "y": [int(v) for v in p90],
            "line": {"width": 0.5, "color": "rgba(31, 95, 168, 0.4)", "shape": "hv"},
            "hovertemplate": "P90 %{y:,d} GPUs",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P10-P90 band",
            "x": xs,
            "y": [int(v) for v in p10],
            "fill": "tonexty",
            "fillcolor": "rgba(31, 95, 168, 0.18)",
            "line": {"width": 0.5, "color": "rgba(31, 95, 168, 0.4)", "shape": "hv"},
            "hovertemplate": "P10 %{y:,d} GPUs",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P50",
            "x": xs,
            "y": [int(v) for v in p50],
            "line": {"width": 2.5, "color": "#1f5fa8", "shape": "hv"},
            "hovertemplate": "P50 %{y:,d} GPUs",
        },
    ]
    if mine:
        data.append(_target_markers(s, mine))
    layout = _layout(f"{consumer}: forecast {sku} holdings (net of failures)", "GPUs")
    return {"data": data, "layout": layout}


# --------------------------------------------------------------------------- flows


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


def balances_rows(ledger: Ledger, as_of: date, owners: Iterable[str]) -> list[dict[str, Any]]:
    """Posted and pending units per bucket for ``owners`` as of a date (balances report)."""
    keep = set(owners)
    report = balances_report(ledger, as_of=as_of)
    order = {b: i for i, b in enumerate(Bucket)}
    rows = [b.as_json() for b in report.balances if b.owner in keep]
    rows.sort(key=lambda r: (r["owner"], order[Bucket(r["bucket"])], r["sku"]))
    return rows


@dataclass(frozen=True)
class Chart:
    """A figure with its element id and a text alternative."""

    id: str
    figure: dict[str, Any]
    label: str


@dataclass(frozen=True)
class OrgSection:
    """One org on the overview: its charts, its targets and today's balances."""

    org: str
    name: str
    charts: tuple[Chart, ...]
    targets: tuple[TargetRow, ...]
    balances: tuple[dict[str, Any], ...]


def org_sections(
    ledger: Ledger,
    plan: Plan,
    fc: Forecast | None,
    orgs: Sequence[str],
    scenario: Scenario,
) -> list[OrgSection]:
    """The overview of each org in ``orgs``: holdings against targets, status, balances."""
    consumer_org = consumer_orgs(scenario)
    skus_of_lots = lot_skus(scenario)
    diversions = [v.diversion for v in ledger.diversions()]
    names = {o.id: o.name or o.id for o in scenario.orgs}
    rows = target_rows(plan, fc, consumer_org, orgs)
    s = plan.snapshot
    out = []
    for org in orgs:
        if org not in s.orgs:
            continue
        mine = [r for r in rows if r.org == org]
        skus = sorted({r.sku for r in mine}) or sorted(
            {
                s.skus[int(k)]
                for k, h in zip(s.supply_sku, s.supply_holder, strict=True)
                if s.orgs[int(h)] == org
            }
        )
        charts = tuple(
            Chart(
                f"holdings-{org}-{n}",
                holdings_figure(plan, org, sku, diversions, skus_of_lots),
                f"{org}: planned {sku} holdings over time against its targets",
            )
            for n, sku in enumerate(skus)
        )
        owners = [f"{OwnerKind.ORG}:{org}"] + [
            f"{OwnerKind.CLUSTER}:{c.id}" for c in scenario.clusters if c.org == org
        ]
        out.append(
            OrgSection(
                org=org,
                name=names.get(org, org),
                charts=charts,
                targets=tuple(mine),
                balances=tuple(balances_rows(ledger, plan.as_of, owners)),
            )
        )
    return out


def fan_charts(fc: Forecast, consumers: Iterable[str]) -> list[Chart]:
    """A fan chart per (consumer, SKU) with targets, for the consumers given."""
    s = fc.snapshot
    keep = set(consumers)
    pairs = sorted(
        {
            (s.consumers[int(c)], s.skus[int(k)])
            for c, k in zip(s.target_consumer, s.target_sku, strict=True)
            if s.consumers[int(c)] in keep
        }
    )
    return [
        Chart(
            f"fan-{consumer}-{n}",
            fan_figure(fc, consumer, sku),
            f"{consumer}: forecast {sku} holdings, P10 to P90 band and P50 line, against targets",
        )
        for n, (consumer, sku) in enumerate(pairs)
    ]


def forecast_rows(fc: Forecast, consumers: Iterable[str]) -> list[dict[str, Any]]:
    """``Forecast.to_json()`` target rows of ``consumers``, with each target's ``by``."""
    s = fc.snapshot
    keep = set(consumers)
    rows = []
    for i, t in enumerate(fc.to_json()["targets"]):
        if s.consumers[int(s.target_consumer[i])] in keep:
            rows.append(t | {"by": date.fromordinal(int(s.target_by[i]))})
    return rows
