"""Reliability against a real server on 127.0.0.1: concurrent diversions, SIGKILL mid-import.

50 clients race to divert the same 12,000 units: exactly one reservation holds,
the books balance and audit verify passes, on SQLite and on PostgreSQL. A server
killed with SIGKILL during a bulk import leaves the import wholly there or wholly
absent.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.scenario import parse_scenario
from tests.api.conftest import FLEET, add_users, cheap_hasher
from tests.api.live import LiveServer

CLIENTS = 50
NOW = datetime(2024, 2, 1, tzinfo=UTC)


def prepare(url: str) -> dict[str, str]:
    """Import the fleet and create the users; return their tokens."""
    ledger = Ledger.open(url, clock=lambda: NOW)
    try:
        ledger.import_scenario(parse_scenario(FLEET.read_text()), actor="setup")
        return add_users(Governance(ledger.engine, lambda: NOW, cheap_hasher()))
    finally:
        ledger.close()


def check_books(url: str) -> Ledger:
    """Conservation per SKU and the hash chain; the caller closes the ledger."""
    ledger = Ledger.open(url, clock=lambda: NOW)
    totals: dict[str, int] = defaultdict(int)
    for b in ledger.balances():
        totals[b.sku] += b.posted
    assert all(v == 0 for v in totals.values()), totals
    report = ledger.verify()
    assert report.ok, report
    return ledger


def race(url: str) -> None:
    tokens = prepare(url)
    server = LiveServer.start(url)
    try:
        barrier = threading.Barrier(CLIENTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def client(i: int) -> None:
            body = {
                "id": f"RACE-{i}",
                "lot": "LOT-T1",
                "qty": 12000,
                "from_org": "tesla",
                "to_org": "x",
                "on": "2024-02-01",
            }
            headers = {
                "Authorization": f"Bearer {tokens['planner']}",
                "Idempotency-Key": f"race-{i}",
            }
            with httpx.Client(timeout=120) as http:
                barrier.wait()
                r = http.post(f"{server.base}/diversions", json=body, headers=headers)
            with lock:
                statuses.append(r.status_code)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert Counter(statuses) == Counter({200: 1, 409: CLIENTS - 1}), Counter(statuses)
    ledger = check_books(url)
    try:
        pending = [v for v in ledger.diversions() if v.diversion.id.startswith("RACE-")]
        assert len(pending) >= 1
        reserved = -sum(
            b.pending for b in ledger.balances() if b.owner == "org:tesla" and b.pending < 0
        )
        assert reserved == 12000
    finally:
        ledger.close()


@pytest.mark.slow
def test_fifty_clients_divert_the_same_units_on_sqlite(tmp_path: Path) -> None:
    race(f"sqlite:///{tmp_path / 'books.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_clients_divert_the_same_units_on_postgres(postgres_schema_url: str) -> None:
    race(postgres_schema_url)


# --------------------------------------------------------------------------- SIGKILL


def bulk_scenario(lots: int) -> str:
    """A scenario with ``lots`` lots of one big order, every one shipped and received."""
    lines = [
        "name: bulk",
        "as_of: 2024-01-31",
        "skus: [{id: H100}]",
        "vendors:",
        "  - id: nvidia",
        "    lead_time: [{sku: H100, from: 2023-01-01, p50_days: 300, p90_days: 360}]",
        "groups: [{id: musk}]",
        "orgs: [{id: tesla, group: musk}, {id: x, group: musk}, {id: acme}]",
        "orders:",
        f"  - {{id: PO-BULK, org: acme, vendor: nvidia, sku: H100, qty: {lots * 10}, "
        "ordered_on: 2023-01-10}",
        "lots:",
    ]
    lines += [
        f"  - {{id: BULK-{i:06d}, order: PO-BULK, qty: 10, ships_on: 2023-06-01, "
        "arrives_on: 2023-06-15, consignee: acme}"
        for i in range(lots)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'books.db'}"


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_bulk_import_leaves_all_or_nothing(sqlite_url: str) -> None:
    tokens = prepare(sqlite_url)
    text = bulk_scenario(4000)
    server = LiveServer.start(sqlite_url)
    outcome: list[object] = []

    def upload() -> None:
        try:
            r = httpx.post(
                f"{server.base}/scenario",
                json={"yaml": text, "filename": "bulk.yaml"},
                headers={"Authorization": f"Bearer {tokens['root']}", "Idempotency-Key": "bulk"},
                timeout=120,
            )
            outcome.append(r.status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    baseline = wal.stat().st_size if wal.exists() else 0
    thread = threading.Thread(target=upload)
    thread.start()
    # 1. kill once the import's transaction is writing pages (the WAL grows), not before
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and thread.is_alive():
        if wal.exists() and wal.stat().st_size > baseline + 256 * 1024:
            break
        time.sleep(0.005)
    server.kill()
    thread.join()
    assert outcome and isinstance(outcome[0], httpx.HTTPError), "the import finished first"
    # 2. after restart the books open, and the import is wholly there or wholly absent
    restarted = LiveServer.start(sqlite_url)
    restarted.stop()
    ledger = check_books(sqlite_url)
    try:
        lots = {t.lot for t in ledger.transfers() if t.lot.startswith("BULK-")}
        assert len(lots) in (0, 4000), len(lots)
    finally:
        ledger.close()
