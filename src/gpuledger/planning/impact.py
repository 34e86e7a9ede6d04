"""What a change costs: before and after plans compared, per org and per target.

Definitions (DESIGN section 5; written once, here and in docs/planning.md):

- **Before / after.** Both plans are made under the same policy and keep the
  baseline plan on every day before the change's date ``on``
  (:func:`~gpuledger.planning.keep_past.plan_from`): a change never alters the
  past. ``before`` is the plan without the change, ``after`` with it.
- **Window.** From the change's date to ``window_end`` (default: the latest due
  date of any target, never before the change's date, never after the horizon),
  both ends included. It is part of the result.
- **Org level (the headline).** Per org (its clusters included) and SKU:
  ``gpu_days_lost`` = the sum over the window's days of ``max(0, held before -
  held after)``; ``gpu_days_gained`` the same with the sides swapped. One GPU held
  one day less is one GPU-day, however many targets it counts for.
  ``powered_gpu_days_lost`` / ``_gained``: the same area counting only units that
  could have been powered (:mod:`gpuledger.planning.power`): a diversion from an
  org whose sites were full costs it GPU-days held but no powered GPU-days.
- **Per target.** ``completed_before`` / ``completed_after`` (see
  :mod:`gpuledger.planning.plan`); ``delay_days`` = after - before when both
  complete; ``delay`` says it in words: ``+N days``, ``-N days``, ``now completes``,
  ``no longer completes``, ``unchanged`` (nothing about the target changed), or,
  when the completion date did not move but something did, ``same date`` /
  ``still incomplete``. ``held_at_by_before`` / ``_after``: units its consumer
  holds on its due date; ``short_at_by_before`` / ``_after``: units short of
  ``qty`` on that date.
- **Per-target GPU-days** (``gpu_days_lost``): the part of its org's loss that
  falls in the target's *band*, the units it adds to its org in fill order (its
  need, :mod:`gpuledger.planning.order`, on the family's line of units). Bands of
  one org never overlap, so the targets of an org never sum to more than the org's
  ``gpu_days_lost`` over the same window. ``powered_gpu_days_lost``: the same on
  the powered curves; ``powered_at_by_before`` / ``_after`` the powered units on
  the due date.
- **Recovery** (:mod:`gpuledger.planning.recovery`) for each target the change
  harms: ``shortfall`` = ``min(qty, held before) - min(qty, held after)`` on
  ``needed_on`` = its due date, or its completion date before the change when
  that is later. A target with no delay and no shortfall is never listed.
- **Explanation** (:mod:`gpuledger.planning.explain`) of each harmed target that is
  late after the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuledger.domain import PolicyName
from gpuledger.domain.serialize import NOT_JSON, jsonable
from gpuledger.planning._format import delay_label, verdict
from gpuledger.planning.changes import Change, DivertChange, change_day
from gpuledger.planning.explain import Explanation, explain
from gpuledger.planning.keep_past import plan_from
from gpuledger.planning.order import serving_order
from gpuledger.planning.plan import Plan, PooledMove, plan
from gpuledger.planning.recovery import Recovery, recovery_for
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Impact",
    "OrgImpact",
    "TargetImpact",
    "affected_targets",
    "baseline_plans",
    "impact",
    "impact_of_posted",
]


@dataclass(frozen=True)
class OrgImpact:
    """The headline: GPU-days an org (its clusters included) held less, or more, in the window.

    ``gpu_days_*`` count units held; ``powered_gpu_days_*`` only units its sites
    could have powered (equal when no site states a capacity).
    """

    org: str
    sku: str
    gpu_days_lost: int
    gpu_days_gained: int
    powered_gpu_days_lost: int
    powered_gpu_days_gained: int
    held_at_window_end_before: int
    held_at_window_end_after: int
    powered_at_window_end_before: int
    powered_at_window_end_after: int


@dataclass(frozen=True)
class TargetImpact:
    """One target before and after a change (every field defined in the module docstring)."""

    id: str
    consumer: str
    sku: str
    qty: int
    by: date
    completed_before: date | None
    completed_after: date | None
    delay_days: int | None
    delay: str
    held_at_by_before: int
    held_at_by_after: int
    powered_at_by_before: int
    powered_at_by_after: int
    short_at_by_before: int
    short_at_by_after: int
    gpu_days_lost: int
    powered_gpu_days_lost: int
    verdict: str

    @property
    def changed(self) -> bool:
        """Whether anything about the target changed."""
        return self.delay != "unchanged"

    def as_json(self) -> dict[str, Any]:
        """The JSON row (kept for callers of the former API)."""
        out: dict[str, Any] = jsonable(self)
        return out


@dataclass(frozen=True)
class Impact:
    """A change's effect on every org and target, with recovery and explanations.

    The JSON contract is every field but ``change_record``, ``before`` and ``after``.
    ``pools_supply`` says the policy pooled supply; ``moved_before`` /
    ``moved_after`` name what the pool moved between orgs in each plan.
    """

    change: str
    policy: PolicyName
    as_of: date
    decision_on: date
    change_on: date
    window_start: date
    window_end: date
    orgs: tuple[OrgImpact, ...]
    targets: tuple[TargetImpact, ...]
    recovery: tuple[Recovery, ...]
    explanations: tuple[Explanation, ...]
    pools_supply: bool
    moved_before: tuple[PooledMove, ...]
    moved_after: tuple[PooledMove, ...]
    change_record: Change = field(metadata=NOT_JSON)
    before: Plan = field(metadata=NOT_JSON)
    after: Plan = field(metadata=NOT_JSON)

    def affected(self) -> tuple[TargetImpact, ...]:
        """Targets of which anything changed (completion, holdings on ``by``, GPU-days)."""
        return tuple(t for t in self.targets if t.changed)

    def org(self, org: str, sku: str | None = None) -> OrgImpact | None:
        """The org-level row of ``org`` (and ``sku`` when it holds several); None if unchanged."""
        rows = [o for o in self.orgs if o.org == org and (sku is None or o.sku == sku)]
        return rows[0] if len(rows) == 1 else None

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract (:func:`~gpuledger.domain.serialize.jsonable` of the impact)."""
        out: dict[str, Any] = jsonable(self)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Per-target rows as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([vars(t) for t in self.targets])


