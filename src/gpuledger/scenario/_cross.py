"""Checks between the records of a scenario, on domain records, whatever the format.

The rules between two records (a lot and its order, a diversion and its lots, a
movement and its cluster) are :mod:`gpuledger.domain.rules`, the ones the ledger's
verbs apply too; this module finds the records each rule needs, reports
references that do not resolve, and replays who holds a lot's units as
diversions move them (the file is imported at once, so the ledger's balances
cannot say it yet).

A reference to a record that failed its own checks is not reported again as
unknown: that record's own problem is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from gpuledger.domain import (
    Cluster,
    Diversion,
    DiversionStatus,
    Lot,
    Movement,
    Order,
    Site,
    Vendor,
    rules,
)
from gpuledger.scenario._raw import FieldPath, Origin, RawRecord

R = TypeVar("R")


class AddProblem(Protocol):
    """Where the checker reports a problem (``Problems.add``)."""

    def __call__(
        self, origin: Origin, reason: str, *, record: str | None, field: str | None
    ) -> None: ...


@dataclass(frozen=True)
class Checked(Generic[R]):
    """A record that passed its own checks: its domain value, its label and where it is."""

    raw: RawRecord
    value: R
    label: str


def field_path(field: str) -> FieldPath:
    """``"payback[0].lot"`` as a path: ``("payback", 0, "lot")``."""
    path: list[str | int] = []
    for part in field.replace("]", "").replace("[", ".").split("."):
        path.append(int(part) if part.isdigit() else part)
    return tuple(path)


def _known(names: Iterable[str]) -> str:
    names = sorted(names)
    if not names:
        return ""
    return f" (known: {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"


class CrossChecker:
    """Checks references, quantities and holdings across the records that passed phase 1."""

    def __init__(self, add: AddProblem, broken: set[str]) -> None:
        self._add_problem = add
        # Ids of records that failed phase 1: references to them are not reported.
        # Over all kinds at once: this can only hide a problem when another one
        # (the broken record's) is reported anyway.
        self._broken = broken

    def _add(self, rec: Checked[Any], field: str, reason: str) -> None:
        self._add_problem(
            rec.raw.origin_of(field_path(field)), reason, record=rec.label, field=field
        )

    def _ref(
        self, rec: Checked[Any], field: str, kind: str, value: str | None, known: Iterable[str]
    ) -> bool:
        """True when ``value`` names a known record (None names nothing and is fine)."""
        known = set(known)
        if value is None or value in known:
            return True
        if value not in self._broken:
            self._add(rec, field, f"unknown {kind} {value!r}" + _known(known))
        return False

    def _problems(self, rec: Checked[Any], problems: list[rules.Problem]) -> None:
        for problem in problems:
            self._add(rec, problem.field, problem.reason)

    def dedupe(self, records: Mapping[str, list[Checked[Any]]]) -> dict[str, list[Checked[Any]]]:
        """Drop exact duplicates; a reused id with other content is a problem."""
        kept: dict[str, list[Checked[Any]]] = {}
        for collection, recs in records.items():
            first: dict[str, Checked[Any]] = {}
            kept[collection] = []
            for rec in recs:
                earlier = first.get(rec.value.id)
                if earlier is None:
                    first[rec.value.id] = rec
                    kept[collection].append(rec)
                elif earlier.value != rec.value:
                    self._add(
                        rec,
                        "id",
                        f"duplicate id {rec.value.id!r} with different content from "
                        f"{earlier.label} ({earlier.raw.origin.short()})",
                    )
        return kept

    def check(self, kept: Mapping[str, list[Checked[Any]]]) -> None:
        """Every reference resolves, every rule between records holds, every unit is there."""
        skus = {c.value.id for c in kept["skus"]}
        groups = {c.value.id for c in kept["groups"]}
        orgs = {c.value.id for c in kept["orgs"]}
        vendors = {c.value.id for c in kept["vendors"]}
        sites: dict[str, Site] = {c.value.id: c.value for c in kept["sites"]}
        clusters: dict[str, Cluster] = {c.value.id: c.value for c in kept["clusters"]}
        orders: dict[str, Order] = {c.value.id: c.value for c in kept["orders"]}
        lots: dict[str, Lot] = {c.value.id: c.value for c in kept["lots"]}

        for rec in kept["vendors"]:
            self._check_lead_times(rec, skus)
        for rec in kept["orgs"]:
            self._ref(rec, "group", "group", rec.value.group, groups)
        for rec in kept["sites"]:
            self._ref(rec, "org", "org", rec.value.org, orgs)
            self._problems(rec, rules.site_problems(rec.value))
        for rec in kept["clusters"]:
            self._ref(rec, "org", "org", rec.value.org, orgs)
            site = rec.value.site
            if self._ref(rec, "site", "site", site, sites) and site is not None:
                self._problems(rec, rules.cluster_site_problems(rec.value, sites[site]))
            if rec.value.id in orgs:
                self._add(
                    rec,
                    "id",
                    f"cluster id {rec.value.id!r} is also an org id; a target's consumer "
                    "would be ambiguous",
                )
        for rec in kept["orders"]:
            self._ref(rec, "org", "org", rec.value.org, orgs)
            self._ref(rec, "vendor", "vendor", rec.value.vendor, vendors)
            self._ref(rec, "sku", "sku", rec.value.sku, skus)
        self._check_lots(kept["lots"], orgs, orders)
        for rec in kept["targets"]:
            consumers = orgs | set(clusters)
            self._ref(rec, "consumer", "consumer (org or cluster)", rec.value.consumer, consumers)
            self._ref(rec, "sku", "sku", rec.value.sku, skus)
            # A broken SKU record has its own problem: its id counts as known here.
            self._problems(rec, rules.accepts_problems(rec.value, skus | self._broken))
        for rec in kept["claims"]:
            self._ref(rec, "org", "org", rec.value.org, orgs)
            self._ref(rec, "sku", "sku", rec.value.sku, skus)

        diversions: list[Checked[Diversion]] = []
        for rec in kept["events"]:
            if isinstance(rec.value, Diversion):
                if self._check_diversion(rec, orgs, lots, orders):
                    diversions.append(rec)
            else:
                self._check_movement(rec, orgs, lots, clusters)
        self._check_holdings(diversions, lots)

    def _check_lead_times(self, rec: Checked[Vendor], skus: set[str]) -> None:
        seen_rows: dict[tuple[str, date], int] = {}
        rows = rec.value.lead_times
        for j, row in enumerate(rows):
            self._ref(rec, f"lead_time[{j}].sku", "sku", row.sku, skus)
            key = (row.sku, row.from_date)
            if key in seen_rows and rows[seen_rows[key]] != row:
                self._add(
                    rec,
                    f"lead_time[{j}].from",
                    f"a second lead-time row for {row.sku} from {row.from_date} "
                    f"(lead_time[{seen_rows[key]}]) with other values",
                )
            seen_rows.setdefault(key, j)

    def _check_lots(
        self, recs: list[Checked[Lot]], orgs: set[str], orders: Mapping[str, Order]
    ) -> None:
        lotted: dict[str, int] = defaultdict(int)
        for rec in recs:
            lot = rec.value
            self._ref(rec, "consignee", "org", lot.consignee, orgs)
            if not self._ref(rec, "order", "order", lot.order, orders):
                continue
            for problem in rules.lot_problems(lot, orders[lot.order], lotted[lot.order]):
                self._add(rec, problem.field, problem.reason)
            lotted[lot.order] += lot.qty

    def _check_diversion(
        self,
        rec: Checked[Diversion],
        orgs: set[str],
        lots: Mapping[str, Lot],
        orders: Mapping[str, Order],
    ) -> bool:
        """Check one diversion; True when its units can be replayed (every lot known)."""
        d = rec.value
        ok = self._ref(rec, "from", "org", d.from_org, orgs)
        ok = self._ref(rec, "to", "org", d.to_org, orgs) and ok
        if not self._ref(rec, "lot", "lot", d.lot, lots):
            return False
        lot = lots[d.lot]

        def sku_of(x: Lot) -> str | None:
            return orders[x.order].sku if x.order in orders else None

        # A lot whose order is unknown has its own problem; its SKU then matches anything.
        lot_sku = sku_of(lot) or ""
        payback_lots = {
            p.lot: (lots[p.lot], sku_of(lots[p.lot]) or lot_sku) for p in d.payback if p.lot in lots
        }
        broken_fields = {
            f"payback[{j}].lot" for j, p in enumerate(d.payback) if p.lot in self._broken
        }
        for problem in rules.diversion_problems(d, lot, lot_sku, payback_lots):
            if problem.field not in broken_fields:
                self._add(rec, problem.field, problem.reason)
        return ok and all(p.lot in lots and 0 < p.qty <= lots[p.lot].qty for p in d.payback)

    def _check_movement(
        self,
        rec: Checked[Movement],
        orgs: set[str],
        lots: Mapping[str, Lot],
        clusters: Mapping[str, Cluster],
    ) -> None:
        m = rec.value
        self._ref(rec, "org", "org", m.org, orgs)
        self._ref(rec, "lot", "lot", m.lot, lots)
        known_cluster = self._ref(rec, "cluster", "cluster", m.cluster, clusters)
        cluster = clusters.get(m.cluster) if m.cluster is not None and known_cluster else None
        for problem in rules.movement_problems(m, cluster):
            self._add(rec, problem.field, problem.reason)

    def _check_holdings(
        self, diversions: list[Checked[Diversion]], lots: Mapping[str, Lot]
    ) -> None:
        # Who holds how many units of each lot, replayed in date order. A lot starts
        # with its consignee; a diversion (pending ones reserve units) moves units
        # from giver to receiver, and its payback reassigns units of the receiver's
        # lots to the giver when the diversion is agreed.
        held: dict[str, dict[str, int]] = {
            lid: {lot.consignee: lot.qty} for lid, lot in lots.items()
        }
        for rec in sorted(diversions, key=lambda r: (r.value.on, r.raw.index)):
            d = rec.value
            if d.status is DiversionStatus.VOIDED:
                continue
            holders = held[d.lot]
            if d.from_org not in holders:
                self._add(
                    rec,
                    "from",
                    f"{d.from_org!r} never held units of lot {d.lot} (consignee "
                    f"{lots[d.lot].consignee!r})",
                )
                continue
            if d.qty > holders[d.from_org]:
                self._add(
                    rec,
                    "qty",
                    f"diverts {d.qty} units of lot {d.lot} from {d.from_org!r}, which has only "
                    f"{holders[d.from_org]} of it left on {d.on}",
                )
                continue
            holders[d.from_org] -= d.qty
            holders[d.to_org] = holders.get(d.to_org, 0) + d.qty
            for j, pay in enumerate(d.payback):
                self._pay_back(rec, j, pay.lot, pay.qty, held[pay.lot])

    def _pay_back(
        self, rec: Checked[Diversion], j: int, lot: str, qty: int, holders: dict[str, int]
    ) -> None:
        d = rec.value
        left = holders.get(d.to_org, 0)
        if qty > left:
            self._add(
                rec,
                f"payback[{j}].qty",
                f"pays back {qty} units of lot {lot}, but {d.to_org!r} has only {left} of it left",
            )
            return
        holders[d.to_org] = left - qty
        holders[d.from_org] = holders.get(d.from_org, 0) + qty
