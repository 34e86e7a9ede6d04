"""Plotly figures of the pages and the report: holdings against targets, forecast fans.

Figures are plain dicts (``{"data": [...], "layout": {...}}``); curves are drawn
as steps through the days their value changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from gpuledger.domain import Diversion, DiversionStatus
from gpuledger.forecast import Forecast
from gpuledger.planning import Plan, PlanningSnapshot

__all__ = ["COLORS", "fan_figure", "holdings_figure"]

COLORS = {
    "ship": "rgba(52, 101, 164, 0.45)",
    "divert": "rgba(192, 57, 43, 0.85)",
    "payback": "rgba(230, 126, 34, 0.8)",
    "deploy": "rgba(39, 174, 96, 0.5)",
    "target": "#2c3e50",
    "diversion": "#c0392b",
}
_LINE_COLORS = ("#1f5fa8", "#16a085", "#8e44ad", "#d35400", "#7f8c8d")


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
