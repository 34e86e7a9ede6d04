"""The planner: who gets scarce supply and when, and what a change costs.

Works on an immutable :class:`PlanningSnapshot` of NumPy arrays built by the
ledger layer; never touches the database. See docs/planning.md. This facade is
the package's public API (the forecast uses nothing else):

- snapshots: :class:`PlanningSnapshot`, :class:`SupplyKind`, ``IntArray``,
  ``FloatArray``;
- serving order and needs: :func:`serving_order` (:class:`ServingOrder`);
- policies: :func:`get_policy` returns a :class:`Policy` (``pools_supply``,
  ``passes`` as :class:`OrderedPass` values when it is made of ordered passes,
  ``allocate``); :func:`registered` lists them;
- plans: :func:`plan` -> :class:`Plan` (rows :class:`PlanTarget`,
  :class:`PlanOrg`, :class:`PooledMove`); :func:`plan_day0`; :func:`check_plan`;
- sites, power and substitution: :func:`with_sites` (a snapshot with the
  scenario's powered capacity, targets' ``accepts`` and H100-equivalents);
  :func:`to_h100e`; :func:`powered_cells` (the shared-power rule on cells, what
  the forecast's powered measure calls) and ``NO_LIMIT``;
- changes: :class:`DivertChange`, :class:`SlipChange`, :class:`NewOrderChange`,
  :class:`PriorityChange` (:class:`Change`), :func:`change_day`;
- impact: :func:`impact`, :func:`impact_of_posted` -> :class:`Impact` (rows
  :class:`OrgImpact`, :class:`TargetImpact`, :class:`Recovery`, :class:`PaybackLot`,
  :class:`GiveWay`, :class:`Explanation`, :class:`Waited`, :class:`Taker`);
  :func:`plan_from` (a plan that keeps a baseline's past); :func:`explain`;
  :func:`affected_targets`.
"""

from __future__ import annotations

from gpuledger.domain import PolicyName
from gpuledger.planning._format import human_count
from gpuledger.planning.changes import (
    Change,
    DivertChange,
    NewOrderChange,
    PriorityChange,
    SlipChange,
    change_day,
)
from gpuledger.planning.explain import Explanation, Taker, Waited, explain
from gpuledger.planning.impact import (
    Impact,
    OrgImpact,
    TargetImpact,
    affected_targets,
    baseline_plans,
    impact,
    impact_of_posted,
)
from gpuledger.planning.invariants import check_plan
from gpuledger.planning.keep_past import plan_from
from gpuledger.planning.order import ServingOrder, serving_order
from gpuledger.planning.plan import Plan, PlanOrg, PlanTarget, PooledMove, plan, plan_day0
from gpuledger.planning.policies import OrderedPass, Policy, get_policy, registered
from gpuledger.planning.power import (
    NO_LIMIT,
    SITE_PARTS,
    powered_cells,
    site_inputs,
    to_h100e,
    with_sites,
)
from gpuledger.planning.recovery import GiveWay, PaybackLot, Recovery
from gpuledger.planning.snapshot import FloatArray, IntArray, PlanningSnapshot, SupplyKind

__all__ = [
    "NO_LIMIT",
    "SITE_PARTS",
    "Change",
    "DivertChange",
    "Explanation",
    "FloatArray",
    "GiveWay",
    "Impact",
    "IntArray",
    "NewOrderChange",
    "OrderedPass",
    "OrgImpact",
    "PaybackLot",
    "Plan",
    "PlanOrg",
    "PlanTarget",
    "PlanningSnapshot",
    "Policy",
    "PolicyName",
    "PooledMove",
    "PriorityChange",
    "Recovery",
    "ServingOrder",
    "SlipChange",
    "SupplyKind",
    "Taker",
    "TargetImpact",
    "Waited",
    "affected_targets",
    "baseline_plans",
    "change_day",
    "check_plan",
    "explain",
    "get_policy",
    "human_count",
    "impact",
    "impact_of_posted",
    "plan",
    "plan_day0",
    "plan_from",
    "powered_cells",
    "registered",
    "serving_order",
    "site_inputs",
    "to_h100e",
    "with_sites",
]
