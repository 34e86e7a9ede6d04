"""What the dashboard and the board report show that no other service gives, built on them.

Nothing here re-derives a figure: the cost of a diversion is the org-level row
of :func:`gpuledger.services.planning.impact_of_diversion` (``Impact.org``), the
same call ``gpuledger impact --diversion ID --json`` and ``gpuledger demo`` make;
who may propose is :func:`gpuledger.governance.rules.check_proposal`. This
module adds only how they are put together for people:

- **The headline** of a diversion (:class:`Headline`): the GPU-days the giving
  org holds less over the impact's window, without and with the diversion's
  payback, and money only as the scenario's stated GPU-hour price times those
  GPU-days (:func:`rental_usd`), with the price's source.
- **The books as they stand** (:func:`books_date`): the books' today, or the day
  of the latest posted diversion when that is later. A diversion decided after
  the last import is in the books from its own day on; a plan as of the day
  before would not show it.
- **Who may propose from where** (:func:`proposal_orgs`) and **the counterparties
  a proposer may name** (:func:`counterparties`): the orgs the proposer sees, the
  other orgs of their groups, and the other side of every diversion they see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from gpuledger.domain import Diversion, DiversionStatus, GpuledgerError, PolicyName
from gpuledger.domain.money import HOURS_PER_DAY, rental_usd
from gpuledger.domain.serialize import NOT_JSON, jsonable
from gpuledger.services.books import books_today
from gpuledger.services.planning import impact_of_diversion
from gpuledger.services.requests import DEFAULT_POLICY

if TYPE_CHECKING:
    from gpuledger.governance.rules import Access, Directory
    from gpuledger.ledger import DiversionView, Ledger
    from gpuledger.planning import Impact

__all__ = [
    "HOURS_PER_DAY",
    "LIVE",
    "Headline",
    "books_date",
    "counterparties",
    "headline",
    "headlines",
    "proposal_orgs",
    "rental_usd",
]

#: The statuses whose diversions can still cost anything (voided ones moved nothing).
LIVE = frozenset({DiversionStatus.PENDING, DiversionStatus.POSTED})


@dataclass(frozen=True)
class Headline:
    """What a diversion costs the org that gives the units, over the impact's window.

    ``gpu_days_without_payback`` / ``gpu_days_with_payback`` are
    ``Impact.org(from_org, sku).gpu_days_lost`` of the impacts without and with
    the payback (0 when the org's holdings do not change); ``with`` is None when
    the diversion has no payback. ``usd_*`` are those times 24 times the
    scenario's stated price (None without one). ``error`` says why the impact
    could not be computed (then every figure is None or 0 and none is shown).
    ``powered_gpu_days_without_payback``: the same loss counting only units the
    giver's sites could have powered (equal to the held figure when no site
    states a capacity; docs/planning.md, "Held and powered").
    """

    diversion: str
    status: DiversionStatus | None
    org: str  # the giving org, whose cost this is
    to_org: str
    sku: str
    qty: int
    on: date
    policy: PolicyName
    window_start: date | None
    window_end: date | None
    gpu_days_without_payback: int
    gpu_days_with_payback: int | None
    price_per_gpu_hour: float | None
    price_source: str | None
    error: str | None = None
    powered_gpu_days_without_payback: int = 0
    impacts: tuple[Impact, ...] = field(default=(), metadata=NOT_JSON)  # (with, without)

    @property
    def usd_without_payback(self) -> float | None:
        """Rental-equivalent cost of the GPU-days without the payback."""
        return rental_usd(self.gpu_days_without_payback, self.price_per_gpu_hour)

    @property
    def usd_with_payback(self) -> float | None:
        """Rental-equivalent cost of the GPU-days with the payback (None without one)."""
        if self.gpu_days_with_payback is None:
            return None
        return rental_usd(self.gpu_days_with_payback, self.price_per_gpu_hour)

    @property
    def books_impact(self) -> Impact | None:
        """The impact of the diversion as recorded (payback included): its ``before``
        plan is the books without the diversion, its ``after`` the books with it."""
        return self.impacts[0] if self.impacts else None

    def to_json(self) -> dict[str, Any]:
        """Every field, the dollar figures included."""
        data: dict[str, Any] = jsonable(self)
        data["usd_without_payback"] = self.usd_without_payback
        data["usd_with_payback"] = self.usd_with_payback
        return data


def _lost(result: Impact, org: str, sku: str, *, powered: bool = False) -> int:
    row = result.org(org, sku)
    if row is None:
        return 0
    return row.powered_gpu_days_lost if powered else row.gpu_days_lost


def headline(ledger: Ledger, view: DiversionView, policy: PolicyName = DEFAULT_POLICY) -> Headline:
    """The headline of one diversion of the books (pending, posted or voided).

    An impact that cannot be computed (the books no longer hold the units where
    the diversion says) gives a headline with ``error`` set, never an exception.
    """
    d = view.diversion
    params = ledger.to_scenario().parameters
    base: dict[str, Any] = {
        "diversion": d.id,
        "status": view.status,
        "org": d.from_org,
        "to_org": d.to_org,
        "qty": d.qty,
        "on": d.on,
        "policy": policy,
        "price_per_gpu_hour": params.gpu_hour_price_usd,
        "price_source": params.gpu_hour_price_source,
    }
    try:
        sku = ledger.trace(d.lot).sku
        with_payback = impact_of_diversion(ledger, d.id, policy)
        without = (
            impact_of_diversion(ledger, d.id, policy, with_payback=False)
            if d.payback
            else with_payback
        )
    except GpuledgerError as exc:
        return Headline(
            **base,
            sku="",
            window_start=None,
            window_end=None,
            gpu_days_without_payback=0,
            gpu_days_with_payback=None,
            error=str(exc),
        )
    assert without.window_end == with_payback.window_end, "one window for both figures"
    return Headline(
        **base,
        sku=sku,
        window_start=without.window_start,
        window_end=without.window_end,
        gpu_days_without_payback=_lost(without, d.from_org, sku),
        gpu_days_with_payback=_lost(with_payback, d.from_org, sku) if d.payback else None,
        powered_gpu_days_without_payback=_lost(without, d.from_org, sku, powered=True),
        impacts=(with_payback, without),
    )


def headlines(
    ledger: Ledger,
    views: Iterable[DiversionView],
    policy: PolicyName = DEFAULT_POLICY,
    *,
    limit: int | None = None,
) -> list[Headline]:
    """Headlines of the diversions that can still cost anything (pending and posted).

    Voided diversions moved nothing and are skipped; ``limit`` keeps the first ones.
    """
    live = [v for v in views if v.status in LIVE]
    return [headline(ledger, v, policy) for v in live[:limit]]


def books_date(ledger: Ledger) -> date:
    """The day the books stand at: their today, or the latest posted diversion's day if later."""
    today = books_today(ledger)
    posted = [v.diversion.on for v in ledger.diversions(DiversionStatus.POSTED)]
    return max([today, *posted])


