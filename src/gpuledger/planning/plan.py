"""A plan: who gets which supply under a policy, and when each target completes.

Semantics (DESIGN section 4; the choices where it is not exact are marked *choice*):

- **Days.** Curves run from ``day0`` to the snapshot's ``horizon_end`` inclusive,
  one column per day; ``day0`` is the earliest of ``as_of``, every target's ``by``
  and every supply row's day. Supply rows with qty <= 0 or arriving after the
  horizon are ignored (*choice*: "not in the horizon").
- **Families and holdings.** A consumer is an org or a cluster; a cluster is
  supplied through its org, and the org with its clusters is a *family*. The
  holdings of a cluster are the units assigned to its targets; the holdings of an
  org are every unit its family receives (assigned to any of its targets, its
  clusters' included, plus units no target took that it holds in the books).
  ``holdings[consumer, sku, day - day0]`` is that cumulative count.
- **Needs** (*choice*, making cumulative targets additive). Within a family and SKU,
  targets are taken in fill order (priority, by, id). An org target asks for
  ``max(0, qty - units its family already asks for)``; a cluster target for
  ``max(0, qty - units that cluster already asks for)`` (which also counts for the
  family). So an 85,000 org target after a 50,000 cluster target asks for 35,000
  more, and a target implied by an earlier one asks for nothing.
- **Per target.** ``completed_day`` is the first day the consumer's holdings reach
  ``qty`` (``day0`` for qty <= 0; -1 if never in the horizon). ``days_late`` is
  ``max(0, completed - by)`` (-1 if never). ``held_at_by`` is the consumer's
  holdings at ``by``, *not* capped at qty (*choice*); when ``by`` is after the
  horizon, the holdings at the horizon's last day.
- **Objective** (reported for every policy, minimised by ``optimal``): the sum over
  assigned units of ``weight x max(0, arrival - by)`` plus, per unit of need never
  assigned, ``weight x (never_day - by)`` where ``never_day = max(horizon_end, latest by)
  + 1 + horizon length in days`` (*choice*: never delivering costs more than any
  delivery within the horizon, and is always later than every ``by``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.planning._allocate import Problem, allocate
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot

if TYPE_CHECKING:
    import pandas as pd

    from gpuledger.planning.changes import Change


@dataclass(frozen=True)
class Plan:
    """The outcome of :func:`plan`: per-target results, assignments and holdings curves.

    Arrays are indexed like the snapshot's targets (``target_*``) or are parallel
    assignment pieces (``assign_*``: ``qty`` units of supply row ``row``, arriving on
    ordinal ``day``, went to ``target``). ``holdings`` has shape (consumers, SKUs,
    days) with day ``d`` at column ``d - day0``. ``changes`` lists what-if changes
    the snapshot went through (set by :func:`~gpuledger.planning.impact`), so an
    explanation can name a diversion.
    """

    policy: PolicyName
    as_of: date
    snapshot: PlanningSnapshot
    day0: int
    target_need: IntArray
    target_held_at_by: IntArray
    target_completed_day: IntArray
    target_days_late: IntArray
    assign_row: IntArray
    assign_target: IntArray
    assign_qty: IntArray
    assign_day: IntArray
    holdings: IntArray
    objective: float
    changes: tuple[Change, ...] = field(default=())

    @property
    def n_days(self) -> int:
        """Number of days in the curves (``day0`` .. horizon end)."""
        return int(self.holdings.shape[2])

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

    def target_rows(self) -> list[dict[str, Any]]:
        """One dict per target, in snapshot order: the JSON contract's rows."""
        s = self.snapshot
        out = []
        for i, tid in enumerate(s.target_id):
            done = self.completed_on(i)
            out.append(
                {
                    "id": tid,
                    "consumer": s.consumers[int(s.target_consumer[i])],
                    "sku": s.skus[int(s.target_sku[i])],
                    "qty": int(s.target_qty[i]),
                    "by": date.fromordinal(int(s.target_by[i])).isoformat(),
                    "held_at_by": int(self.target_held_at_by[i]),
                    "completed_on": done.isoformat() if done else None,
                    "days_late": int(self.target_days_late[i]) if done else None,
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """The CLI contract: ``{"policy", "as_of", "targets": [...]}``, dates ISO."""
        return {
            "policy": str(self.policy),
            "as_of": self.as_of.isoformat(),
            "targets": self.target_rows(),
        }

    def to_frame(self) -> pd.DataFrame:
        """The per-target rows as a pandas DataFrame (for notebooks)."""
        import pandas as pd

        return pd.DataFrame(self.target_rows())

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


def fill_order(snapshot: PlanningSnapshot, idrank: IntArray) -> IntArray:
    """Target rows sorted by (priority, by, id): the order targets are served."""
    return np.lexsort((idrank, snapshot.target_by, snapshot.target_priority)).astype(np.int64)


def id_rank(ids: Sequence[str]) -> IntArray:
    """Rank of each id in sorted order (ties impossible: ids are unique)."""
    order = np.argsort(np.array(ids, dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def compute_needs(snapshot: PlanningSnapshot, rank: IntArray) -> IntArray:
    """Each target's increment within its family and SKU (see the module docstring)."""
    s = snapshot
    n_orgs = len(s.orgs)
    family = s.consumer_org[s.target_consumer]
    order = np.lexsort((rank, s.target_sku, family))
    need = np.zeros(len(s.target_id), dtype=np.int64)
    fam_total: dict[tuple[int, int], int] = {}
    cl_total: dict[tuple[int, int], int] = {}
    for i in order.tolist():
        c, k, q = int(s.target_consumer[i]), int(s.target_sku[i]), int(s.target_qty[i])
        fk = (int(family[i]), k)
        if c < n_orgs:
            n = max(0, q - fam_total.get(fk, 0))
        else:
            n = max(0, q - cl_total.get((c, k), 0))
            cl_total[(c, k)] = cl_total.get((c, k), 0) + n
        fam_total[fk] = fam_total.get(fk, 0) + n
        need[i] = n
    return need


def plan(snapshot: PlanningSnapshot, policy: PolicyName = PolicyName.PRIORITY) -> Plan:
    """Plan who receives which supply under ``policy`` and when each target completes.

    Never mutates the snapshot. Targets with qty <= 0 complete on ``day0``; targets
    whose consumer never reaches qty within the horizon get ``completed_day = -1``.

    Raises:
        GpuledgerError: the ``optimal`` solver failed or returned a fractional flow.
    """
    s = snapshot
    policy = PolicyName(policy)
    n_orgs, n_cons, n_sku = len(s.orgs), len(s.consumers), len(s.skus)
    hday = s.horizon_day
    # 1. The day axis and the rows within the horizon.
    row_ok = (s.supply_qty > 0) & (s.supply_day <= hday)
    candidates = [s.as_of_day]
    if s.target_by.size:
        candidates.append(int(s.target_by.min()))
    if row_ok.any():
        candidates.append(int(s.supply_day[row_ok].min()))
    day0 = min(candidates)
    n_days = max(hday - day0 + 1, 1)
    latest = max(hday, int(s.target_by.max())) if s.target_by.size else hday
    never_day = latest + 1 + n_days
    # 2. Needs and serving order.
    idrank = id_rank(s.target_id)
    order = fill_order(s, idrank)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    need = compute_needs(s, rank)
    family = s.consumer_org[s.target_consumer].astype(np.int64)
    problem = Problem(
        snapshot=s,
        row_ok=row_ok,
        target_family=family,
        target_pool=s.org_pool[family].astype(np.int64),
        need=need,
        rank=rank,
        idrank=idrank,
        never_day=never_day,
    )
    # 3. The policy decides the assignments.
    seg = allocate(problem, policy)
    a_row, a_tgt, a_qty = seg.supply, seg.demand, seg.qty
    a_day = s.supply_day[a_row].astype(np.int64)
    # 4. Holdings: assigned units to the family's org (and cluster), the rest to the holder.
    assigned_per_row = np.bincount(a_row, weights=a_qty, minlength=s.supply_qty.size)
    leftover = np.where(row_ok, s.supply_qty - assigned_per_row.astype(np.int64), 0)
    lrows = np.flatnonzero(leftover > 0)
    cons = [family[a_tgt], s.supply_holder[lrows].astype(np.int64)]
    skus = [s.target_sku[a_tgt], s.supply_sku[lrows]]
    days = [a_day, s.supply_day[lrows]]
    qtys = [a_qty, leftover[lrows]]
    cl = s.target_consumer[a_tgt] >= n_orgs
    cons.append(s.target_consumer[a_tgt][cl])
    skus.append(s.target_sku[a_tgt][cl])
    days.append(a_day[cl])
    qtys.append(a_qty[cl])
    flat = (np.concatenate(cons) * n_sku + np.concatenate(skus)) * n_days + (
        np.concatenate(days) - day0
    )
    inc = np.bincount(flat, weights=np.concatenate(qtys), minlength=n_cons * n_sku * n_days)
    holdings = np.cumsum(np.rint(inc).astype(np.int64).reshape(n_cons, n_sku, n_days), axis=2)
    # 5. Per target: held at by, first day holdings reach qty, days late.
    row = (s.target_consumer * n_sku + s.target_sku).astype(np.int64)
    by_col = np.clip(s.target_by - day0, 0, n_days - 1)
    held = holdings.reshape(-1, n_days)[row, by_col]
    done = _first_reach(holdings.reshape(-1, n_days), row, s.target_qty)
    completed = np.where(done >= 0, done + day0, -1).astype(np.int64)
    late = np.where(completed >= 0, np.maximum(completed - s.target_by, 0), -1).astype(np.int64)
    # 6. The objective: weighted unit-days late, never-delivered units at never_day.
    w = s.target_weight
    unmet = need - np.bincount(a_tgt, weights=a_qty, minlength=need.size).astype(np.int64)
    objective = float(
        np.sum(w[a_tgt] * a_qty * np.maximum(a_day - s.target_by[a_tgt], 0))
        + np.sum(w * unmet * (never_day - s.target_by))
    )
    return Plan(
        policy=policy,
        as_of=s.as_of,
        snapshot=s,
        day0=day0,
        target_need=need,
        target_held_at_by=held.astype(np.int64),
        target_completed_day=completed,
        target_days_late=late,
        assign_row=a_row,
        assign_target=a_tgt,
        assign_qty=a_qty,
        assign_day=a_day,
        holdings=holdings,
        objective=objective,
    )


def _first_reach(curves: IntArray, row: IntArray, qty: IntArray) -> IntArray:
    """First column where ``curves[row]`` reaches ``qty``; 0 if qty <= 0; -1 if never."""
    n_days = curves.shape[1]
    out = np.full(row.size, -1, dtype=np.int64)
    if row.size == 0:
        return out
    uniq, inv = np.unique(row, return_inverse=True)
    sub = curves[uniq]
    span = int(sub[:, -1].max(initial=0)) + 1
    offset = np.arange(uniq.size, dtype=np.int64) * span
    flat = (sub + offset[:, None]).ravel()
    q = np.clip(qty, 0, None)
    reachable = q <= sub[inv, -1]
    pos = np.searchsorted(flat, offset[inv] + q, side="left") - inv * n_days
    out[reachable] = pos[reachable]
    out[q <= 0] = 0
    return out
