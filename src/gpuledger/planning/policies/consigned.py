"""``consigned``: the books as they stand.

Every supply row goes to its holder's family: within it, targets take the earliest
units in fill order (priority, by, id). Nothing is pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuledger.domain import PolicyName
from gpuledger.planning._match import Segments
from gpuledger.planning.policies._base import (
    OrderedPass,
    Problem,
    concat,
    register,
    run_passes,
    substitute,
)
from gpuledger.planning.snapshot import SupplyKind


@dataclass(frozen=True)
class Consigned:
    """Each lot to its consignee; one ordered pass over every row, by holder."""

    name: PolicyName = PolicyName.CONSIGNED
    pools_supply: bool = False
    passes: tuple[OrderedPass, ...] = field(
        default=(OrderedPass(frozenset(SupplyKind), pooled=False),)
    )

    def allocate(self, problem: Problem) -> Segments:
        """The own pass over every row."""
        segments, _ = run_passes(problem, self.passes)
        return concat([segments, substitute(problem, segments, self.pools_supply)])


CONSIGNED = register(Consigned())