def affected_targets(*impacts: Impact) -> tuple[str, ...]:
    """Ids of targets affected in any of ``impacts``, in snapshot order.

    Tables that show several impacts of one diversion (with and without its
    payback) list the same targets in each, so none disappears from one of them.
    """
    hit = {t.id for imp in impacts for t in imp.affected()}
    seen = [t.id for imp in impacts for t in imp.targets]
    return tuple(dict.fromkeys(t for t in seen if t in hit))


def impact(
    snapshot: PlanningSnapshot,
    change: Change,
    policy: PolicyName | str = PolicyName.PRIORITY,
    *,
    decision_day: date | None = None,
    window_end: date | None = None,
    baseline: tuple[Plan, Plan] | None = None,
) -> Impact:
    """Compare the plans before and after ``change`` under ``policy``.

    Never mutates ``snapshot``. See the module docstring for every definition.

    Args:
        decision_day: the day a replacement order would be placed (default: the
            change's date).
        window_end: last day of the GPU-day window (default: the latest due date).
        baseline: ``baseline_plans(snapshot, policy, change_day(change, snapshot.as_of))``
            when the caller keeps it (it is the same for every change of that day).

    Raises:
        UnknownRecord, InsufficientUnits, GpuledgerError: the change cannot apply.
    """
    # 1. Both plans, keeping the baseline before the change's date.
    on = change_day(change, snapshot.as_of)
    full, before = baseline_plans(snapshot, policy, on) if baseline is None else baseline
    after = plan_from(full, change.apply(snapshot), on)
    after = _with_change(after, change)
    s = snapshot
    start, end = _window(s, on, window_end)
    # 2. The org level, then each target.
    orgs = tuple(_org_rows(before, after, start, end))
    lost = _band_losses(before, after, start, end, powered=False)
    lost_powered = _band_losses(before, after, start, end, powered=True)
    targets = tuple(_target_rows(before, after, lost, lost_powered))
    # 3. Recovery and explanations for each target the change harms.
    decision = decision_day or on
    receivers = _receivers(change, s, targets, orgs)
    recovery: list[Recovery] = []
    explanations: list[Explanation] = []
    for i, units, needed in _harmed(before, after):
        recovery.append(recovery_for(i, units, needed, decision, change, before, after, receivers))
        why = explain(after, s.target_id[i])
        if not why.on_time:
            explanations.append(why)
    return Impact(
        change=change.describe(),
        policy=before.policy,
        as_of=s.as_of,
        decision_on=decision,
        change_on=on,
        window_start=start,
        window_end=end,
        orgs=orgs,
        targets=targets,
        recovery=tuple(recovery),
        explanations=tuple(explanations),
        pools_supply=before.pools_supply,
        moved_before=before.moved_between_orgs,
        moved_after=after.moved_between_orgs,
        change_record=change,
        before=before,
        after=after,
    )


