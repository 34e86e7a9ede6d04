"""Check public statements (claims) against the books and the forecast.

DESIGN section 7. Pure functions over values the ledger provides (a holdings
function, the diversions, the lots' arrival days, a plan's holdings and a
forecast), so the CLI, the API and the web call the same code.

Definitions (the same on every page; docs/forecast.md, "Claims"):

- *holdings* of an org: its stock plus deployed units, its clusters included,
  of the claim's SKU.
- *P10, P50, P90* of forecast holdings on a day: the 10th, 50th and 90th
  percentiles over the samples. P90 is the level only 1 in 10 samples exceed;
  for a completion date, P90 is the date by which 9 in 10 samples complete.
- The *reference* of a claim: ``books_now`` (holdings on ``stated_on`` as known
  now) for an ``actual`` claim, ``forecast_p50`` at ``by`` for a ``target``.
- ``gap = claimed - reference`` (positive: the claim says more than the books
  or the forecast) and it reconciles exactly: ``gap = sum(term.effect) +
  residual``. The terms (``explained_by``) are the posted diversions out of the
  org (``+qty``: they lowered its holdings) and into it (``-qty``), the paybacks
  that came back to it (``-qty``, on the payback lot's arrival) or that it paid
  out (``+qty``), up to the claim's date; and, for a target, ``planned -
  forecast_p50`` (lead-time spread, transit slips and failures: the forecast's
  median against the deterministic plan). Inflows narrow the gap: they never
  explain a shortfall. The residual is what no listed term explains.
- One verdict rule (:data:`VERDICT_RULE`), on the reference and, for a target,
  the forecast P90, with ``floor = claimed * (1 - tolerance)``: ``holds`` when
  the reference is at least the claim; ``within tolerance`` when it is below the
  claim but at least the floor; ``overstated`` when below the floor (for a
  target: while the P90 still reaches the floor); ``out of reach`` (targets)
  when even the P90 is below the floor. A target without a forecast is ``not
  checked``.
- Two measures (the planner's, docs/planning.md): *held* (``books_then`` /
  ``books_now``) and *powered* (``powered_then`` / ``powered_now``): of the
  units held on the day held is measured (``stated_on``), those the org's sites
  could power that day, by the planner's one rule
  (:func:`gpuledger.planning.power.share_power`): the org's power is shared by
  its SKUs in the scenario's SKU order, each SKU's units powered within the
  power the SKUs before it left, so with one SKU ``min(held, capacity)``. None
  when the org's sites state no capacity for the claim's SKU (no site, no power
  timeline, a SKU without TDP): then every unit held counts as powered. The
  verdict is decided on held units only; powered is shown beside it.
- Pending diversions moved nothing yet: they are listed apart (``pending``),
  never in the sum; voided ones moved nothing and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuledger.domain import (
    Claim,
    ClaimKind,
    ClaimVerdict,
    Diversion,
    DiversionStatus,
)
from gpuledger.planning.power import NO_LIMIT, share_power

if TYPE_CHECKING:
    from gpuledger.forecast import Forecast

__all__ = [
    "P90_MEANS",
    "VERDICT_RULE",
    "CapacityFn",
    "ClaimCheck",
    "Explanation",
    "HoldingsFn",
    "PlannedFn",
    "check_claims",
    "claims_report",
    "verdict",
]

HoldingsFn = Callable[[str, str, date, "date | None"], int]
"""``holdings(org, sku, as_of, known_on)``: units the org holds; ``known_on=None`` = now."""

CapacityFn = Callable[[str, str, date], "int | None"]
"""``capacity(org, sku, day)``: units of a SKU the org's sites power on a day; None: no limit."""

PlannedFn = Callable[[str, str, date], int]
"""``planned(org, sku, day)``: the org's holdings on ``day`` in the deterministic plan."""

P90_MEANS = (
    "P90 of holdings: the level only 1 in 10 samples exceed (90th percentile); "
    "P90 of a completion date: the date by which 9 in 10 samples complete"
)
"""The one definition of P90, printed beside every P90 (web, report, CLI, JSON)."""

