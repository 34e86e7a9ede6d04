"""The planner: who gets scarce supply and when, and what a change costs.

Works on an immutable :class:`PlanningSnapshot` of NumPy arrays built by the
ledger layer; never touches the database. See docs/planning.md.
"""

from __future__ import annotations

from gpuledger.domain import PolicyName
from gpuledger.planning.changes import (
    Change,
    DivertChange,
    NewOrderChange,
    PriorityChange,
    SlipChange,
)
from gpuledger.planning.impact import (
    Explanation,
    Impact,
    Recovery,
    Taker,
    TargetImpact,
    Waited,
    explain,
    impact,
    impact_of_posted,
)
from gpuledger.planning.plan import Plan, plan
from gpuledger.planning.snapshot import PlanningSnapshot, SupplyKind

__all__ = [
    "Change",
    "DivertChange",
    "Explanation",
    "Impact",
    "NewOrderChange",
    "Plan",
    "PlanningSnapshot",
    "PolicyName",
    "PriorityChange",
    "Recovery",
    "SlipChange",
    "SupplyKind",
    "Taker",
    "TargetImpact",
    "Waited",
    "explain",
    "impact",
    "impact_of_posted",
    "plan",
]