def baseline_plans(
    snapshot: PlanningSnapshot, policy: PolicyName | str, on: date
) -> tuple[Plan, Plan]:
    """The plan of ``snapshot`` under ``policy``, and the plan that keeps it before ``on``.

    What :func:`impact` compares every change of the day ``on`` against.
    """
    full = plan(snapshot, policy)
    return full, plan_from(full, snapshot, on)


def _with_change(p: Plan, change: Change) -> Plan:
    return replace(p, changes=(*p.changes, change))


def _window(s: PlanningSnapshot, on: date, end: date | None) -> tuple[date, date]:
    """The GPU-day window: the change's date to ``end`` (default: the latest due date)."""
    latest = date.fromordinal(int(s.target_by.max())) if s.target_by.size else on
    return on, max(min(end or latest, s.horizon_end), on)


def _curves_on(p: Plan, rows: IntArray, start: int, end: int, *, powered: bool = False) -> IntArray:
    """Holdings rows ``consumer * n_sku + sku`` on days ``start`` .. ``end`` (inclusive);
    the powered units when ``powered``."""
    days = np.arange(start, end + 1)
    col = np.clip(days - p.day0, 0, p.n_days - 1)
    source = p.powered if powered else p.holdings
    curves = source.reshape(-1, p.n_days)[rows][:, col]
    return np.where(days[None, :] < p.day0, 0, curves)