VERDICT_RULE = (
    "reference = books now (actual) or forecast P50 at the claim's date (target); "
    "floor = claim less the tolerance; holds: reference >= claim; within tolerance: "
    "floor <= reference < claim; overstated: reference < floor (for a target, while "
    "the forecast P90 >= floor); out of reach: forecast P90 < floor. "
    "The books count held units; powered (beside them, never in the verdict) is the "
    "units held that the org's sites could power that day, the planner's rule: the "
    "org's power shared by its SKUs in order, min(held, site capacity) for one SKU; "
    "none where the sites state no capacity"
)
"""The one verdict rule, printed with every claims table."""


@dataclass(frozen=True)
class Explanation:
    """One term of a claim's reconciliation: units that moved the gap.

    Attributes:
        id: the diversion's id; for a payback ``diversion/lot``; for the
            forecast term ``forecast``.
        kind: ``diversion``, ``payback`` or ``forecast``.
        direction: ``out`` (units left the org, or the forecast below the plan)
            or ``in``.
        qty: units, positive.
        effect: ``+qty`` when the term widens the gap (out), ``-qty`` when it
            narrows it (in).
        on: the day the units moved (a payback: its lot's arrival; the forecast
            term: the claim's date).
        known_on: when the books learned of it (None: when it happened).
        status: the diversion's status (None for the forecast term).
    """

    id: str
    kind: str
    direction: str
    qty: int
    effect: int
    on: date
    known_on: date | None
    status: DiversionStatus | None

    def to_json(self) -> dict[str, Any]:
        """The term with ISO dates."""
        return {
            "id": self.id,
            "kind": self.kind,
            "direction": self.direction,
            "qty": self.qty,
            "effect": self.effect,
            "on": self.on.isoformat(),
            "known_on": None if self.known_on is None else self.known_on.isoformat(),
            "status": None if self.status is None else str(self.status),
        }


