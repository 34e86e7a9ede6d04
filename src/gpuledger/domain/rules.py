"""Rules between records, written once: every path (file, CLI, API, web) applies these.

Each function returns the problems it finds as :class:`Problem` values (the field
at fault and the reason, naming the records), empty when the records agree. The
scenario reader adds the file and line; the ledger's verbs raise the first
problem as a refusal. Neither re-states a rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from gpuledger.domain.enums import TransferKind
from gpuledger.domain.errors import LedgerError
from gpuledger.domain.records import Cluster, Diversion, Lot, Movement, Order, Site, Target


@dataclass(frozen=True)
class Problem:
    """One broken rule: the field at fault (the file's name for it) and why."""

    field: str
    reason: str


def lot_problems(lot: Lot, order: Order, lotted_before: int) -> list[Problem]:
    """A lot against its order, given the units already shipped against the order.

    Edge cases: a lot shipping on the day the order is placed is fine; so is a
    lot arriving the day it ships; the last lot may take exactly what is left.
    """
    problems: list[Problem] = []
    if lot.ships_on < order.ordered_on:
        problems.append(
            Problem(
                "ships_on",
                f"ships_on {lot.ships_on} is before its order {order.id} was placed "
                f"({order.ordered_on})",
            )
        )
    if lot.arrives_on < lot.ships_on:
        problems.append(
            Problem("arrives_on", f"arrives_on {lot.arrives_on} is before ships_on {lot.ships_on}")
        )
    left = order.qty - lotted_before
    if lot.qty > left:
        problems.append(
            Problem(
                "qty",
                f"lots of order {order.id} would total {lotted_before + lot.qty} units, beyond "
                f"the order's qty {order.qty} ({max(left, 0)} left for lot {lot.id})",
            )
        )
    return problems


def diversion_problems(
    d: Diversion,
    lot: Lot,
    lot_sku: str,
    payback_lots: Mapping[str, tuple[Lot, str]],
) -> list[Problem]:
    """A diversion against its lot and the lots of its payback.

    ``payback_lots`` maps each payback lot id to the lot and its SKU; a payback
    lot missing from it is reported as unknown. Fields use the file's names
    (``from``, ``to``, ``payback[j].lot``).
    """
    problems: list[Problem] = []
    if d.from_org == d.to_org:
        problems.append(
            Problem(
                "to", f"a diversion must move units between two orgs, got from == to {d.to_org!r}"
            )
        )
    if d.on < lot.ships_on:
        problems.append(
            Problem("on", f"diversion on {d.on} is before lot {lot.id} ships ({lot.ships_on})")
        )
    for j, pay in enumerate(d.payback):
        field = f"payback[{j}].lot"
        found = payback_lots.get(pay.lot)
        if found is None:
            problems.append(Problem(field, f"unknown lot {pay.lot!r}"))
            continue
        pay_lot, pay_sku = found
        if pay.lot == d.lot:
            problems.append(Problem(field, f"payback lot {pay.lot} is the diverted lot itself"))
        if pay_lot.consignee != d.to_org:
            problems.append(
                Problem(
                    field,
                    f"payback lot {pay.lot} is consigned to {pay_lot.consignee!r}; a payback "
                    f"comes from the receiver's lots ({d.to_org!r})",
                )
            )
        if pay_lot.ships_on <= d.on:
            problems.append(
                Problem(
                    field,
                    f"payback lot {pay.lot} ships on {pay_lot.ships_on}, not after the "
                    f"diversion ({d.on})",
                )
            )
        if pay_sku != lot_sku:
            problems.append(
                Problem(field, f"payback lot {pay.lot} is {pay_sku}, the diverted lot is {lot_sku}")
            )
        if pay.qty <= 0:
            problems.append(
                Problem(f"payback[{j}].qty", f"payback of lot {pay.lot} must be positive")
            )
        elif pay.qty > pay_lot.qty:
            problems.append(
                Problem(
                    f"payback[{j}].qty",
                    f"payback of {pay.qty} units is beyond lot {pay.lot}'s qty {pay_lot.qty}",
                )
            )
    return problems


def movement_problems(m: Movement, cluster: Cluster | None) -> list[Problem]:
    """A deploy, fail or return against the cluster it names (None when it names none)."""
    problems: list[Problem] = []
    if m.op in (TransferKind.DEPLOY, TransferKind.FAIL) and m.cluster is None:
        problems.append(
            Problem(
                "cluster", f"a {m.op.value} event needs the cluster where the units are deployed"
            )
        )
    if cluster is not None and cluster.org != m.org:
        problems.append(
            Problem(
                "cluster", f"cluster {cluster.id!r} belongs to org {cluster.org!r}, not {m.org!r}"
            )
        )
    return problems


def site_problems(site: Site) -> list[Problem]:
    """A site's power timeline: one step per date (a step function has one value a day).

    Steps may come in any order; a step of 0 MW (a site not yet powered) is fine.
    """
    problems: list[Problem] = []
    first: dict[object, int] = {}
    for j, step in enumerate(site.power):
        earlier = first.setdefault(step.from_date, j)
        if earlier != j:
            problems.append(
                Problem(
                    f"power[{j}].from",
                    f"a second power step from {step.from_date} (power[{earlier}]); "
                    "a site has one power value a day",
                )
            )
    return problems


def cluster_site_problems(cluster: Cluster, site: Site) -> list[Problem]:
    """A cluster against the site it names: the site belongs to the cluster's org."""
    if site.org != cluster.org:
        return [
            Problem(
                "site",
                f"site {site.id!r} belongs to org {site.org!r}, not the cluster's org "
                f"{cluster.org!r}",
            )
        ]
    return []


def accepts_problems(target: Target, skus: Collection[str]) -> list[Problem]:
    """The SKUs a target accepts: each known (in ``skus``), once, and not its own SKU."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for j, sku in enumerate(target.accepts):
        field = f"accepts[{j}]"
        if sku == target.sku:
            problems.append(Problem(field, f"accepts the target's own sku {sku!r}"))
        elif sku in seen:
            problems.append(Problem(field, f"sku {sku!r} is accepted twice"))
        elif sku not in skus:
            problems.append(Problem(field, f"unknown sku {sku!r}"))
        seen.add(sku)
    return problems


def refuse(subject: str, problems: list[Problem]) -> None:
    """Raise the first problem as a ledger refusal naming ``subject``; nothing if none."""
    if problems:
        first = problems[0]
        raise LedgerError(f"{subject} field '{first.field}': {first.reason}")
