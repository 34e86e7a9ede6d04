"""A plan: who gets which supply under a policy, and when each target completes.

Semantics (DESIGN section 4; the choices where it is not exact are marked *choice*):

- **Days.** Curves run from ``day0`` to the snapshot's ``horizon_end`` inclusive,
  one column per day; ``day0`` is the earliest of ``as_of``, every target's ``by``
  and every supply row's day (:func:`plan_day0`). Supply rows with qty <= 0 or
  arriving after the horizon are ignored (*choice*: "not in the horizon").
- **Families and holdings.** A consumer is an org or a cluster; a cluster is
  supplied through its org, and the org with its clusters is a *family*. The
  holdings of a cluster are the units assigned to its targets; the holdings of an
  org are every unit its family receives (assigned to any of its targets, its
  clusters' included, plus units no target took that it holds in the books).
  ``holdings[consumer, sku, day - day0]`` is that cumulative count.
- **Held and powered** (:mod:`gpuledger.planning.power`): ``powered`` has the
  same shape and counts, of the units held, those the consumer's sites could
  power that day; equal to ``holdings`` where no site states a capacity.
  ``powered_at_by`` is the consumer's powered units on ``by``; the plan's ``orgs``
  rows give, per org and SKU on ``as_of``, units held, units powered and the
  capacity (None: no stated limit).
- **Substitution**: a target that ``accepts`` other SKUs may be filled by them
  one-for-one, under every policy (:mod:`gpuledger.planning.policies`).
- **Needs and serving order**: :mod:`gpuledger.planning.order`.
- **Per target.** ``completed_on`` is the first day from which the consumer holds
  ``qty`` through the target's ``by`` (or, if it does not hold ``qty`` on ``by``,
  the first later day it does); on curves that never drop, simply the first day
  holdings reach ``qty`` (``day0`` for qty <= 0; none if never in the horizon).
  ``days_late`` is ``max(0, completed - by)`` (none if never). ``held_at_by`` is
  the consumer's holdings on ``by``, *not* capped at qty (*choice*); when ``by``
  is after the horizon, the holdings on the horizon's last day.
- **Objective** (reported for every policy, minimised by ``optimal``): the sum over
  assigned units of ``weight x max(0, arrival - by)`` plus, per unit of need never
  assigned, ``weight x (never_day - by)`` where ``never_day = max(horizon_end,
  latest by) + 1 + horizon length in days`` (*choice*: never delivering costs more
  than any delivery within the horizon, and is always later than every ``by``).
- **Pooling** (issue 12, item 7): a plan says whether its policy pools supply and
  lists, per (org giving, org receiving, SKU, lot or order), the units the pool
  moved from one org's supply to another org's targets.

Invariants (:func:`gpuledger.planning.invariants.check_plan`) are checked on every
plan before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.domain.serialize import NOT_JSON, jsonable
from gpuledger.planning._curves import Pieces, build_holdings, completion_days
from gpuledger.planning.order import ServingOrder, serving_order
from gpuledger.planning.policies import Problem, get_policy
from gpuledger.planning.power import NO_LIMIT, capacity_on, powered_curves
from gpuledger.planning.snapshot import BoolArray, IntArray, PlanningSnapshot, SupplyKind

if TYPE_CHECKING:
    import pandas as pd

    from gpuledger.planning.changes import Change

__all__ = ["Plan", "PlanOrg", "PlanTarget", "PooledMove", "assemble", "plan", "plan_day0"]


@dataclass(frozen=True)
class PlanTarget:
    """One target in a plan: the JSON contract's row.

    Attributes:
        held_at_by: units the consumer holds on ``by`` (not capped at ``qty``).
        powered_at_by: of those, units its sites could power on ``by`` (equal to
            ``held_at_by`` when no site states a capacity).
        completed_on: see the module docstring; None when not in the horizon.
        days_late: ``max(0, completed_on - by)``; None when not in the horizon.
    """

    id: str
    consumer: str
    sku: str
    qty: int
    by: date
    held_at_by: int
    powered_at_by: int
    completed_on: date | None
    days_late: int | None


@dataclass(frozen=True)
class PlanOrg:
    """One org and SKU on a day: units held and units its sites could power.

    Attributes:
        held: units the org (its clusters included) holds on ``on``.
        powered: of those, units its sites' power could run on ``on``.
        capacity: units of the SKU its sites could power on ``on``; None when no
            site states a capacity (no limit).
    """

    org: str
    sku: str
    on: date
    held: int
    powered: int
    capacity: int | None


@dataclass(frozen=True)
class PooledMove:
    """Units of one org's lot (or open order) that a pooled policy gave another org.

    ``note`` says it in one line, e.g. "priority pooled 50,000 units of xai's order
    PO-XAI-2023-10 to tesla".
    """

    from_org: str
    to_org: str
    sku: str
    supply: str
    qty: int
    note: str


@dataclass(frozen=True)
class Plan:
    """The outcome of :func:`plan`: per-target results, assignments and holdings curves.

    The JSON contract (:meth:`to_json`) is the fields ``policy``, ``as_of``,
    ``targets``, ``orgs`` (held and powered on ``as_of``), ``pools_supply`` and
    ``moved_between_orgs``. ``powered`` is ``holdings`` capped by power. The rest are arrays
    for computation: indexed like the snapshot's targets (``target_*``), or
    parallel assignment pieces (``assign_*``: ``qty`` units of supply row ``row``,
    arriving on ordinal ``day``, went to ``target``). ``holdings`` has shape
    (consumers, SKUs, days) with day ``d`` at column ``d - day0``. ``released``
    lists units given up on a day (only in a plan that keeps a baseline's past,
    ``past_kept_before`` being that first day of change). ``changes`` lists what-if
    changes the snapshot went through, so an explanation can name a diversion.
    """

    policy: PolicyName
    as_of: date
    targets: tuple[PlanTarget, ...]
    orgs: tuple[PlanOrg, ...]
    pools_supply: bool
    moved_between_orgs: tuple[PooledMove, ...]
    snapshot: PlanningSnapshot = field(metadata=NOT_JSON)
    day0: int = field(metadata=NOT_JSON)
    target_need: IntArray = field(metadata=NOT_JSON)
    target_held_at_by: IntArray = field(metadata=NOT_JSON)
    target_completed_day: IntArray = field(metadata=NOT_JSON)
    target_days_late: IntArray = field(metadata=NOT_JSON)
    assign_row: IntArray = field(metadata=NOT_JSON)
    assign_target: IntArray = field(metadata=NOT_JSON)
    assign_qty: IntArray = field(metadata=NOT_JSON)
    assign_day: IntArray = field(metadata=NOT_JSON)
    holdings: IntArray = field(metadata=NOT_JSON)
    powered: IntArray = field(metadata=NOT_JSON)
    objective: float = field(metadata=NOT_JSON)
    changes: tuple[Change, ...] = field(default=(), metadata=NOT_JSON)
    released: Pieces = field(default_factory=Pieces.empty, metadata=NOT_JSON)
    past_kept_before: int | None = field(default=None, metadata=NOT_JSON)

    @property
    def n_days(self) -> int:
        """Number of days in the curves (``day0`` .. horizon end)."""
        return int(self.holdings.shape[2])

    @property
    def assigned(self) -> Pieces:
        """The assignment pieces as one value."""
        return Pieces(self.assign_row, self.assign_target, self.assign_qty, self.assign_day)

    def target_index(self, target_id: str) -> int:
        """Row of a target; raise UnknownRecord naming it when absent."""
        try:
            return self.snapshot.target_id.index(target_id)
        except ValueError:
            raise UnknownRecord(f"target {target_id!r} is not in the plan") from None

    def completed_on(self, i: int) -> date | None:
        """Completion date of target row ``i``; None if not within the horizon."""
        d = int(self.target_completed_day[i])
        return None if d < 0 else date.fromordinal(d)

    def curve(self, consumer: int, sku: int) -> IntArray:
        """Cumulative holdings of one consumer and SKU, one value per day from ``day0``."""
        curve: IntArray = self.holdings[consumer, sku]
        return curve

    def holdings_on(self, consumer: int, sku: int, day: int) -> int:
        """Holdings of one consumer and SKU on ordinal ``day`` (0 before ``day0``;
        the horizon's last value after it)."""
        if day < self.day0:
            return 0
        return int(self.holdings[consumer, sku, min(day - self.day0, self.n_days - 1)])

    def powered_on(self, consumer: int, sku: int, day: int) -> int:
        """Units of one consumer and SKU that could be powered on ordinal ``day``."""
        if day < self.day0:
            return 0
        return int(self.powered[consumer, sku, min(day - self.day0, self.n_days - 1)])

    def orgs_on(self, on: date) -> tuple[PlanOrg, ...]:
        """Per org and SKU: units held, units powered and the capacity on ``on``."""
        return tuple(_org_rows(self, on))

    def target_rows(self) -> list[dict[str, Any]]:
        """One dict per target, in snapshot order: the JSON contract's rows."""
        rows: list[dict[str, Any]] = jsonable(self.targets)
        return rows

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract (:func:`~gpuledger.domain.serialize.jsonable` of the plan)."""
        out: dict[str, Any] = jsonable(self)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The per-target rows as a pandas DataFrame (for notebooks)."""
        import pandas as pd

        return pd.DataFrame([vars(t) for t in self.targets])

    def assignments(self) -> list[dict[str, Any]]:
        """The lot-to-target pieces as dicts (supply id, target id, qty, arrival date)."""
        s = self.snapshot
        return [
            {
                "supply": s.supply_id[int(r)],
                "target": s.target_id[int(t)],
                "qty": int(q),
                "arrives_on": date.fromordinal(int(d)).isoformat(),
            }
            for r, t, q, d in zip(
                self.assign_row,
                self.assign_target,
                self.assign_qty,
                self.assign_day,
                strict=True,
            )
        ]


def plan_day0(snapshot: PlanningSnapshot) -> int:
    """First day of a plan's curves: the earliest of ``as_of``, every ``by`` and every
    supply row in the horizon (qty > 0), as an ordinal."""
    s = snapshot
    ok = (s.supply_qty > 0) & (s.supply_day <= s.horizon_day)
    return min(
        s.as_of_day,
        int(s.target_by.min(initial=s.as_of_day)),
        int(s.supply_day[ok].min(initial=s.as_of_day)),
    )


def never_day(snapshot: PlanningSnapshot, day0: int) -> int:
    """The virtual day a never-delivered unit counts as delivered on (see the objective)."""
    s = snapshot
    n_days = max(s.horizon_day - day0 + 1, 1)
    return max(s.horizon_day, int(s.target_by.max(initial=s.horizon_day))) + 1 + n_days


def rows_in_horizon(snapshot: PlanningSnapshot) -> BoolArray:
    """Supply rows the planner hands out: qty > 0, arriving by the horizon's end."""
    return (snapshot.supply_qty > 0) & (snapshot.supply_day <= snapshot.horizon_day)


def make_problem(
    snapshot: PlanningSnapshot, order: ServingOrder, row_ok: BoolArray, need: IntArray, day0: int
) -> Problem:
    """The :class:`Problem` a policy is given."""
    family = snapshot.consumer_org[snapshot.target_consumer].astype(np.int64)
    return Problem(
        snapshot=snapshot,
        row_ok=row_ok,
        target_family=family,
        target_pool=snapshot.org_pool[family].astype(np.int64),
        need=need,
        rank=order.rank,
        idrank=order.idrank,
        never_day=never_day(snapshot, day0),
    )


def plan(snapshot: PlanningSnapshot, policy: PolicyName | str = PolicyName.PRIORITY) -> Plan:
    """Plan who receives which supply under ``policy`` and when each target completes.

    Never mutates the snapshot. Targets with qty <= 0 complete on ``day0``; targets
    whose consumer never reaches qty within the horizon get ``completed_day = -1``.

    Raises:
        InvalidInput: no policy has that name.
        GpuledgerError: the ``optimal`` solver failed or returned a fractional flow.
    """
    chosen = get_policy(policy)
    # 1. The day axis, the serving order and the rows within the horizon.
    day0 = plan_day0(snapshot)
    order = serving_order(snapshot)
    problem = make_problem(snapshot, order, rows_in_horizon(snapshot), order.need, day0)
    # 2. The policy decides the assignments.
    seg = chosen.allocate(problem)
    assigned = Pieces(seg.supply, seg.demand, seg.qty, snapshot.supply_day[seg.supply])
    # 3. Curves, per-target results and the checks.
    return assemble(snapshot, chosen.name, day0, order.need, assigned)


def assemble(
    snapshot: PlanningSnapshot,
    policy: PolicyName,
    day0: int,
    need: IntArray,
    assigned: Pieces,
    released: Pieces | None = None,
    *,
    changes: tuple[Change, ...] = (),
    past_kept_before: int | None = None,
) -> Plan:
    """The :class:`Plan` of given assignments (and releases): curves, rows, checks.

    Raises:
        AssertionError: an invariant of :mod:`gpuledger.planning.invariants` fails.
    """
    from gpuledger.planning.invariants import check_plan

    s = snapshot
    released = released if released is not None else Pieces.empty()
    n_sku = len(s.skus)
    n_days = max(s.horizon_day - day0 + 1, 1)
    # 1. Holdings curves, and the units of them that could be powered.
    holdings = build_holdings(s, day0, n_days, assigned, released)
    powered = powered_curves(s, holdings, day0)
    # 2. Per target: held at by, completion, days late.
    row = (s.target_consumer * n_sku + s.target_sku).astype(np.int64)
    by_col = np.clip(s.target_by - day0, 0, n_days - 1)
    curves = holdings.reshape(-1, n_days)
    held = curves[row, by_col].astype(np.int64)
    on_power = powered.reshape(-1, n_days)[row, by_col].astype(np.int64)
    done = completion_days(curves, row, s.target_qty, by_col, drops=released.qty.size > 0)
    completed = np.where(done >= 0, done + day0, -1).astype(np.int64)
    late = np.where(completed >= 0, np.maximum(completed - s.target_by, 0), -1).astype(np.int64)
    # 3. The JSON rows, pooling and the objective.
    result = Plan(
        policy=policy,
        as_of=s.as_of,
        targets=tuple(_target_rows(s, held, on_power, completed, late)),
        orgs=(),
        pools_supply=get_policy(policy).pools_supply,
        moved_between_orgs=tuple(_pooled_moves(s, policy, assigned)),
        snapshot=s,
        day0=day0,
        target_need=need,
        target_held_at_by=held,
        target_completed_day=completed,
        target_days_late=late,
        assign_row=assigned.row,
        assign_target=assigned.target,
        assign_qty=assigned.qty,
        assign_day=assigned.day,
        holdings=holdings,
        powered=powered,
        objective=_objective(s, need, assigned, released, never_day(s, day0)),
        changes=changes,
        released=released,
        past_kept_before=past_kept_before,
    )
    result = replace(result, orgs=result.orgs_on(s.as_of))
    # 4. Invariants, always on.
    check_plan(result)
    return result


def _org_rows(p: Plan, on: date) -> Iterator[PlanOrg]:
    """Every org and SKU of the snapshot on ``on`` (see :class:`PlanOrg`)."""
    s = p.snapshot
    day = on.toordinal()
    cap = capacity_on(s, np.array([day], dtype=np.int64))
    for o, org in enumerate(s.orgs):
        for k, sku in enumerate(s.skus):
            limit = None if cap is None or int(cap[o, k, 0]) == NO_LIMIT else int(cap[o, k, 0])
            yield PlanOrg(
                org=org,
                sku=sku,
                on=on,
                held=p.holdings_on(o, k, day),
                powered=p.powered_on(o, k, day),
                capacity=limit,
            )


def _target_rows(
    s: PlanningSnapshot, held: IntArray, powered: IntArray, completed: IntArray, late: IntArray
) -> Iterator[PlanTarget]:
    # plain Python values first (a loop over NumPy scalars is several times slower),
    # and each distinct day converted once
    wanted = np.unique(np.concatenate([s.target_by, completed]))
    days = {d: date.fromordinal(d) for d in wanted[wanted > 0].tolist()}
    consumers, skus = s.consumers, s.skus
    for tid, c, k, q, by, h, pw, done, lt in zip(
        s.target_id,
        s.target_consumer.tolist(),
        s.target_sku.tolist(),
        s.target_qty.tolist(),
        s.target_by.tolist(),
        held.tolist(),
        powered.tolist(),
        completed.tolist(),
        late.tolist(),
        strict=True,
    ):
        yield PlanTarget(
            id=tid,
            consumer=consumers[c],
            sku=skus[k],
            qty=q,
            by=days[by],
            held_at_by=h,
            powered_at_by=pw,
            completed_on=days[done] if done >= 0 else None,
            days_late=lt if done >= 0 else None,
        )


def _pooled_moves(
    s: PlanningSnapshot, policy: PolicyName, assigned: Pieces
) -> Iterator[PooledMove]:
    """Units of one org's supply assigned to another org's targets, summed per source."""
    giver = s.supply_holder[assigned.row]
    taker = s.consumer_org[s.target_consumer[assigned.target]]
    moved = np.flatnonzero(giver != taker)
    if moved.size == 0:
        return
    # 1. sum per (giver, taker, row) in NumPy; 2. merge rows of one lot or order
    n_orgs, n_rows = len(s.orgs), s.supply_qty.size
    key = (giver[moved] * n_orgs + taker[moved]) * n_rows + assigned.row[moved]
    uniq, inv = np.unique(key, return_inverse=True)
    qty = np.bincount(inv.reshape(-1), weights=assigned.qty[moved]).astype(np.int64)
    total: dict[tuple[int, int, int, str], int] = {}
    kind: dict[str, int] = {}
    sku_of, kind_of = s.supply_sku.tolist(), s.supply_kind.tolist()
    for k, q in zip(uniq.tolist(), qty.tolist(), strict=True):
        pair, r = divmod(k, n_rows)
        g, t = divmod(pair, n_orgs)
        sid = s.supply_id[r]
        total[(g, t, sku_of[r], sid)] = total.get((g, t, sku_of[r], sid), 0) + q
        kind[sid] = kind_of[r]
    for (g, t, k, sid), q in sorted(total.items()):
        what = "order" if kind[sid] == SupplyKind.OPEN_ORDER else "lot"
        yield PooledMove(
            from_org=s.orgs[g],
            to_org=s.orgs[t],
            sku=s.skus[k],
            supply=sid,
            qty=q,
            note=f"{policy} pooled {q:,} units of {s.orgs[g]}'s {what} {sid} to {s.orgs[t]}",
        )


def _objective(
    s: PlanningSnapshot, need: IntArray, assigned: Pieces, released: Pieces, never: int
) -> float:
    """Weighted unit-days late of the units held, plus never-delivered units at ``never``."""
    w = s.target_weight
    by = s.target_by
    held_r = released.target >= 0
    r_tgt, r_qty, r_row = released.target[held_r], released.qty[held_r], released.row[held_r]
    late_a = np.maximum(assigned.day - by[assigned.target], 0)
    late_r = np.maximum(s.supply_day[r_row] - by[r_tgt], 0)
    delivered = np.bincount(assigned.target, weights=assigned.qty, minlength=need.size)
    delivered -= np.bincount(r_tgt, weights=r_qty, minlength=need.size)
    unmet = np.maximum(need - delivered.astype(np.int64), 0)
    return float(
        np.sum(w[assigned.target] * assigned.qty * late_a)
        - np.sum(w[r_tgt] * r_qty * late_r)
        + np.sum(w * unmet * (never - by))
    )
