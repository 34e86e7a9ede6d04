"""The planning policies, as a registry: one module per policy (DESIGN section 4).

``get_policy(name)`` returns the policy object; the planner, impact and the
forecast ask it what they need (``pools_supply``, ``passes``, ``allocate``) and
never branch on a policy's name. A new policy (or a variant such as SKU
substitution) is one new module here that calls :func:`register`, plus its name
in :class:`~gpuledger.domain.PolicyName`. A policy module builds on
:class:`Problem`, :class:`OrderedPass`, :func:`run_passes` and :func:`concat`.

- :mod:`.consigned`: the books as they stand (no pooling)
- :mod:`.priority`: pooled, strictly by (priority, by, id)
- :mod:`.fair_share`: pooled, each day's arrivals by weighted max-min fairness
- :mod:`.optimal`: pooled, minimum weighted unit-days late (HiGHS)
"""

from __future__ import annotations

from gpuledger.planning.policies import consigned, fair_share, optimal, priority
from gpuledger.planning.policies._base import (
    ARRIVED_ONLY,
    NOT_ARRIVED,
    OrderedPass,
    Policy,
    Problem,
    concat,
    get_policy,
    register,
    registered,
    run_passes,
)

__all__ = [
    "ARRIVED_ONLY",
    "NOT_ARRIVED",
    "OrderedPass",
    "Policy",
    "Problem",
    "concat",
    "consigned",
    "fair_share",
    "get_policy",
    "optimal",
    "priority",
    "register",
    "registered",
    "run_passes",
]
