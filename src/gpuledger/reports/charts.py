"""Plotly figures of the pages and the report: holdings against targets, forecast fans.

Figures are plain dicts (``{"data": [...], "layout": {...}}``); curves are drawn
as steps through the days their value changes. Legible at 1280 and 390 px:

- no text is drawn inside the plot: targets, diversions and the books' date are
  legend entries (a marker or a vertical line each), so no label can be clipped
  or overprint another; the chart's title is the page's caption, which wraps;
- the x axis runs from the plan's first day to a little after the last day that
  matters (the latest target, diversion or the books' date), not to the horizon;
- y tick labels sit above their grid line, clear of the dates under the axis.

The forecast's quantities are drawn in :func:`fan_figure` only (one place to
adapt when the forecast's fields change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np

from gpuledger.domain import Diversion, DiversionStatus
from gpuledger.forecast import Forecast
from gpuledger.planning import Plan, PlanningSnapshot
from gpuledger.reports.formatting import short_id

__all__ = [
    "COLORS",
    "FLOW_COLORS",
    "Counterfactual",
    "fan_figure",
    "holdings_figure",
    "short_id",
]

#: The one colour key of flows, used by the Sankey, its key and the flows table.
FLOW_COLORS = {
    "ship": "#3f78c0",
    "divert": "#c0392b",
    "payback": "#1e8a5a",
    "deploy": "#7b5ea7",
    "assigned": "#8a96a3",
}
COLORS = {
    **FLOW_COLORS,
    "target": "#2c3e50",
    "diversion": "#c0392b",
    "pending": "#a35a00",
    "books": "#555555",
    "counterfactual": "#7f8c8d",
}
_LINE_COLORS = ("#1f5fa8", "#16a085", "#8e44ad", "#d35400", "#7f8c8d")
_TARGET_SYMBOLS = ("diamond", "square", "triangle-up", "circle", "star", "x")
#: Days of margin after the last day that matters on a time axis.
TAIL = timedelta(days=45)


def _steps(
    day0: int, curve: Sequence[int] | np.ndarray[Any, Any], last: int | None = None
) -> tuple[list[str], list[int]]:
    """Points where a daily curve changes (plus its ends, up to day ``last``): an ``hv`` line."""
    values = np.asarray(curve, dtype=np.int64)
    if last is not None:
        values = values[: max(0, last - day0 + 1)]
    if values.size == 0:
        return [], []
    change = np.flatnonzero(np.diff(values)) + 1
    idx = np.unique(np.concatenate([[0], change, [values.size - 1]]))
    xs = [date.fromordinal(day0 + int(i)).isoformat() for i in idx]
    return xs, [int(values[i]) for i in idx]


def _targets(s: PlanningSnapshot, rows: list[int]) -> list[dict[str, Any]]:
    """One legend entry per target: a marker at (``by``, ``qty``)."""
    out = []
    for n, i in enumerate(rows):
        by = date.fromordinal(int(s.target_by[i])).isoformat()
        qty = int(s.target_qty[i])
        out.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"target {s.target_id[i]}: {qty:,} by {by}",
                "x": [by],
                "y": [qty],
                "marker": {
                    "symbol": _TARGET_SYMBOLS[n % len(_TARGET_SYMBOLS)],
                    "size": 11,
                    "color": COLORS["target"],
                    "line": {"width": 1, "color": "#fff"},
                },
                "hovertemplate": f"{s.target_id[i]}: %{{y:,d}} GPUs by %{{x}}<extra></extra>",
            }
        )
    return out


def _vertical(day: date, top: int, name: str, color: str, dash: str) -> dict[str, Any]:
    """A vertical line on ``day`` as a legend entry (no text drawn in the plot)."""
    iso = day.isoformat()
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [iso, iso],
        "y": [0, top],
        "line": {"color": color, "width": 1.5, "dash": dash},
        "hovertemplate": f"{name}<extra></extra>",
    }


def _layout(y_title: str, first: date, last: date, top: int) -> dict[str, Any]:
    return {
        "margin": {"l": 8, "r": 16, "t": 16, "b": 8},
        "height": 400,
        "narrow_height": 520,
        "xaxis": {
            "type": "date",
            "range": [first.isoformat(), last.isoformat()],
            "automargin": True,
        },
        "yaxis": {
            "title": {"text": y_title, "standoff": 8},
            "automargin": True,
            "tickformat": ",d",
            "range": [0, top],
            "ticklabelposition": "outside top",
        },
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top"},
        "hovermode": "closest",
        "autosize": True,
    }


def _top(values: Sequence[int]) -> int:
    """The y axis' top: 8% over the largest value, at least 1."""
    return max(1, int(max(values, default=0) * 1.08))


Counterfactual = tuple[str, Plan, date]
"""(legend name, a plan, the day from which it departs from the books)."""


