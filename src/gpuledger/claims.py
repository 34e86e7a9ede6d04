"""Check public statements (claims) against the books and the forecast.

DESIGN section 7. Pure functions over values the ledger provides (a holdings
function, the diversions, a forecast), so the CLI, the API and the web call the
same code.

Definitions:
- *holdings* of an org: its stock plus deployed units, its clusters included
  (what the ledger calls held), of the claim's SKU.
- ``actual`` claim: ``books_then`` = holdings on ``stated_on`` as known on
  ``stated_on``; ``books_now`` = holdings on ``stated_on`` as known now;
  ``gap = claimed - books_now``: positive when the claim says more than the books
  hold (overstated direction), negative when it says less. Overstated when
  ``books_now < claimed * (1 - tolerance)``.
- ``target`` claim: ``forecast_p50`` = the median of the org's forecast holdings
  at ``by``; ``forecast_p90`` = the holdings reached with 90% confidence, i.e.
  the pessimistic level: the 10th percentile of holdings (90% of samples hold
  at least that many). ``books_then`` / ``books_now`` are holdings on
  ``stated_on`` (as known then / now); ``gap = claimed - forecast_p50``.
  Overstated when ``forecast_p50 < claimed * (1 - tolerance)``. Without a
  forecast both forecast fields and the gap are None and the claim is not
  flagged.
- ``explained_by``: diversions out of or into the org, effective on or before
  the claim's date (``by`` for targets, ``stated_on`` for actuals), posted or
  pending (voided ones moved nothing), in (date, id) order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from gpuledger.domain import (
    Claim,
    ClaimKind,
    Diversion,
    DiversionStatus,
)

if TYPE_CHECKING:
    from gpuledger.forecast import Forecast

__all__ = [
    "ClaimCheck",
    "Explanation",
    "HoldingsFn",
    "check_claims",
    "claims_report",
]

HoldingsFn = Callable[[str, str, date, "date | None"], int]
"""``holdings(org, sku, as_of, known_on)``: units the org holds; ``known_on=None`` = now."""


@dataclass(frozen=True)
class Explanation:
    """A diversion that moved units out of (or into) the claiming org."""

    id: str
    direction: str  # "out" | "in"
    qty: int
    on: date
    known_on: date | None
    status: DiversionStatus

    def to_json(self) -> dict[str, Any]:
        """``{"id", "direction", "qty", "on", "known_on", "status"}`` with ISO dates."""
        return {
            "id": self.id,
            "direction": self.direction,
            "qty": self.qty,
            "on": self.on.isoformat(),
            "known_on": None if self.known_on is None else self.known_on.isoformat(),
            "status": str(self.status),
        }


@dataclass(frozen=True)
class ClaimCheck:
    """One claim checked: what was claimed, what the books and forecast say."""

    id: str
    org: str
    kind: ClaimKind
    claimed: int
    books_then: int
    books_now: int
    forecast_p50: int | None
    forecast_p90: int | None
    gap: int | None
    explained_by: tuple[Explanation, ...]
    overstated: bool

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract for one claim."""
        return {
            "id": self.id,
            "org": self.org,
            "kind": str(self.kind),
            "claimed": self.claimed,
            "books_then": self.books_then,
            "books_now": self.books_now,
            "forecast_p50": self.forecast_p50,
            "forecast_p90": self.forecast_p90,
            "gap": self.gap,
            "explained_by": [e.to_json() for e in self.explained_by],
            "overstated": self.overstated,
        }


def _explanations(
    org: str, until: date, diversions: Sequence[Diversion]
) -> tuple[Explanation, ...]:
    out = []
    for d in diversions:
        if d.status is DiversionStatus.VOIDED or d.on > until or d.from_org == d.to_org:
            continue
        if org not in (d.from_org, d.to_org):
            continue
        direction = "out" if d.from_org == org else "in"
        out.append(Explanation(d.id, direction, d.qty, d.on, d.known_on, d.status))
    return tuple(sorted(out, key=lambda e: (e.on, e.id)))


def check_claims(
    claims: Sequence[Claim],
    holdings: HoldingsFn,
    diversions: Sequence[Diversion],
    forecast: Forecast | None,
    *,
    tolerance: float = 0.05,
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

    Raises:
        ValueError: ``tolerance`` is not in [0, 1).
        UnknownRecord: the forecast tracks no holdings for a target claim's org
            and SKU.
    """
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"claim tolerance {tolerance} is not in [0, 1)")
    checks = []
    for claim in claims:
        then = holdings(claim.org, claim.sku, claim.stated_on, claim.stated_on)
        now = holdings(claim.org, claim.sku, claim.stated_on, None)
        floor = claim.qty * (1.0 - tolerance)
        p50: int | None = None
        p90: int | None = None
        if claim.kind is ClaimKind.ACTUAL:
            gap: int | None = claim.qty - now
            overstated = now < floor
            until = claim.stated_on
        else:
            until = claim.by
            gap, overstated = None, False
            if forecast is not None:
                low, p50, _high = forecast.holdings_quantiles(claim.org, claim.by, claim.sku)
                p90 = low  # the level held with 90% confidence: the 10th percentile
                gap = claim.qty - p50
                overstated = p50 < floor
        checks.append(
            ClaimCheck(
                id=claim.id,
                org=claim.org,
                kind=claim.kind,
                claimed=claim.qty,
                books_then=then,
                books_now=now,
                forecast_p50=p50,
                forecast_p90=p90,
                gap=gap,
                explained_by=_explanations(claim.org, until, diversions),
                overstated=overstated,
            )
        )
    return checks


def claims_report(checks: Sequence[ClaimCheck]) -> dict[str, Any]:
    """The report JSON: ``{"claims": [...]}``."""
    return {"claims": [c.to_json() for c in checks]}
