"""``priority``: pooled supply goes strictly by (priority, by, id).

1. Own pass: arrived stock fills its holder's family's targets (*choice*: arrived
   stock is never pooled).
2. Pool pass: supply not yet arrived (in transit, expected, open orders) is pooled
   per (pool, SKU); targets take it strictly in fill order, each the earliest
   units left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuledger.domain import PolicyName
from gpuledger.planning._match import Segments
from gpuledger.planning.policies._base import (
    ARRIVED_ONLY,
    NOT_ARRIVED,
    OrderedPass,
    Problem,
    concat,
    register,
    run_passes,
    substitute,
)


@dataclass(frozen=True)
class Priority:
    """Two ordered passes: own arrived stock by holder, then the pool by priority."""

    name: PolicyName = PolicyName.PRIORITY
    pools_supply: bool = True
    passes: tuple[OrderedPass, ...] = field(
        default=(
            OrderedPass(ARRIVED_ONLY, pooled=False),
            OrderedPass(NOT_ARRIVED, pooled=True),
        )
    )

    def allocate(self, problem: Problem) -> Segments:
        """The own pass, then the pool pass on the needs left."""
        segments, _ = run_passes(problem, self.passes)
        return concat([segments, substitute(problem, segments, self.pools_supply)])


PRIORITY = register(Priority())
