"""The founding story, computed: ``gpuledger demo`` and its JSON.

In December 2023, 12,000 H100s shipped for Tesla went to X. From books that
hold the story (``gpuledger.scenario.demo_scenario_path()``), :func:`demo_report`
reads the books around the diversion, its impact on Tesla's targets with and
without X's payback lots, the GPU-days Tesla held less, and Tesla's public
claims against the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gpuledger.claims import ClaimCheck
from gpuledger.domain import Bucket, Diversion, PolicyName
from gpuledger.domain.money import rental_usd
from gpuledger.domain.serialize import jsonable
from gpuledger.ledger import Ledger
from gpuledger.planning import Impact
from gpuledger.services.books import holdings
from gpuledger.services.claims import claims_report
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.planning import ONE_DAY, impact_of_diversion
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED

FOUNDING_DIVERSION = "DIV-2023-12-TESLA-X"
#: The forecast behind the demo's claims check.
DEMO_SAMPLES = DEFAULT_SAMPLES
DEMO_SEED = DEFAULT_SEED


@dataclass(frozen=True)
class HoldingsRow:
    """One org's held units at one reading of the books."""

    label: str
    as_of: date
    known_on: date | None
    org: str
    held: int
    in_transit: int


_HIDDEN: dict[str, Any] = {"json": False}


@dataclass(frozen=True)
class DemoReport:
    """The founding story's report; its JSON fields are ``gpuledger demo --json``.

    ``with_payback``, ``without_payback`` and ``claims`` hold the JSON of the
    results kept beside them (``impacts``, ``checks``) for the tables.
    """

    scenario: str
    diversion: str
    policy: PolicyName
    books: tuple[HoldingsRow, ...]
    window_end: date
    giver_gpu_days_lost: int  # without payback, diversion day .. window_end
    giver_gpu_days_lost_with_payback: int
    with_payback: dict[str, Any]
    without_payback: dict[str, Any]
    gpu_hour_price_usd: float | None
    gpu_hour_price_source: str | None
    claims: tuple[dict[str, Any], ...]
    record: Diversion = field(metadata=_HIDDEN)
    impacts: tuple[Impact, Impact] = field(metadata=_HIDDEN)  # (with, without) payback
    checks: tuple[ClaimCheck, ...] = field(default=(), metadata=_HIDDEN)

    def cost_usd(self, gpu_days: int) -> float | None:
        """Rental-equivalent cost of GPU-days at the scenario's assumed price."""
        return rental_usd(gpu_days, self.gpu_hour_price_usd)

    def to_json(self) -> dict[str, Any]:
        """Everything the demo prints, for machines."""
        data: dict[str, Any] = jsonable(self)
        return data


def demo_report(
    ledger: Ledger,
    diversion_id: str = FOUNDING_DIVERSION,
    policy: PolicyName = DEFAULT_POLICY,
) -> DemoReport:
    """Compute the founding story's report from books that hold it.

    Phases: 1. read the diversion and the scenario's parameters; 2. the books
    the day before and the day of the diversion, and on the day of each of the
    giver's statements as known then and as known now; 3. the impact of the
    diversion with and without its payback, under ``policy``; 4. the public
    claims against the books and a seeded forecast.
    """
    # 1. The diversion and the assumptions.
    scenario = ledger.to_scenario()
    d = ledger.diversion(diversion_id).diversion
    sku = ledger.trace(d.lot).sku
    # 2. The books around the decision.
    books = _readings(ledger, d, sku)
    # 3. What it cost, with and without the payback, over the impact's window.
    with_payback = impact_of_diversion(ledger, diversion_id, policy)
    without = impact_of_diversion(ledger, diversion_id, policy, with_payback=False)
    # 4. The claims against the books and a seeded forecast.
    fc = forecast_report(ledger, policy, samples=DEMO_SAMPLES, seed=DEMO_SEED)
    checks = tuple(claims_report(ledger, fc))
    return DemoReport(
        scenario=scenario.name,
        diversion=d.id,
        policy=policy,
        books=books,
        window_end=without.window_end,
        giver_gpu_days_lost=_lost(without, d.from_org, sku),
        giver_gpu_days_lost_with_payback=_lost(with_payback, d.from_org, sku),
        with_payback=with_payback.to_json(),
        without_payback=without.to_json(),
        gpu_hour_price_usd=scenario.parameters.gpu_hour_price_usd,
        gpu_hour_price_source=scenario.parameters.gpu_hour_price_source,
        claims=tuple(c.to_json() for c in checks),
        record=d,
        impacts=(with_payback, without),
        checks=checks,
    )


def _readings(ledger: Ledger, d: Diversion, sku: str) -> tuple[HoldingsRow, ...]:
    """Both sides' holdings the day before and of the diversion, and at each statement."""
    orgs = sorted({d.from_org, d.to_org})
    readings: list[tuple[str, date, date | None]] = [
        ("day before the diversion", d.on - ONE_DAY, None),
        ("day of the diversion", d.on, None),
    ]
    claims = ledger.to_scenario().claims
    for stated in sorted({c.stated_on for c in claims if c.org == d.from_org}):
        # the books record what was public: "then" is the public's knowledge, not the giver's
        readings.append((f"{stated.isoformat()}, as publicly known then", stated, stated))
        readings.append((f"{stated.isoformat()}, as known now", stated, None))
    rows = []
    for label, as_of, known in readings:
        held = holdings(ledger, as_of, known)
        moving = holdings(ledger, as_of, known, (Bucket.IN_TRANSIT,))
        rows += [
            HoldingsRow(label, as_of, known, o, held.get((o, sku), 0), moving.get((o, sku), 0))
            for o in orgs
        ]
    return tuple(rows)


def _lost(result: Impact, org: str, sku: str) -> int:
    """The org-level headline of an impact: GPU-days ``org`` held less over its window."""
    row = result.org(org, sku)
    return 0 if row is None else row.gpu_days_lost
