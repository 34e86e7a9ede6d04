"""What every policy shares: the problem it is given, its protocol, the registry.

A policy turns a :class:`Problem` (supply rows, targets and their needs) into
:class:`~gpuledger.planning._match.Segments` of (supply row, target, units). A
policy that is nothing but a sequence of *ordered passes* (each group's targets, in
fill order, take the group's earliest units) says so in :attr:`Policy.passes`: the
planner runs them here, and the forecast's batch kernel replays the same passes on
thousands of samples at once. Nothing outside this package branches on a policy's
name: it asks the policy object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from gpuledger.domain import InvalidInput, PolicyName
from gpuledger.planning._match import Segments, match
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot, SupplyKind

__all__ = [
    "ARRIVED_ONLY",
    "NOT_ARRIVED",
    "BoolArray",
    "OrderedPass",
    "Policy",
    "Problem",
    "allowed",
    "concat",
    "get_policy",
    "register",
    "registered",
    "run_passes",
    "substitute",
    "substitution_passes",
]

BoolArray = npt.NDArray[np.bool_]

ARRIVED_ONLY = frozenset({SupplyKind.ARRIVED})
NOT_ARRIVED = frozenset(SupplyKind) - ARRIVED_ONLY


@dataclass(frozen=True)
class Problem:
    """The planning inputs reduced to what a policy needs.

    ``row_ok`` masks the supply rows the policy may hand out (qty > 0, arriving by
    the horizon, and, when a plan keeps its past, arriving on or after the change).
    ``need`` is what each target still asks for (its increment, see
    :mod:`gpuledger.planning.order`, minus what it already received). ``rank``
    orders targets by (priority, by, id) and ``idrank`` by id alone.
    """

    snapshot: PlanningSnapshot
    row_ok: BoolArray
    target_family: IntArray  # org index of the target's consumer
    target_pool: IntArray
    need: IntArray
    rank: IntArray
    idrank: IntArray
    never_day: int  # the virtual day a never-delivered unit counts as delivered on


@dataclass(frozen=True)
class OrderedPass:
    """One matching pass: rows of some kinds, grouped by holder (or its pool) and SKU.

    The targets of the same group (the holder's family, or every family of the
    pool) take the group's units in fill order, each the earliest-arriving units
    left; units no target takes stay with their holder.
    """

    kinds: frozenset[SupplyKind]
    pooled: bool

    def selects(self, supply_kind: IntArray) -> BoolArray:
        """Which supply rows (by kind) the pass hands out."""
        return np.isin(supply_kind, np.array(sorted(self.kinds), dtype=np.int64))

    def row_key(self, snapshot: PlanningSnapshot, rows: IntArray) -> IntArray:
        """The group of each supply row: (holder or its pool) x SKU."""
        holder = snapshot.supply_holder[rows]
        scope = snapshot.org_pool[holder] if self.pooled else holder
        return (scope * len(snapshot.skus) + snapshot.supply_sku[rows]).astype(np.int64)

    def target_key(self, snapshot: PlanningSnapshot, targets: IntArray) -> IntArray:
        """The group of each target: (its family or the family's pool) x SKU."""
        family = snapshot.consumer_org[snapshot.target_consumer[targets]]
        scope = snapshot.org_pool[family] if self.pooled else family
        return (scope * len(snapshot.skus) + snapshot.target_sku[targets]).astype(np.int64)


class Policy(Protocol):
    """How the planner hands out supply (DESIGN section 4).

    Attributes:
        name: the policy's name (the CLI's ``--policy``).
        pools_supply: True when supply not yet arrived is shared among the orgs of
            a group, so one org's lots may serve another org's targets.
        passes: the policy as ordered passes when it is only that (the forecast
            then plans many samples at once); None otherwise.
    """

    @property
    def name(self) -> PolicyName:
        """The policy's name."""
        ...

    @property
    def pools_supply(self) -> bool:
        """Whether supply not yet arrived is shared within a group."""
        ...

    @property
    def passes(self) -> tuple[OrderedPass, ...] | None:
        """The ordered passes the policy is made of, or None."""
        ...

    def allocate(self, problem: Problem) -> Segments:
        """Every (supply row, target, units) piece the policy hands out."""
        ...


def concat(parts: Iterable[Segments]) -> Segments:
    """All segments of ``parts``, in order."""
    kept = [p for p in parts if p.qty.size]
    if not kept:
        z = np.zeros(0, dtype=np.int64)
        return Segments(z, z.copy(), z.copy())
    return Segments(
        np.concatenate([p.supply for p in kept]),
        np.concatenate([p.demand for p in kept]),
        np.concatenate([p.qty for p in kept]),
    )


def ordered_match(
    rows: IntArray,
    row_key: IntArray,
    targets: IntArray,
    target_key: IntArray,
    target_qty: IntArray,
    snapshot: PlanningSnapshot,
    rank: IntArray,
    row_qty: IntArray | None = None,
) -> Segments:
    """Targets (in ``rank`` order within their key) take the earliest rows of their key.

    ``row_qty``: units of each row still to hand out (default: the row's quantity).
    """
    so = np.lexsort((rows, snapshot.supply_day[rows], row_key))
    to = np.lexsort((rank[targets], target_key))
    qty = snapshot.supply_qty[rows] if row_qty is None else row_qty
    seg = match(row_key[so], qty[so], target_key[to], target_qty[to])
    return Segments(rows[so][seg.supply], targets[to][seg.demand], seg.qty)


def run_passes(problem: Problem, passes: Iterable[OrderedPass]) -> tuple[Segments, IntArray]:
    """Run ordered passes one after the other; return their segments and the needs left."""
    s = problem.snapshot
    residual = problem.need.copy()
    parts = []
    for p in passes:
        rows = np.flatnonzero(problem.row_ok & p.selects(s.supply_kind)).astype(np.int64)
        targets = np.flatnonzero(residual > 0).astype(np.int64)
        seg = ordered_match(
            rows,
            p.row_key(s, rows),
            targets,
            p.target_key(s, targets),
            residual[targets],
            s,
            problem.rank,
        )
        np.subtract.at(residual, seg.demand, seg.qty)
        parts.append(seg)
    return concat(parts), residual


def substitution_passes(pools_supply: bool) -> tuple[OrderedPass, ...]:
    """Where substitutes come from: the holder's own rows, and the pool's not-yet-arrived
    rows when the policy pools supply (the same scopes as its own passes)."""
    if not pools_supply:
        return (OrderedPass(frozenset(SupplyKind), pooled=False),)
    return (OrderedPass(ARRIVED_ONLY, pooled=False), OrderedPass(NOT_ARRIVED, pooled=True))


def substitute(
    problem: Problem,
    given: Segments,
    pools_supply: bool,
    scopes: tuple[OrderedPass, ...] | None = None,
) -> Segments:
    """Units of other SKUs for targets that ``accepts`` them, after the policy's own pass.

    *Choice* (one rule for every policy): a SKU's units serve targets of that SKU
    first, under the policy; the units left over then fill, one-for-one, the needs
    still open of targets that accept that SKU, in fill order (priority, by, id),
    each the earliest units left, trying a target's accepted SKUs in the order it
    lists them. Substitutes come from ``scopes``, by default those of
    :func:`substitution_passes` (``optimal`` takes only its own pass's scope here:
    its pool pass weighs every SKU a target takes at once). Returns only the new
    segments.
    """
    s = problem.snapshot
    accepts = s.target_accepts
    if accepts is None or accepts.shape[1] == 0 or not np.any(accepts >= 0):
        return concat([])
    n_rows, n_targets, n_sku = s.supply_qty.size, s.target_qty.size, len(s.skus)
    left = np.where(problem.row_ok, np.maximum(s.supply_qty, 0), 0).astype(np.int64)
    left -= np.bincount(given.supply, weights=given.qty, minlength=n_rows).astype(np.int64)
    residual = problem.need - np.bincount(
        given.demand, weights=given.qty, minlength=n_targets
    ).astype(np.int64)
    assert np.all(left >= 0) and np.all(residual >= 0), "the policy handed out too much"
    parts = []
    for p in substitution_passes(pools_supply) if scopes is None else scopes:
        rows = np.flatnonzero((left > 0) & p.selects(s.supply_kind)).astype(np.int64)
        for j in range(accepts.shape[1]):
            targets = np.flatnonzero((residual > 0) & (accepts[:, j] >= 0)).astype(np.int64)
            if rows.size == 0 or targets.size == 0:
                continue
            family = s.consumer_org[s.target_consumer[targets]]
            scope = s.org_pool[family] if p.pooled else family
            seg = ordered_match(
                rows,
                p.row_key(s, rows),
                targets,
                (scope * n_sku + accepts[targets, j]).astype(np.int64),
                residual[targets],
                s,
                problem.rank,
                row_qty=left[rows],
            )
            np.subtract.at(residual, seg.demand, seg.qty)
            np.subtract.at(left, seg.supply, seg.qty)
            parts.append(seg)
    return concat(parts)


def allowed(snapshot: PlanningSnapshot, rows: IntArray, targets: IntArray) -> BoolArray:
    """Whether each row's SKU may fill each target: its own SKU or one it accepts."""
    ok: BoolArray = snapshot.supply_sku[rows] == snapshot.target_sku[targets]
    accepts = snapshot.target_accepts
    if accepts is not None and accepts.shape[1]:
        ok = ok | np.any(accepts[targets] == snapshot.supply_sku[rows][:, None], axis=1)
    return ok


P = TypeVar("P", bound=Policy)

_REGISTRY: dict[PolicyName, Policy] = {}


def register(policy: P) -> P:
    """Add a policy to the registry under its name (one policy per name)."""
    if policy.name in _REGISTRY:
        raise ValueError(f"policy {policy.name!r} is already registered")
    _REGISTRY[policy.name] = policy
    return policy


def get_policy(name: PolicyName | str) -> Policy:
    """The registered policy of that name.

    Raises:
        InvalidInput: no policy has that name (naming the known ones).
    """
    try:
        return _REGISTRY[PolicyName(name)]
    except (ValueError, KeyError):
        known = ", ".join(str(n) for n in _REGISTRY)
        raise InvalidInput(f"unknown policy {name!r}; known: {known}", field="policy") from None


def registered() -> tuple[Policy, ...]:
    """Every registered policy: those named in ``PolicyName`` in its order, then any other."""
    named = [_REGISTRY[n] for n in PolicyName if n in _REGISTRY]
    return tuple(named + [p for p in _REGISTRY.values() if p not in named])