# --------------------------------------------------------------------------- proposals


def proposal_orgs(access: Access, orgs: Sequence[str]) -> list[str]:
    """The orgs of ``orgs`` that ``access`` may propose a diversion from (the giver's planner).

    Asks the one rule (``governance.rules.check_proposal``) about a diversion of
    each org, so a change of the rule changes the forms.
    """
    from gpuledger.domain import PermissionDenied
    from gpuledger.governance.rules import check_proposal

    allowed = []
    for org in orgs:
        probe = Diversion("probe", "probe", 1, org, org, date.min)
        try:
            check_proposal(access, probe)
        except PermissionDenied:
            continue
        allowed.append(org)
    return allowed


def counterparties(
    access: Access, directory: Directory, diversions: Iterable[Diversion], orgs: Sequence[str]
) -> list[str]:
    """Orgs a proposer may name as the other side, from the books, in ``orgs``' order.

    The orgs they see, the other orgs of the groups of those orgs (related
    parties the books already name), and both sides of every diversion they
    see. Any other org may still be typed: the rules, not this list, decide.
    """
    seen = access.visible_orgs()
    groups = {directory.group_of(o) for o in seen} - {None}
    named = set(seen) | {o for o in orgs if directory.group_of(o) in groups}
    for d in diversions:
        if d.from_org in seen or d.to_org in seen:
            named |= {d.from_org, d.to_org}
    return [o for o in orgs if o in named]