def _org_rows(before: Plan, after: Plan, start: date, end: date) -> Iterator[OrgImpact]:
    s = before.snapshot
    n_orgs, n_sku = len(s.orgs), len(s.skus)
    rows = np.arange(n_orgs * n_sku, dtype=np.int64)
    a, b = start.toordinal(), end.toordinal()
    hb, ha = _curves_on(before, rows, a, b), _curves_on(after, rows, a, b)
    pb, pa = (_curves_on(x, rows, a, b, powered=True) for x in (before, after))
    lost = np.clip(hb - ha, 0, None).sum(axis=1)
    gained = np.clip(ha - hb, 0, None).sum(axis=1)
    p_lost = np.clip(pb - pa, 0, None).sum(axis=1)
    p_gained = np.clip(pa - pb, 0, None).sum(axis=1)
    if s.power_cap is None:  # no site states a capacity: the two measures agree
        assert np.array_equal(p_lost, lost) and np.array_equal(p_gained, gained)
    moved = (lost > 0) | (gained > 0) | (p_lost > 0) | (p_gained > 0)
    for r in np.flatnonzero(moved).tolist():
        yield OrgImpact(
            org=s.orgs[r // n_sku],
            sku=s.skus[r % n_sku],
            gpu_days_lost=int(lost[r]),
            gpu_days_gained=int(gained[r]),
            powered_gpu_days_lost=int(p_lost[r]),
            powered_gpu_days_gained=int(p_gained[r]),
            held_at_window_end_before=int(hb[r, -1]),
            held_at_window_end_after=int(ha[r, -1]),
            powered_at_window_end_before=int(pb[r, -1]),
            powered_at_window_end_after=int(pa[r, -1]),
        )


def _band_losses(before: Plan, after: Plan, start: date, end: date, *, powered: bool) -> IntArray:
    """Per target, its org's GPU-days lost within the target's band of units
    (held, or on the powered curves when ``powered``)."""
    s = before.snapshot
    n_sku = len(s.skus)
    family = s.consumer_org[s.target_consumer]
    served = serving_order(s)
    need = served.need
    order = np.lexsort((served.rank, s.target_sku, family))
    low = np.zeros(len(s.target_id), dtype=np.int64)
    below: dict[tuple[int, int], int] = {}
    for i in order.tolist():
        key = (int(family[i]), int(s.target_sku[i]))
        low[i] = below.get(key, 0)
        below[key] = low[i] + int(need[i])
    rows = (family * n_sku + s.target_sku).astype(np.int64)
    hb = _curves_on(before, rows, start.toordinal(), end.toordinal(), powered=powered)
    ha = _curves_on(after, rows, start.toordinal(), end.toordinal(), powered=powered)
    band_b = np.clip(hb - low[:, None], 0, need[:, None])
    band_a = np.clip(ha - low[:, None], 0, need[:, None])
    lost: IntArray = np.clip(band_b - band_a, 0, None).sum(axis=1).astype(np.int64)
    return lost


def _target_rows(
    before: Plan, after: Plan, lost: IntArray, lost_powered: IntArray
) -> Iterator[TargetImpact]:
    s = before.snapshot
    for i, (b, a) in enumerate(zip(before.targets, after.targets, strict=True)):
        cb, ca = b.completed_on, a.completed_on
        moved = b.held_at_by != a.held_at_by or int(lost[i]) > 0 or int(lost_powered[i]) > 0
        label = delay_label(cb, ca, moved or b.powered_at_by != a.powered_at_by)
        short_b, short_a = max(0, b.qty - b.held_at_by), max(0, a.qty - a.held_at_by)
        yield TargetImpact(
            id=b.id,
            consumer=b.consumer,
            sku=b.sku,
            qty=b.qty,
            by=b.by,
            completed_before=cb,
            completed_after=ca,
            delay_days=(ca - cb).days if (cb and ca) else None,
            delay=label,
            held_at_by_before=b.held_at_by,
            held_at_by_after=a.held_at_by,
            powered_at_by_before=b.powered_at_by,
            powered_at_by_after=a.powered_at_by,
            short_at_by_before=short_b,
            short_at_by_after=short_a,
            gpu_days_lost=int(lost[i]),
            powered_gpu_days_lost=int(lost_powered[i]),
            verdict=verdict(b.id, b.qty, b.by, cb, ca, label, short_a, s.horizon_end),
        )


def _harmed(before: Plan, after: Plan) -> Iterator[tuple[int, int, date]]:
    """Targets the change harms: (row, units to give back, by when), in snapshot order."""
    s = before.snapshot
    for i in range(len(s.target_id)):
        by = int(s.target_by[i])
        done = int(before.target_completed_day[i])
        needed = max(by, done) if done >= 0 else by
        c, k, q = int(s.target_consumer[i]), int(s.target_sku[i]), int(s.target_qty[i])
        units = min(q, before.holdings_on(c, k, needed)) - min(q, after.holdings_on(c, k, needed))
        if units > 0:
            yield i, units, date.fromordinal(needed)


def _receivers(
    change: Change,
    s: PlanningSnapshot,
    targets: tuple[TargetImpact, ...],
    orgs: tuple[OrgImpact, ...],
) -> set[int]:
    """Orgs that could pay units back: a diversion's receiver, else the orgs that gained."""
    if isinstance(change, DivertChange):
        return {s.orgs.index(change.to_org)}
    return {s.orgs.index(o.org) for o in orgs if o.gpu_days_gained > 0}


def impact_of_posted(
    books: PlanningSnapshot,
    diversion: DivertChange,
    policy: PolicyName | str = PolicyName.PRIORITY,
    *,
    decision_day: date | None = None,
    window_end: date | None = None,
) -> Impact:
    """Impact of a diversion already in the books: the counterfactual is the baseline.

    ``books`` already reflects the diversion; the baseline is ``books`` with
    ``diversion.inverse()`` applied, and the change is the diversion itself, so
    ``before`` is "had it not happened" and ``after`` is the books as they stand.

    Raises:
        UnknownRecord, InsufficientUnits: the books do not hold the diverted units
            where the diversion says (e.g. the wrong lot or receiver).
    """
    return impact(
        diversion.inverse().apply(books),
        diversion,
        policy,
        decision_day=decision_day,
        window_end=window_end,
    )
