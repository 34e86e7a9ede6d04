"""Ledger fixtures: a ledger on each backend, a settable clock, small scenarios as values."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.ledger import Ledger

H100 = "H100-SXM5-80GB"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int = 1) -> None:
        self.now += timedelta(days=days)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'books.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock) -> Iterator[Ledger]:
    books = Ledger.open(ledger_url, clock=clock)
    yield books
    books.close()


def base(as_of: date = date(2024, 7, 1), **changes: object) -> d.Scenario:
    """The founding story in small: Tesla, X (group musk) and xAI; lots of H100."""
    scenario = d.Scenario(
        name="story",
        as_of=as_of,
        skus=(d.Sku(H100, annual_failure_rate=0.09),),
        vendors=(
            d.Vendor(
                "nvidia",
                lead_times=(d.LeadTime(H100, date(2023, 1, 1), 300, 360),),
                transit_slip_p50_days=2,
                transit_slip_p90_days=9,
            ),
        ),
        groups=(d.Group("musk"),),
        orgs=(d.Org("tesla", group="musk"), d.Org("x", group="musk"), d.Org("xai")),
        clusters=(d.Cluster("cortex", "tesla"), d.Cluster("colossus", "xai")),
        orders=(
            d.Order("PO-T1", "tesla", "nvidia", H100, 50_000, date(2023, 3, 1)),
            d.Order("PO-X1", "x", "nvidia", H100, 24_000, date(2023, 3, 1)),
        ),
        lots=(
            d.Lot("LOT-T1-07", "PO-T1", 12_000, date(2023, 12, 4), date(2023, 12, 18), "tesla"),
            d.Lot("LOT-X1-01", "PO-X1", 12_000, date(2024, 1, 10), date(2024, 1, 24), "x"),
            d.Lot("LOT-T1-08", "PO-T1", 10_000, date(2024, 2, 1), date(2024, 2, 15), "tesla"),
            d.Lot("LOT-X1-02", "PO-X1", 12_000, date(2024, 6, 10), date(2024, 6, 24), "x"),
        ),
        targets=(d.Target("tesla-eoy24", "tesla", H100, 85_000, date(2024, 12, 31)),),
        claims=(
            d.Claim(
                "tesla-85k",
                "tesla",
                H100,
                85_000,
                date(2024, 12, 31),
                date(2024, 4, 23),
                d.ClaimKind.TARGET,
            ),
        ),
        diversions=(
            d.Diversion(
                "DIV-DEC23",
                "LOT-T1-07",
                12_000,
                "tesla",
                "x",
                date(2023, 12, 10),
                payback=(d.Payback("LOT-X1-01", 12_000),),
                known_on=date(2024, 6, 4),
            ),
        ),
        movements=(
            d.Movement(
                "M-DEPLOY-1",
                d.TransferKind.DEPLOY,
                5_000,
                date(2024, 3, 1),
                "tesla",
                lot="LOT-T1-08",
                cluster="cortex",
            ),
        ),
    )
    return dataclasses.replace(scenario, **changes)  # type: ignore[arg-type]


def reference(as_of: date = date(2023, 11, 1)) -> d.Scenario:
    """Only the reference documents (orgs, SKUs, orders, lots): nothing has shipped."""
    return d.Scenario(
        name="ref",
        as_of=as_of,
        skus=(d.Sku(H100),),
        vendors=(d.Vendor("nvidia", lead_times=(d.LeadTime(H100, date(2023, 1, 1), 300, 360),)),),
        orgs=(d.Org("a"), d.Org("b"), d.Org("c")),
        clusters=(d.Cluster("ca", "a"), d.Cluster("cb", "b")),
        orders=(d.Order("PO-A", "a", "nvidia", H100, 1000, date(2023, 3, 1)),),
        lots=(
            d.Lot("L1", "PO-A", 100, date(2023, 12, 1), date(2023, 12, 10), "a"),
            d.Lot("L2", "PO-A", 50, date(2023, 12, 5), date(2023, 12, 20), "a"),
        ),
    )


@pytest.fixture
def pair(ledger_url: str, clock: FakeClock) -> Iterator[tuple[Ledger, Ledger]]:
    """Two Ledger objects on one database (as two processes would have)."""
    a = Ledger.open(ledger_url, clock=clock)
    b = Ledger.open(ledger_url, clock=clock)
    a.import_scenario(reference())
    yield a, b
    a.close()
    b.close()
