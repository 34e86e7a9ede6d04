"""Impact of a change, recovery options, and why a target is late (DESIGN section 5).

Definitions (the choices where DESIGN is not exact are marked *choice*):

- **Before / after.** The baseline plan and the plan of ``change.apply(snapshot)``,
  under the same policy.
- **delay_days** = completed_after - completed_before, in days; None when the target
  no longer completes within the horizon, and also (*choice*) when it did not
  complete before (nothing to measure a delay from).
- **gpu_days_lost** (*choice*): over every day from the earlier ``day0`` to the
  horizon end, ``max(0, min(H_before, qty) - min(H_after, qty))`` summed, where
  ``H`` is the target's consumer's holdings of the target's SKU: the area between
  the two curves, counting only units the target needs, and only losses (a later
  gain does not offset an earlier loss).
- **shortfall** (*choice*): the largest daily gap ``min(H_before, qty) -
  min(H_after, qty)``: units that would restore the baseline on every day. A
  recovery row is given for each target with a shortfall.
- **Recovery.** A replacement order of the shortfall placed on the decision date
  (default: the change's date, else ``as_of``) with the vendor of the lot concerned
  (the diverted or slipped lot, the new order's vendor; for a priority change the
  vendor of the target's last assigned lot) arrives at decision + P50 and + P90 of
  the lead time in force that day. ``payback_lots``: the receiver's future lots
  (EXPECTED / OPEN_ORDER rows of the same SKU held by the receiving org after the
  change, arriving after the decision date), earliest first, as many as cover the
  shortfall (the last one partly). The receiver is the diversion's ``to_org``; for
  other changes, the orgs of targets that gained GPU-days. ``give_way`` (pooled
  policies): lower-priority targets of the same pool and SKU holding pooled units
  that arrive on or before ``max(by, completed_before)``, lowest priority first,
  with as many units as cover the shortfall.
- **Explanation** of a late or incomplete target: the assignments it waited for
  (units arriving after its ``by``; if none, those of its completion day), the
  diversions of the plan's changes that took units of its SKU from its org, and the
  other targets of its group (its pool, or its family under ``consigned``) that
  received units arriving on or before its ``by``, with their relative priority.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuledger.domain import PolicyName
from gpuledger.planning.changes import (
    Change,
    DivertChange,
    NewOrderChange,
    SlipChange,
    change_day,
)
from gpuledger.planning.plan import Plan, plan
from gpuledger.planning.snapshot import IntArray, PlanningSnapshot, SupplyKind

if TYPE_CHECKING:
    import pandas as pd


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def human_count(x: int) -> str:
    """A count for people: 1,234 / 12.3k / 1.4M."""
    if abs(x) < 10_000:
        return f"{x:,}"
    if abs(x) < 1_000_000:
        return f"{x / 1e3:.1f}k"
    return f"{x / 1e6:.1f}M"


@dataclass(frozen=True)
class TargetImpact:
    """One target before and after a change."""

    id: str
    qty: int
    by: date
    completed_before: date | None
    completed_after: date | None
    delay_days: int | None
    held_at_by_before: int
    held_at_by_after: int
    gpu_days_lost: int
    verdict: str

    def as_json(self) -> dict[str, Any]:
        """The CLI contract row (plus ``verdict``)."""
        return {
            "id": self.id,
            "completed_before": _iso(self.completed_before),
            "completed_after": _iso(self.completed_after),
            "delay_days": self.delay_days,
            "held_at_by_before": self.held_at_by_before,
            "held_at_by_after": self.held_at_by_after,
            "gpu_days_lost": self.gpu_days_lost,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Recovery:
    """How a target's shortfall could be made good."""

    target: str
    shortfall: int
    reorder_on: date
    vendor: str | None
    reorder_arrives_p50: date | None
    reorder_arrives_p90: date | None
    payback_lots: tuple[tuple[str, int, date], ...]
    give_way: tuple[tuple[str, int], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The CLI contract row (plus ``vendor`` and ``give_way``)."""
        return {
            "target": self.target,
            "shortfall": self.shortfall,
            "reorder_on": self.reorder_on.isoformat(),
            "vendor": self.vendor,
            "reorder_arrives_p50": _iso(self.reorder_arrives_p50),
            "reorder_arrives_p90": _iso(self.reorder_arrives_p90),
            "payback_lots": [
                {"lot": lot, "qty": q, "arrives_on": d.isoformat()}
                for lot, q, d in self.payback_lots
            ],
            "give_way": [{"target": t, "units": u} for t, u in self.give_way],
        }


@dataclass(frozen=True)
class Waited:
    """Units a target waited for: ``qty`` of supply ``supply`` arriving on ``arrives_on``."""

    supply: str
    qty: int
    arrives_on: date


@dataclass(frozen=True)
class Taker:
    """Who took supply a target could have used.

    ``kind`` is ``diversion`` or ``target``; ``relation`` says how a taking target
    ranks (``higher priority``, ``same priority``, ``lower priority``).
    """

    kind: str
    who: str
    qty: int
    relation: str = ""


@dataclass(frozen=True)
class Explanation:
    """Why a target is late (or not): what it waited for and what took its supply."""

    target: str
    on_time: bool
    days_late: int | None
    waited_for: tuple[Waited, ...] = ()
    taken_by: tuple[Taker, ...] = ()

    def text(self) -> str:
        """One paragraph for people."""
        if self.on_time:
            return f"{self.target} is on time."
        head = (
            f"{self.target} is {self.days_late} days late"
            if self.days_late is not None
            else f"{self.target} does not complete within the horizon"
        )
        parts = [head]
        if self.waited_for:
            w = ", ".join(
                f"{x.qty:,} of {x.supply} on {x.arrives_on.isoformat()}"
                for x in self.waited_for[-3:]
            )
            parts.append(f"it waited for {w}")
        for t in self.taken_by:
            if t.kind == "diversion":
                parts.append(f"{t.who} took {t.qty:,} units")
            else:
                parts.append(
                    f"{t.relation} target {t.who} took {t.qty:,} units arriving by its date"
                )
        return "; ".join(parts) + "."

    def as_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "on_time": self.on_time,
            "days_late": self.days_late,
            "waited_for": [
                {"supply": w.supply, "qty": w.qty, "arrives_on": w.arrives_on.isoformat()}
                for w in self.waited_for
            ],
            "taken_by": [
                {"kind": t.kind, "who": t.who, "qty": t.qty, "relation": t.relation}
                for t in self.taken_by
            ],
            "text": self.text(),
        }


@dataclass(frozen=True)
class Impact:
    """A change's effect on every target, with recovery and explanations."""

    change: Change
    policy: PolicyName
    decision_on: date
    before: Plan
    after: Plan
    targets: tuple[TargetImpact, ...]
    recovery: tuple[Recovery, ...]
    explanations: tuple[Explanation, ...] = field(default=())

    def affected(self) -> tuple[TargetImpact, ...]:
        """Targets whose completion, holdings at ``by`` or GPU-days changed."""
        return tuple(
            t
            for t in self.targets
            if t.completed_before != t.completed_after
            or t.held_at_by_before != t.held_at_by_after
            or t.gpu_days_lost
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI contract: ``{"change", "policy", "targets", "recovery", ...}``."""
        return {
            "change": self.change.describe(),
            "policy": str(self.policy),
            "as_of": self.before.as_of.isoformat(),
            "decision_on": self.decision_on.isoformat(),
            "targets": [t.as_json() for t in self.targets],
            "recovery": [r.as_json() for r in self.recovery],
            "explanations": [e.as_json() for e in self.explanations],
        }

    def to_frame(self) -> pd.DataFrame:
        """Per-target rows as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([t.as_json() for t in self.targets])


def _aligned_curves(p: Plan, start: int, rows: IntArray) -> IntArray:
    """Holdings rows ``(consumer*n_sku + sku)`` on days ``start`` .. horizon end."""
    curves = p.holdings.reshape(-1, p.n_days)[rows]
    pad = p.day0 - start
    if pad > 0:
        curves = np.concatenate([np.zeros((rows.size, pad), dtype=np.int64), curves], axis=1)
    return curves


def impact(
    snapshot: PlanningSnapshot,
    change: Change,
    policy: PolicyName = PolicyName.PRIORITY,
    *,
    decision_day: date | None = None,
) -> Impact:
    """Compare the plan before and after ``change`` under ``policy``.

    Never mutates ``snapshot``. See the module docstring for every definition.

    Raises:
        UnknownRecord, InsufficientUnits, GpuledgerError: the change cannot apply.
    """
    policy = PolicyName(policy)
    # 1. Both plans.
    changed = change.apply(snapshot)
    before = plan(snapshot, policy)
    after = plan(changed, policy)
    after = replace(after, changes=(*before.changes, change))
    decision = decision_day or change_day(change, snapshot)
    s = snapshot
    n_sku = len(s.skus)
    # 2. Curves on a common day axis, capped at each target's quantity.
    start = min(before.day0, after.day0)
    rows = (s.target_consumer * n_sku + s.target_sku).astype(np.int64)
    qty = s.target_qty[:, None]
    hb = np.minimum(_aligned_curves(before, start, rows), qty)
    ha = np.minimum(_aligned_curves(after, start, rows), qty)
    gap = hb - ha
    lost = np.clip(gap, 0, None).sum(axis=1)
    shortfall = np.clip(gap.max(axis=1, initial=0), 0, None)
    gained = np.clip(-gap, 0, None).sum(axis=1)
    # 3. Per target rows.
    out: list[TargetImpact] = []
    for i, tid in enumerate(s.target_id):
        cb, ca = before.completed_on(i), after.completed_on(i)
        delay = (ca - cb).days if (cb and ca) else None
        out.append(
            TargetImpact(
                id=tid,
                qty=int(s.target_qty[i]),
                by=date.fromordinal(int(s.target_by[i])),
                completed_before=cb,
                completed_after=ca,
                delay_days=delay,
                held_at_by_before=int(before.target_held_at_by[i]),
                held_at_by_after=int(after.target_held_at_by[i]),
                gpu_days_lost=int(lost[i]),
                verdict=_verdict(
                    tid,
                    int(s.target_qty[i]),
                    int(s.target_by[i]),
                    cb,
                    ca,
                    int(lost[i]),
                    s.horizon_end,
                ),
            )
        )
    # 4. Recovery and explanations for each target with a shortfall.
    receivers = _receivers(change, s, gained)
    recovery: list[Recovery] = []
    explanations: list[Explanation] = []
    for i in np.flatnonzero(shortfall > 0).tolist():
        recovery.append(
            _recovery(i, int(shortfall[i]), decision, change, before, after, changed, receivers)
        )
        why = explain(after, s.target_id[i])
        if not why.on_time:
            explanations.append(why)
    return Impact(
        change=change,
        policy=policy,
        decision_on=decision,
        before=before,
        after=after,
        targets=tuple(out),
        recovery=tuple(recovery),
        explanations=tuple(explanations),
    )


def _verdict(
    tid: str, qty: int, by: int, cb: date | None, ca: date | None, lost: int, horizon: date
) -> str:
    head = f"{tid} ({qty:,} by {date.fromordinal(by).isoformat()})"
    never = f"not complete by the horizon ({horizon.isoformat()})"
    lost_s = f"; {human_count(lost)} GPU-days lost" if lost else ""
    if cb == ca:
        state = f"complete {cb.isoformat()}" if cb else never
        return f"{head}: unchanged, {state}{lost_s}"
    if cb and ca:
        delta = (ca - cb).days
        return f"{head}: complete {cb.isoformat()} -> {ca.isoformat()}, {delta:+d} days{lost_s}"
    if cb:
        return f"{head}: complete {cb.isoformat()} -> {never}{lost_s}"
    return f"{head}: {never} -> complete {ca.isoformat() if ca else '?'}{lost_s}"


def _receivers(change: Change, s: PlanningSnapshot, gained: IntArray) -> set[int]:
    if isinstance(change, DivertChange):
        return {s.orgs.index(change.to_org)}
    fam = s.consumer_org[s.target_consumer]
    return {int(fam[i]) for i in np.flatnonzero(gained > 0)}


def _vendor(change: Change, s: PlanningSnapshot, before: Plan, i: int) -> int | None:
    lot = change.lot if isinstance(change, (DivertChange, SlipChange)) else None
    if lot is not None and lot in s.supply_id:
        return int(s.supply_vendor[s.supply_id.index(lot)])
    if isinstance(change, NewOrderChange) and change.vendor in s.vendors:
        return s.vendors.index(change.vendor)
    mine = np.flatnonzero(before.assign_target == i)
    if mine.size:
        last = mine[np.argmax(before.assign_day[mine])]
        return int(s.supply_vendor[before.assign_row[last]])
    rows = np.flatnonzero(s.supply_sku == s.target_sku[i])
    return int(s.supply_vendor[rows[0]]) if rows.size else None


def _recovery(
    i: int,
    shortfall: int,
    decision: date,
    change: Change,
    before: Plan,
    after: Plan,
    changed: PlanningSnapshot,
    receivers: set[int],
) -> Recovery:
    s = before.snapshot
    sku = int(s.target_sku[i])
    family = int(s.consumer_org[s.target_consumer[i]])
    # 1. A replacement order on the decision date.
    v = _vendor(change, s, before, i)
    lt = s.lead_time(v, sku, decision.toordinal()) if v is not None else None
    p50 = decision + timedelta(days=lt[0]) if lt else None
    p90 = decision + timedelta(days=lt[1]) if lt else None
    # 2. The receiver's future lots, earliest first, enough to cover the shortfall.
    c = changed
    mask = (
        np.isin(c.supply_holder, sorted(receivers - {family}))
        & (c.supply_sku == sku)
        & np.isin(c.supply_kind, [SupplyKind.EXPECTED, SupplyKind.OPEN_ORDER])
        & (c.supply_day > decision.toordinal())
        & (c.supply_qty > 0)
    )
    rows = np.flatnonzero(mask)
    rows = rows[np.lexsort((rows, c.supply_day[rows]))]
    payback: list[tuple[str, int, date]] = []
    left = shortfall
    for r in rows.tolist():
        if left <= 0:
            break
        q = min(left, int(c.supply_qty[r]))
        payback.append((c.supply_id[r], q, date.fromordinal(int(c.supply_day[r]))))
        left -= q
    # 3. Under pooled policies, lower-priority targets of the pool that could give way.
    give: list[tuple[str, int]] = []
    if after.policy is not PolicyName.CONSIGNED:
        give = _give_way(i, shortfall, before, after)
    return Recovery(
        target=s.target_id[i],
        shortfall=shortfall,
        reorder_on=decision,
        vendor=s.vendors[v] if v is not None else None,
        reorder_arrives_p50=p50,
        reorder_arrives_p90=p90,
        payback_lots=tuple(payback),
        give_way=tuple(give),
    )


def _give_way(i: int, shortfall: int, before: Plan, after: Plan) -> list[tuple[str, int]]:
    s = after.snapshot
    pool = s.org_pool[s.consumer_org[s.target_consumer]]
    cutoff = int(s.target_by[i])
    if before.target_completed_day[i] >= 0:
        cutoff = max(cutoff, int(before.target_completed_day[i]))
    t = after.assign_target
    r = after.assign_row
    pick = (
        (pool[t] == pool[i])
        & (s.target_sku[t] == s.target_sku[i])
        & (s.target_priority[t] > s.target_priority[i])
        & (s.supply_kind[r] != SupplyKind.ARRIVED)
        & (after.assign_day <= cutoff)
    )
    units = np.bincount(t[pick], weights=after.assign_qty[pick], minlength=len(s.target_id))
    who = np.flatnonzero(units > 0)
    who = who[np.lexsort((-s.target_by[who], -s.target_priority[who]))]
    out: list[tuple[str, int]] = []
    left = shortfall
    for k in who.tolist():
        if left <= 0:
            break
        q = min(left, int(units[k]))
        out.append((s.target_id[k], q))
        left -= q
    return out


def explain(p: Plan, target_id: str) -> Explanation:
    """Why ``target_id`` is late in plan ``p``: what it waited for and what took its supply.

    An on-time target gets an explanation with ``on_time=True`` and nothing else.

    Raises:
        UnknownRecord: the target is not in the plan.
    """
    s = p.snapshot
    i = p.target_index(target_id)
    done = int(p.target_completed_day[i])
    by = int(s.target_by[i])
    if done >= 0 and done <= by:
        return Explanation(target_id, True, 0)
    days_late = int(p.target_days_late[i]) if done >= 0 else None
    # 1. What it waited for: its units arriving after its date (else its last day's).
    mine = np.flatnonzero(p.assign_target == i)
    late = mine[p.assign_day[mine] > by]
    if late.size == 0 and done >= 0:
        late = mine[p.assign_day[mine] == done]
    late = late[np.argsort(p.assign_day[late], kind="stable")]
    waited = tuple(
        Waited(
            s.supply_id[int(p.assign_row[k])],
            int(p.assign_qty[k]),
            date.fromordinal(int(p.assign_day[k])),
        )
        for k in late
    )
    # 2. Diversions among the plan's changes that took units of its SKU from its org.
    family = int(s.consumer_org[s.target_consumer[i]])
    sku = int(s.target_sku[i])
    takers: list[Taker] = []
    for ch in p.changes:
        if isinstance(ch, DivertChange) and ch.from_org == s.orgs[family]:
            rows = [k for k, x in enumerate(s.supply_id) if x == ch.lot]
            if rows and int(s.supply_sku[rows[0]]) == sku:
                takers.append(Taker("diversion", ch.describe(), ch.qty))
    # 3. Other targets of its group that received units arriving by its date.
    t, r = p.assign_target, p.assign_row
    fam_t = s.consumer_org[s.target_consumer[t]]
    if p.policy is PolicyName.CONSIGNED:
        same = fam_t == family
    else:
        same = s.org_pool[fam_t] == s.org_pool[family]
    pick = same & (s.target_sku[t] == sku) & (t != i) & (p.assign_day <= by)
    if p.policy is not PolicyName.CONSIGNED:
        # units of another family's own (arrived) stock were never this target's to take
        pick &= (s.supply_kind[r] != SupplyKind.ARRIVED) | (s.supply_holder[r] == family)
    units = np.bincount(t[pick], weights=p.assign_qty[pick], minlength=len(s.target_id))
    prio = int(s.target_priority[i])
    for k in np.flatnonzero(units > 0).tolist():
        pk = int(s.target_priority[k])
        rel = (
            "higher priority"
            if pk < prio
            else ("same priority" if pk == prio else "lower priority")
        )
        takers.append(Taker("target", s.target_id[k], int(units[k]), rel))
    order = {"higher priority": 0, "same priority": 1, "lower priority": 2, "": -1}
    takers.sort(key=lambda x: (order[x.relation], -x.qty, x.who))
    return Explanation(target_id, False, days_late, waited, tuple(takers))


def impact_of_posted(
    books: PlanningSnapshot,
    diversion: DivertChange,
    policy: PolicyName = PolicyName.PRIORITY,
    *,
    decision_day: date | None = None,
) -> Impact:
    """Impact of a diversion already in the books: the counterfactual is the baseline.

    ``books`` already reflects the diversion; the baseline is ``books`` with
    ``diversion.inverse()`` applied, and the change is the diversion itself, so
    ``before`` is "had it not happened" and ``after`` is the books as they stand.

    Raises:
        UnknownRecord, InsufficientUnits: the books do not hold the diverted units
            where the diversion says (e.g. the wrong lot or receiver).
    """
    return impact(diversion.inverse().apply(books), diversion, policy, decision_day=decision_day)