def holdings_figure(
    plan: Plan,
    org: str,
    sku: str,
    diversions: Sequence[Diversion],
    lot_sku: Mapping[str, str],
    counterfactuals: Sequence[Counterfactual] = (),
) -> dict[str, Any]:
    """An org's planned holdings of ``sku`` over time (its clusters too), targets as markers.

    Diversions of the SKU into or out of the org are vertical lines on their
    day; the books' date (the plan's ``as_of``) a dotted one. Each
    counterfactual (e.g. "without DIV-1": the impact's ``before`` plan) is the
    org's holdings in that plan, dashed, from the day it departs from the books.
    """
    s = plan.snapshot
    k = s.skus.index(sku)
    o = s.orgs.index(org)
    family = [c for c in range(len(s.consumers)) if int(s.consumer_org[c]) == o]
    mine = [
        i
        for i in range(len(s.target_id))
        if int(s.target_sku[i]) == k and int(s.target_consumer[i]) in family
    ]
    marked = [
        d
        for d in diversions
        if org in (d.from_org, d.to_org) and lot_sku.get(d.lot) == sku and d.from_org != d.to_org
    ]
    # 1. The time axis: the plan's first day to a little after the last day that matters.
    days = [plan.as_of, *(d.on for d in marked)]
    days += [date.fromordinal(int(s.target_by[i])) for i in mine]
    first, last = date.fromordinal(plan.day0), max(days) + TAIL
    # 2. The curves: the org with its clusters, each cluster, each counterfactual.
    data: list[dict[str, Any]] = []
    peaks: list[int] = [int(s.target_qty[i]) for i in mine]
    for n, c in enumerate(family):
        xs, ys = _steps(plan.day0, plan.curve(c, k), last.toordinal())
        peaks += ys
        name = s.consumers[c]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": _LINE_COLORS[n % len(_LINE_COLORS)], "width": 2},
                "name": f"{name} holds (clusters included)" if c == o else f"{name} holds",
                "x": xs,
                "y": ys,
                "hovertemplate": f"{name}: %{{y:,d}} GPUs on %{{x}}<extra></extra>",
            }
        )
    for name, other, since in counterfactuals:
        xs, ys = _counterfactual_steps(other, org, k, since, last)
        peaks += ys
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": COLORS["counterfactual"], "dash": "dash"},
                "name": name,
                "x": xs,
                "y": ys,
                "hovertemplate": f"{name}: %{{y:,d}} GPUs on %{{x}}<extra></extra>",
            }
        )
    top = _top(peaks)
    # 3. Targets, diversions and the books' date: legend entries, no text in the plot.
    data += _targets(s, mine)
    for d in marked:
        sign = "-" if d.from_org == org else "+"
        other_org = d.to_org if d.from_org == org else d.from_org
        status = str(d.status)
        name = f"diversion {sign}{d.qty:,} {'to' if sign == '-' else 'from'} {other_org} "
        name += f"on {d.on.isoformat()} ({status})"
        color = COLORS["diversion"] if d.status is DiversionStatus.POSTED else COLORS["pending"]
        data.append(_vertical(d.on, top, name, color, "dash"))
    books = f"books as of {plan.as_of.isoformat()}"
    data.append(_vertical(plan.as_of, top, books, COLORS["books"], "dot"))
    return {"data": data, "layout": _layout("GPUs held", first, last, top)}


def _counterfactual_steps(
    other: Plan, org: str, k: int, since: date, last: date
) -> tuple[list[str], list[int]]:
    """The org's holdings in ``other`` from ``since`` on (before it, both are the books)."""
    o = other.snapshot.consumers.index(org)
    curve = np.asarray(other.curve(o, k), dtype=np.int64)
    start = max(0, since.toordinal() - other.day0)
    return _steps(other.day0 + start, curve[start:], last.toordinal())


def fan_figure(fc: Forecast, consumer: str, sku: str) -> dict[str, Any]:
    """Forecast holdings of a consumer: P10 and P90 lines, the band between, P50, its targets.

    Holdings quantiles: P10 is the level 9 in 10 samples reach or exceed (the
    low line), P90 the level only 1 in 10 reach (the high line).
    """
    days, p10, p50, p90 = fc.holdings_curve(consumer, sku)
    s = fc.snapshot
    c = s.consumers.index(consumer)
    k = s.skus.index(sku)
    mine = [
        i
        for i in range(len(s.target_id))
        if int(s.target_consumer[i]) == c and int(s.target_sku[i]) == k
    ]
    ends = [date.fromordinal(int(s.target_by[i])) for i in mine] or [days[-1]]
    last = min(max(ends) + TAIL, days[-1]) if days else max(ends)
    keep = [n for n, d in enumerate(days) if d <= last]
    xs = [days[n].isoformat() for n in keep]

    def ys(values: Any) -> list[int]:
        return [int(values[n]) for n in keep]

    band = "rgba(31, 95, 168, 0.18)"
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P90: only 1 in 10 samples hold more",
            "x": xs,
            "y": ys(p90),
            "line": {"width": 1.5, "color": "#1f5fa8", "dash": "dot", "shape": "hv"},
            "hovertemplate": "P90 %{y:,d} GPUs on %{x}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P10: 9 in 10 samples hold at least this (band: P10 to P90)",
            "x": xs,
            "y": ys(p10),
            "fill": "tonexty",
            "fillcolor": band,
            "line": {"width": 1.5, "color": "#1f5fa8", "dash": "dash", "shape": "hv"},
            "hovertemplate": "P10 %{y:,d} GPUs on %{x}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "P50 (median)",
            "x": xs,
            "y": ys(p50),
            "line": {"width": 2.5, "color": "#14365f", "shape": "hv"},
            "hovertemplate": "P50 %{y:,d} GPUs on %{x}<extra></extra>",
        },
    ]
    top = _top([*ys(p90), *(int(s.target_qty[i]) for i in mine)])
    data += _targets(s, mine)
    first = days[0] if days else max(ends)
    return {"data": data, "layout": _layout("GPUs held (forecast)", first, last, top)}