@dataclass(frozen=True)
class ClaimCheck:
    """One claim checked: what was claimed, what the books and forecast say, and why.

    ``gap == sum(e.effect for e in explained_by) + residual`` whenever ``gap``
    is not None (asserted).
    """

    id: str
    org: str
    kind: ClaimKind
    claimed: int
    books_then: int
    books_now: int
    powered_then: int | None
    powered_now: int | None
    planned: int | None
    forecast_p10: int | None
    forecast_p50: int | None
    forecast_p90: int | None
    gap: int | None
    explained_by: tuple[Explanation, ...]
    residual: int | None
    verdict: ClaimVerdict
    assumptions: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def overstated(self) -> bool:
        """True when the verdict is ``overstated`` or ``out of reach``."""
        return self.verdict in (ClaimVerdict.OVERSTATED, ClaimVerdict.OUT_OF_REACH)

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract for one claim."""
        return {
            "id": self.id,
            "org": self.org,
            "kind": str(self.kind),
            "claimed": self.claimed,
            "books_then": self.books_then,
            "books_now": self.books_now,
            "powered_then": self.powered_then,
            "powered_now": self.powered_now,
            "planned": self.planned,
            "forecast_p10": self.forecast_p10,
            "forecast_p50": self.forecast_p50,
            "forecast_p90": self.forecast_p90,
            "gap": self.gap,
            "explained_by": [e.to_json() for e in self.explained_by],
            "residual": self.residual,
            "verdict": str(self.verdict),
            "overstated": self.overstated,
            "assumptions": list(self.assumptions),
            "pending": list(self.pending),
        }


def verdict(
    kind: ClaimKind, claimed: int, reference: int | None, p90: int | None, tolerance: float
) -> ClaimVerdict:
    """The verdict of :data:`VERDICT_RULE` (the only place it is decided).

    ``reference`` is books now (actual) or the forecast P50 (target); ``p90``
    the forecast P90 (targets). A target with no forecast is not checked.
    """
    if reference is None:
        assert kind is ClaimKind.TARGET
        return ClaimVerdict.NOT_CHECKED
    floor = claimed * (1.0 - tolerance)
    if reference >= claimed:
        return ClaimVerdict.HOLDS
    if reference >= floor:
        return ClaimVerdict.WITHIN_TOLERANCE
    if kind is ClaimKind.TARGET and p90 is not None and p90 < floor:
        return ClaimVerdict.OUT_OF_REACH
    return ClaimVerdict.OVERSTATED


def _flows(
    org: str, until: date, diversions: Sequence[Diversion], arrivals: Mapping[str, date]
) -> tuple[list[Explanation], tuple[str, ...]]:
    """Posted diversions and paybacks in and out of ``org`` up to ``until``; pending ids."""
    terms: list[Explanation] = []
    pending = []
    for d in diversions:
        if d.from_org == d.to_org or org not in (d.from_org, d.to_org) or d.on > until:
            continue
        if d.status is DiversionStatus.PENDING:
            pending.append(d.id)
        if d.status is not DiversionStatus.POSTED:
            continue
        out = d.from_org == org
        terms.append(
            Explanation(
                d.id, "diversion", "out" if out else "in", d.qty, d.qty if out else -d.qty,
                d.on, d.known_on, d.status,
            )
        )  # fmt: skip
        # a payback flows the other way, when its lot arrives
        for p in d.payback:
            arrives = arrivals.get(p.lot)
            if arrives is None or arrives > until:
                continue
            terms.append(
                Explanation(
                    f"{d.id}/{p.lot}", "payback", "in" if out else "out", p.qty,
                    -p.qty if out else p.qty, arrives, d.known_on, d.status,
                )
            )  # fmt: skip
    return sorted(terms, key=lambda e: (e.on, e.id)), tuple(sorted(pending))


def check_claims(
    claims: Sequence[Claim],
    holdings: HoldingsFn,
    diversions: Sequence[Diversion],
    forecast: Forecast | None,
    *,
    tolerance: float = 0.05,
    arrivals: Mapping[str, date] | None = None,
    planned: PlannedFn | None = None,
    assumed: Mapping[str, tuple[str, ...]] | None = None,
    capacity: CapacityFn | None = None,
    skus: Sequence[str] = (),
) -> list[ClaimCheck]:
    """Check each claim against the books (and the forecast for targets).

    Args:
        claims: the claims, checked in the order given.
        holdings: units an org holds of a SKU on a day, as known on a day
            (None = as known now).
        diversions: every diversion with its status and ``known_on``.
        forecast: a forecast whose holdings curves cover the target claims' orgs
            and ``by`` days (pass the claims' ``by`` days as ``curve_days`` to
            make the lookup exact); None skips the forecast part.
        tolerance: relative shortfall allowed before flagging, in [0, 1).
        arrivals: lot id -> arrival day, to date paybacks (a payback whose lot
            is unknown is not counted).
        planned: holdings in the deterministic plan (the forecast term of a
            target); None folds that term into the residual.
        assumed: org -> names of the assumed inputs (records marked ``assumed``)
            behind its figures.
        capacity: units of a SKU the org's sites power on a day with all their
            power (None: no stated limit); None leaves ``powered_then`` /
            ``powered_now`` None.
        skus: the order in which an org's SKUs share its power (the planning
            snapshot's: the scenario's SKU order); a claim's SKU not in it
            comes last.

    Raises:
        ValueError: ``tolerance`` is not in [0, 1).
        UnknownRecord: the forecast tracks no holdings for a target claim's org
            and SKU.
    """
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"claim tolerance {tolerance} is not in [0, 1)")
    return [
        _check(
            c,
            holdings,
            diversions,
            forecast,
            tolerance,
            arrivals or {},
            planned,
            assumed or {},
            capacity,
            tuple(skus),
        )
        for c in claims
    ]


def _check(
    claim: Claim,
    holdings: HoldingsFn,
    diversions: Sequence[Diversion],
    forecast: Forecast | None,
    tolerance: float,
    arrivals: Mapping[str, date],
    planned: PlannedFn | None,
    assumed: Mapping[str, tuple[str, ...]],
    capacity: CapacityFn | None = None,
    skus: tuple[str, ...] = (),
) -> ClaimCheck:
    """One claim: the reference, the terms that explain the gap, the verdict."""
    # 1. the books then and now (held and powered), and the flows up to the claim's date
    then = holdings(claim.org, claim.sku, claim.stated_on, claim.stated_on)
    now = holdings(claim.org, claim.sku, claim.stated_on, None)
    powered_then, powered_now = _powered(claim, holdings, capacity, skus)
    actual = claim.kind is ClaimKind.ACTUAL
    until = claim.stated_on if actual else claim.by
    terms, pending = _flows(claim.org, until, diversions, arrivals)
    assumptions = [f"claim tolerance {tolerance:.0%}", *assumed.get(claim.org, ())]
    # 2. the reference: the books now, or the forecast's median at `by`
    p10 = p50 = p90 = plan_held = None
    reference: int | None = now
    if not actual:
        reference = None
        if forecast is not None:
            p10, p50, p90 = forecast.holdings_quantiles(claim.org, claim.by, claim.sku)
            reference = p50
            assumptions += [
                f"forecast: {forecast.samples:,} samples, policy {forecast.policy}",
                "vendor lead times and transit slips (P50/P90 of the scenario)",
                forecast.failures_text(),
            ]
            if planned is not None:
                plan_held = planned(claim.org, claim.sku, claim.by)
                if plan_held != p50:
                    gone = plan_held - p50
                    terms.append(
                        Explanation(
                            "forecast", "forecast", "out" if gone > 0 else "in", abs(gone),
                            gone, claim.by, None, None,
                        )
                    )  # fmt: skip
    # 3. the gap, reconciled: gap = sum of the terms + residual
    gap = None if reference is None else claim.qty - reference
    residual = None if gap is None else gap - sum(e.effect for e in terms)
    assert gap is None or (residual is not None and gap == sum(e.effect for e in terms) + residual)
    return ClaimCheck(
        id=claim.id,
        org=claim.org,
        kind=claim.kind,
        claimed=claim.qty,
        books_then=then,
        books_now=now,
        powered_then=powered_then,
        powered_now=powered_now,
        planned=plan_held,
        forecast_p10=p10,
        forecast_p50=p50,
        forecast_p90=p90,
        gap=gap,
        explained_by=tuple(terms),
        residual=residual,
        verdict=verdict(claim.kind, claim.qty, reference, p90, tolerance),
        assumptions=tuple(assumptions),
        pending=pending,
    )


def _powered(
    claim: Claim, holdings: HoldingsFn, capacity: CapacityFn | None, skus: tuple[str, ...]
) -> tuple[int | None, int | None]:
    """Units powered on ``stated_on`` as known then and now; (None, None): no stated limit.

    The planner's rule (:func:`~gpuledger.planning.power.share_power`) on the
    org's holdings of every SKU in ``skus`` order, so a SKU later in the order
    gets the power the earlier ones left.
    """
    if capacity is None or capacity(claim.org, claim.sku, claim.stated_on) is None:
        return None, None
    order = skus if claim.sku in skus else (*skus, claim.sku)
    day, org = claim.stated_on, claim.org
    caps = [capacity(org, k, day) for k in order]
    # one row (the org), one power step (stated_on), two days: as known then and now
    cap = np.array([[[NO_LIMIT if c is None else c] for c in caps]], dtype=np.int64)
    held = np.array(
        [[[holdings(org, k, day, day), holdings(org, k, day, None)] for k in order]],
        dtype=np.int64,
    )
    out = np.zeros_like(held)
    share_power(cap, held, np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64), out)
    powered = out[0, order.index(claim.sku)]
    assert 0 <= powered[0] <= max(held[0, order.index(claim.sku), 0], 0)
    return int(powered[0]), int(powered[1])


def claims_report(checks: Sequence[ClaimCheck]) -> dict[str, Any]:
    """The report JSON: ``{"claims": [...], "verdict_rule", "p90_means"}``."""
    return {
        "claims": [c.to_json() for c in checks],
        "verdict_rule": VERDICT_RULE,
        "p90_means": P90_MEANS,
    }
