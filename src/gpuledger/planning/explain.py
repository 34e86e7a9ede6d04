"""Why a target is late: what it waited for and what took the supply it could have used.

An explanation of a late or incomplete target in a plan lists:

1. the assignments it waited for: its units arriving after its ``by`` (if none,
   those of its completion day);
2. the diversions among the plan's changes that took units of its SKU from its org
   (an impact's ``after`` plan carries its change);
3. the other targets of its group that received units arriving on or before its
   ``by``, with their relative priority. The group is its pool when the policy
   pools supply, else its family; another family's arrived stock never counts
   (it was never the target's to take).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

from gpuledger.domain.serialize import jsonable
from gpuledger.planning.changes import DivertChange
from gpuledger.planning.plan import Plan
from gpuledger.planning.policies import get_policy
from gpuledger.planning.snapshot import IntArray, SupplyKind

__all__ = ["Explanation", "Taker", "Waited", "explain"]

Relation = Literal["higher priority", "same priority", "lower priority", ""]


@dataclass(frozen=True)
class Waited:
    """Units a target waited for: ``qty`` of supply ``supply`` arriving on ``arrives_on``."""

    supply: str
    qty: int
    arrives_on: date


@dataclass(frozen=True)
class Taker:
    """Who took supply a target could have used.

    ``kind`` is ``diversion`` (``who`` describes it) or ``target`` (``who`` is its
    id, ``relation`` how it ranks against the late target).
    """

    kind: Literal["diversion", "target"]
    who: str
    qty: int
    relation: Relation = ""


@dataclass(frozen=True)
class Explanation:
    """Why a target is late (or that it is not); ``text`` says it in one paragraph."""

    target: str
    on_time: bool
    days_late: int | None
    waited_for: tuple[Waited, ...] = ()
    taken_by: tuple[Taker, ...] = ()
    text: str = field(default="")

    def __post_init__(self) -> None:
        if not self.text:
            object.__setattr__(self, "text", _describe(self))

    def to_json(self) -> dict[str, Any]:
        """JSON form (:func:`~gpuledger.domain.serialize.jsonable`)."""
        out: dict[str, Any] = jsonable(self)
        return out


def _describe(e: Explanation) -> str:
    if e.on_time:
        return f"{e.target} is on time."
    head = (
        f"{e.target} is {e.days_late} days late"
        if e.days_late is not None
        else f"{e.target} does not complete within the horizon"
    )
    parts = [head]
    if e.waited_for:
        w = ", ".join(
            f"{x.qty:,} of {x.supply} on {x.arrives_on.isoformat()}" for x in e.waited_for[-3:]
        )
        parts.append(f"it waited for {w}")
    for t in e.taken_by:
        if t.kind == "diversion":
            parts.append(f"{t.who} took {t.qty:,} units")
        else:
            parts.append(f"{t.relation} target {t.who} took {t.qty:,} units arriving by its date")
    return "; ".join(parts) + "."


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
    takers = _diversions(p, i) + _targets_served(p, i)
    return Explanation(target_id, False, days_late, waited, takers)


def _diversions(p: Plan, i: int) -> tuple[Taker, ...]:
    """The plan's diversions that took units of target ``i``'s SKU from its org."""
    s = p.snapshot
    org = s.orgs[int(s.consumer_org[s.target_consumer[i]])]
    sku = int(s.target_sku[i])
    out = []
    for ch in p.changes:
        if isinstance(ch, DivertChange) and ch.from_org == org:
            rows = [k for k, x in enumerate(s.supply_id) if x == ch.lot]
            if rows and int(s.supply_sku[rows[0]]) == sku:
                out.append(Taker("diversion", ch.describe(), ch.qty))
    return tuple(out)


def _targets_served(p: Plan, i: int) -> tuple[Taker, ...]:
    """Other targets of ``i``'s group that hold units arriving by its date (net of releases)."""
    s = p.snapshot
    family = int(s.consumer_org[s.target_consumer[i]])
    pooled = get_policy(p.policy).pools_supply
    by = int(s.target_by[i])

    def units(row: IntArray, target: IntArray, qty: IntArray, day: IntArray) -> IntArray:
        fam_t = s.consumer_org[s.target_consumer[target]]
        same = s.org_pool[fam_t] == s.org_pool[family] if pooled else fam_t == family
        pick = same & (s.target_sku[target] == s.target_sku[i]) & (target != i) & (day <= by)
        if pooled:
            # units of another family's own (arrived) stock were never this target's to take
            pick &= (s.supply_kind[row] != SupplyKind.ARRIVED) | (s.supply_holder[row] == family)
        n = len(s.target_id)
        out: IntArray = np.bincount(target[pick], weights=qty[pick], minlength=n).astype(np.int64)
        return out

    r = p.released
    held = r.target >= 0
    got = units(p.assign_row, p.assign_target, p.assign_qty, p.assign_day) - units(
        r.row[held], r.target[held], r.qty[held], s.supply_day[r.row[held]]
    )
    prio = int(s.target_priority[i])
    out = []
    for k in np.flatnonzero(got > 0).tolist():
        pk = int(s.target_priority[k])
        rel: Relation = (
            "higher priority"
            if pk < prio
            else ("same priority" if pk == prio else "lower priority")
        )
        out.append(Taker("target", s.target_id[k], int(got[k]), rel))
    rank = {"higher priority": 0, "same priority": 1, "lower priority": 2, "": 3}
    out.sort(key=lambda x: (rank[x.relation], -x.qty, x.who))
    return tuple(out)
