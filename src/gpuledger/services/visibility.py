"""Who sees what of the books, and the results cut down to it: one rule for every interface.

A reader sees the orgs where they hold a role (``governance.rules.Access``),
their clusters, and what touches them:

- an account ``org:O/...`` when they see O; ``cluster:C/...`` when they see C's
  org; a vendor's ``world`` account only when they see every org of the books
  (it sums over all of them);
- a target (plan, impact, forecast) whose consumer is a visible org or cluster;
  an impact's org rows and pooled moves of visible orgs; a claim of a visible
  org; a lot whose consignee they see;
- a diversion when they see either side; an audit event when they see an org
  it names, a diversion naming both its sides (an event naming no org, e.g. a
  SKU, to everyone).

The holder of the database (the command line) sees everything:
:meth:`Visibility.everything`. Anything a reader may not see answers
:class:`~gpuledger.domain.UnknownRecord`, as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gpuledger.domain import (
    Balance,
    Diversion,
    OwnerKind,
    PermissionDenied,
    Scenario,
    UnknownRecord,
)
from gpuledger.services.kept import Kept

if TYPE_CHECKING:
    from gpuledger.claims import ClaimCheck
    from gpuledger.forecast import Forecast
    from gpuledger.governance.rules import Access
    from gpuledger.planning import Impact, Plan, PlanningSnapshot
    from gpuledger.planning.changes import Change


def consumer_orgs(scenario: Scenario) -> dict[str, str]:
    """Each consumer of the books (an org or a cluster) -> its org: the one cluster-to-org map."""
    out = {o.id: o.id for o in scenario.orgs}
    out.update({c.id: c.org for c in scenario.clusters})
    return out


@dataclass(frozen=True)
class _Books:
    """What every reader of one reading of the books shares, read-only."""

    orgs: frozenset[str]
    consumer_org: Mapping[str, str]
    diversion_orgs: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, scenario: Scenario) -> _Books:
        """Worked out once per reading: every request asks, and each is O(books)."""
        return _READINGS.get((scenario,), None, lambda: cls.work_out(scenario))

    @classmethod
    def work_out(cls, scenario: Scenario) -> _Books:
        orgs = frozenset(o.id for o in scenario.orgs)
        consumers, sides = consumer_orgs(scenario), diversion_sides(scenario)
        return cls(orgs, MappingProxyType(consumers), MappingProxyType(sides))


#: The readings asked for last: ``Ledger`` hands out one scenario object per chain head,
#: and after a write the older one is asked for only by requests already under way. Each
#: entry holds its scenario alive (at world size, tens of MB): two are enough.
_READINGS = Kept(2)


@dataclass(frozen=True)
class Visibility:
    """What one reader sees of one reading of the books."""

    orgs: frozenset[str]  # the visible orgs
    every_org: bool  # sees every org of the books (so also the vendors' accounts)
    consumer_org: Mapping[str, str]  # consumer_orgs() of the books
    #: each diversion's two sides (an approval event names only the diversion)
    diversion_orgs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, access: Access, scenario: Scenario) -> Visibility:
        """What ``access`` sees of the books ``scenario`` describes."""
        books = _Books.of(scenario)
        seen = frozenset(access.visible_orgs())
        return cls(seen, books.orgs <= seen, books.consumer_org, books.diversion_orgs)

    @classmethod
    def everything(cls, scenario: Scenario) -> Visibility:
        """The holder of the books: every org, every account."""
        books = _Books.of(scenario)
        return cls(books.orgs, True, books.consumer_org, books.diversion_orgs)

    # ------------------------------------------------------------------ one record

    def sees_org(self, org: str) -> bool:
        """True for a visible org."""
        return org in self.orgs

    def sees_consumer(self, consumer: str) -> bool:
        """True for a visible org or a cluster of one."""
        return self.consumer_org.get(consumer, consumer) in self.orgs

    @property
    def consumers(self) -> frozenset[str]:
        """Visible orgs and their clusters."""
        return frozenset(c for c, o in self.consumer_org.items() if o in self.orgs) | self.orgs

    def sees_owner(self, owner: str) -> bool:
        """True for an account owner (``org:O``, ``cluster:C``, ``vendor:V``) the reader sees."""
        kind, _, ident = owner.partition(":")
        if kind == OwnerKind.ORG:
            return ident in self.orgs
        if kind == OwnerKind.CLUSTER:
            return ident in self.consumer_org and self.sees_consumer(ident)
        return self.every_org

    def sees_diversion(self, d: Diversion) -> bool:
        """True when the reader sees either side."""
        return d.from_org in self.orgs or d.to_org in self.orgs

    def sees_event(self, body: Any) -> bool:
        """True for an event naming a visible org, or naming no org at all.

        An event naming a diversion (a proposal, an approval) names its sides.
        """
        orgs = event_orgs(body, self.consumer_org, self.diversion_orgs)
        return not orgs or bool(orgs & self.orgs)

    # ------------------------------------------------------------------ requirements

    def require_org(self, org: str) -> None:
        """UnknownRecord unless the reader sees ``org``."""
        if org not in self.orgs:
            raise UnknownRecord(f"org {org!r} is not in the ledger")

    def only(self, org: str | None) -> Visibility:
        """The same reader restricted to one org (UnknownRecord if not seen); None: unchanged."""
        if org is None:
            return self
        self.require_org(org)
        return Visibility(frozenset({org}), False, self.consumer_org, self.diversion_orgs)

    def require_lot(self, lot: str, scenario: Scenario) -> str:
        """The consignee of a lot the reader sees (else UnknownRecord)."""
        for x in scenario.lots:
            if x.id == lot and x.consignee in self.orgs:
                return x.consignee
        raise UnknownRecord(f"lot {lot!r} is not in the ledger")

    def require_diversion(self, d: Diversion) -> None:
        """UnknownRecord unless the reader sees a side of ``d``."""
        if not self.sees_diversion(d):
            raise UnknownRecord(f"diversion {d.id!r} is not in the ledger")

    def require_change(self, change: Change, scenario: Scenario) -> None:
        """UnknownRecord unless the reader sees the org whose supply or target ``change`` touches.

        A diversion needs the giving org (its lot is the giver's supply); the
        receiver may be any org, as when proposing one. A slip needs the lot's
        consignee, a new order its org, a priority the target's owner.
        """
        from gpuledger.planning import DivertChange, NewOrderChange, PriorityChange, SlipChange

        if isinstance(change, DivertChange):
            self.require_org(change.from_org)
        elif isinstance(change, SlipChange):
            self.require_lot(change.lot, scenario)
        elif isinstance(change, NewOrderChange):
            self.require_org(change.org)
        elif isinstance(change, PriorityChange):
            owner = next((t.consumer for t in scenario.targets if t.id == change.target), None)
            if owner is None or not self.sees_consumer(owner):
                raise UnknownRecord(f"target {change.target!r} is not in the ledger")

    def require_some_org(self, user: str) -> None:
        """PermissionDenied for a reader who holds no role in any org (the audit pages)."""
        if not self.orgs:
            raise PermissionDenied(f"user {user!r} holds no role in any org")

    def require_every_org(self, user: str, scenario: Scenario) -> None:
        """PermissionDenied unless the reader sees every org (an export of the whole books)."""
        hidden = sorted(o.id for o in scenario.orgs if o.id not in self.orgs)
        if hidden:
            raise PermissionDenied(
                f"user {user!r} may not export the books: it needs a role in every org "
                f"({len(hidden)} not covered)"
            )

    # ------------------------------------------------------------------ results

    def balances(self, rows: Iterable[Balance]) -> list[Balance]:
        """The balances of visible accounts."""
        return [b for b in rows if self.sees_owner(b.owner)]

    def diversions(self, views: Iterable[Any]) -> list[Any]:
        """Diversion views (anything with ``.diversion``) the reader sees."""
        return [v for v in views if self.sees_diversion(v.diversion)]

    def claims(self, checks: Iterable[ClaimCheck]) -> list[ClaimCheck]:
        """Claim checks of visible orgs."""
        return [c for c in checks if c.org in self.orgs]

    def plan_json(self, plan: Plan) -> dict[str, Any]:
        """``Plan.to_json()`` cut down to what the reader sees.

        The visible targets, the org rows of visible orgs and the pooled moves
        between visible orgs (as :meth:`impact_json` does).
        """
        data = plan.to_json()
        data["targets"] = [t for t in data["targets"] if self.sees_consumer(t["consumer"])]
        data["orgs"] = [o for o in data["orgs"] if self.sees_org(o["org"])]
        data["moved_between_orgs"] = [
            m
            for m in data["moved_between_orgs"]
            if self.sees_org(m["from_org"]) and self.sees_org(m["to_org"])
        ]
        return data

    def impact_json(self, result: Impact) -> dict[str, Any]:
        """``Impact.to_json()`` cut down to what the reader sees.

        The visible targets (and their recovery and explanations), the org rows
        of visible orgs (a receiver the reader does not see stays out: its
        GPU-days are its own), and the pooled moves between visible orgs.
        """
        mine = {t.id for t in result.targets if self.sees_consumer(t.consumer)}
        data = result.to_json()
        data["orgs"] = [o for o in data["orgs"] if self.sees_org(o["org"])]
        for key in ("moved_before", "moved_after"):
            data[key] = [
                m for m in data[key] if self.sees_org(m["from_org"]) and self.sees_org(m["to_org"])
            ]
        data["targets"] = [t for t in data["targets"] if t["id"] in mine]
        data["recovery"] = [r for r in data["recovery"] if r["target"] in mine]
        data["explanations"] = [e for e in data["explanations"] if e["target"] in mine]
        return data

    def forecast_targets(self, fc: Forecast) -> set[str]:
        """Ids of the forecast's targets the reader sees."""
        return self.snapshot_targets(fc.snapshot)

    def snapshot_targets(self, snap: PlanningSnapshot) -> set[str]:
        """Ids of a planning snapshot's targets the reader sees."""
        return {
            tid
            for tid, c in zip(snap.target_id, snap.target_consumer.tolist(), strict=True)
            if self.sees_consumer(snap.consumers[c])
        }

    def forecast_json(self, fc: Forecast) -> dict[str, Any]:
        """``Forecast.to_json()`` with the visible targets only."""
        return self.forecast_answer(fc.to_json(), fc.snapshot)

    def forecast_answer(self, data: dict[str, Any], snapshot: PlanningSnapshot) -> dict[str, Any]:
        """A forecast's ``to_json()`` (of ``snapshot``'s targets) cut to the visible targets."""
        mine = self.snapshot_targets(snapshot)
        return {**data, "targets": [t for t in data["targets"] if t["id"] in mine]}


# --------------------------------------------------------------------------- events

_OWNER = re.compile(r"^(org|cluster):([^/]+)/")
_ORG_KEYS = frozenset({"org", "consignee", "from", "to", "from_org", "to_org", "consumer"})


def diversion_sides(scenario: Scenario) -> dict[str, frozenset[str]]:
    """Each diversion of the books -> its giving and receiving orgs."""
    return {d.id: frozenset({d.from_org, d.to_org}) for d in scenario.diversions}


def event_orgs(
    body: Any,
    consumer_org: Mapping[str, str],
    diversion_orgs: Mapping[str, frozenset[str]] | None = None,
) -> set[str]:
    """The orgs an event's body names (accounts, consignees, diversions' sides, consumers).

    A ``diversion`` key names both sides of that diversion (``diversion_orgs``).
    """
    found: set[str] = set()
    sides = diversion_orgs or {}

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            m = _OWNER.match(value)
            if m is not None:
                kind, ident = m.groups()
                found.add(consumer_org.get(ident, ident) if kind == "cluster" else ident)
            elif key in _ORG_KEYS:
                found.add(consumer_org.get(value, value))
            elif key == "diversion":
                found.update(sides.get(value, ()))

    walk(body, None)
    return found


# --------------------------------------------------------------------------- writes


def visible_orgs(scenario: Scenario, visibility: Visibility) -> Sequence[str]:
    """The books' orgs the reader sees, in the books' order."""
    return [o.id for o in scenario.orgs if visibility.sees_org(o.id)]
