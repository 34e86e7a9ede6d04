"""What the web pages and the HTML report show, gathered from the shared operations.

No rule lives here: every number comes from :mod:`gpuledger.services`, the ledger,
the forecast and :mod:`gpuledger.claims` (the same calls the CLI and the API
make), and what a reader may see from ``services.visibility``; this module only
shapes it into rows and sections; the figures are drawn by :mod:`.charts` and
:mod:`.flows` (re-exported here).

Choices of presentation (not of the books):

- a target the plan completes on time is *at risk* when the forecast gives it an
  on-time probability below :data:`AT_RISK_BELOW`;
- curves are drawn as steps through the days their value changes (``charts``);
- the flows count posted transfers only (``flows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from gpuledger.domain import Bucket, DiversionStatus, OwnerKind, Scenario
from gpuledger.forecast import Forecast
from gpuledger.ledger import Ledger
from gpuledger.planning import Plan
from gpuledger.reports.charts import Counterfactual, fan_figure, holdings_figure, short_id
from gpuledger.reports.flows import FlowLink, flow_links, owner_label, sankey_figure
from gpuledger.services.books import balances_report
from gpuledger.services.dashboard import Headline
from gpuledger.services.visibility import consumer_orgs

__all__ = [
    "AT_RISK_BELOW",
    "Chart",
    "FlowLink",
    "OrgSection",
    "TargetRow",
    "TargetState",
    "counterfactuals",
    "fan_charts",
    "fan_figure",
    "flow_links",
    "forecast_rows",
    "holdings_figure",
    "lot_skus",
    "org_sections",
    "owner_label",
    "sankey_figure",
    "target_rows",
]

#: A target on time in the plan but below this forecast on-time probability is at risk.
AT_RISK_BELOW = 0.8


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
                return f"at risk: on time in the plan, {p * 100:.0f}% on time in the forecast"
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
    for t in plan.targets:
        org = consumer_org.get(t.consumer, t.consumer)
        if org not in keep:
            continue
        done = t.completed_on
        p = odds.get(t.id)
        if done is None:
            state = TargetState.NEVER
        elif t.days_late:
            state = TargetState.LATE
        elif p is not None and p < AT_RISK_BELOW:
            state = TargetState.AT_RISK
        else:
            state = TargetState.ON_TIME
        rows.append(
            TargetRow(
                id=t.id,
                consumer=t.consumer,
                org=org,
                sku=t.sku,
                qty=t.qty,
                by=t.by,
                held_at_by=t.held_at_by,
                completed_on=done,
                days_late=t.days_late,
                on_time_probability=p,
                state=state,
            )
        )
    return rows


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


def counterfactuals(org: str, sku: str, headlines: Iterable[Headline]) -> list[Counterfactual]:
    """The other lines of an org's holdings chart, from the diversions' impacts.

    A posted diversion touching the org adds "without" it: the impact's
    ``before`` plan (the books had it not happened). A pending one adds "if
    approved": the impact's ``after`` plan. Both are the plans of
    ``services.planning.impact_of_diversion``, payback included.
    """
    out: list[Counterfactual] = []
    for h in headlines:
        result = h.books_impact
        if result is None or h.sku != sku or org not in (h.org, h.to_org):
            continue
        if h.status is DiversionStatus.POSTED:
            out.append((f"without diversion {short_id(h.diversion)}", result.before, h.on))
        else:
            out.append((f"if {short_id(h.diversion)} is approved", result.after, h.on))
    return out


def org_sections(
    ledger: Ledger,
    plan: Plan,
    fc: Forecast | None,
    orgs: Sequence[str],
    scenario: Scenario,
    headlines: Sequence[Headline] = (),
) -> list[OrgSection]:
    """The overview of each org in ``orgs``: holdings against targets, status, balances.

    ``headlines`` (``services.dashboard``) draw each diversion's counterfactual.
    """
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
                holdings_figure(
                    plan, org, sku, diversions, skus_of_lots, counterfactuals(org, sku, headlines)
                ),
                f"{org}: planned {sku} holdings (stock + deployed) over time against its targets",
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
