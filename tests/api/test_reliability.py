"""Reliability against a real server on 127.0.0.1: concurrent diversions, SIGKILL mid-import.

50 clients race to divert the same 12,000 units: exactly one reservation holds,
the books balance and audit verify passes, on SQLite and on PostgreSQL. A server
killed with SIGKILL during a bulk import leaves the import wholly there or wholly
absent, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

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
        gov = Governance(ledger.engine, lambda: NOW, cheap_hasher())
        if not gov.users():  # books with users take imports through governance only
            ledger.import_scenario(parse_scenario(FLEET.read_text()), actor="setup")
        return add_users(gov)
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
    # Every request at once: the server's own line would take the writes in turn, and
    # the race is for the ledger's lock to win.
    server = LiveServer.start(url, settings={"GPULEDGER_REQUESTS_AT_ONCE": "0"})
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
                # 50 first checks of one token at once meet the sign-in limiter's cap on
                # concurrent checks (services.fair_use): a client retries after Retry-After
                for _ in range(20):
                    if r.status_code != 429:
                        break
                    time.sleep(float(r.headers.get("Retry-After", "1")))
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


def sigkill_mid_import(url: str, writing: Callable[[], bool], lots: int = 4000) -> None:
    """Kill the server with SIGKILL once ``writing()`` says the import is writing rows.

    Then restart it on the same books: they open, the import is wholly there or
    wholly absent, conservation holds and audit verify passes.
    """
    tokens = prepare(url)
    text = bulk_scenario(lots)
    server = LiveServer.start(url)
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

    thread = threading.Thread(target=upload)
    thread.start()
    # 1. kill once the import's transaction is writing rows, not before
    deadline = time.monotonic() + 60
    caught = False
    while time.monotonic() < deadline and thread.is_alive() and not caught:
        caught = writing()
        if not caught:
            time.sleep(0.005)
    server.kill()
    thread.join()
    assert caught, "the import was never seen writing"
    assert outcome and isinstance(outcome[0], httpx.HTTPError), "the import finished first"
    # 2. after restart the books open, and the import is wholly there or wholly absent
    restarted = LiveServer.start(url)
    restarted.stop()
    ledger = check_books(url)
    try:
        found = {t.lot for t in ledger.transfers() if t.lot.startswith("BULK-")}
        assert len(found) in (0, lots), len(found)
    finally:
        ledger.close()


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_bulk_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    prepare(url)  # the books exist before the baseline is read (prepare is idempotent)
    wal = tmp_path / "books.db-wal"
    baseline = wal.stat().st_size if wal.exists() else 0

    def writing() -> bool:  # the import's transaction is writing pages: the WAL grows
        return wal.exists() and wal.stat().st_size > baseline + 256 * 1024

    sigkill_mid_import(url, writing)


@pytest.mark.slow
@pytest.mark.postgres
def test_sigkill_in_the_middle_of_a_bulk_import_on_postgres(
    postgres_schema_url: str, postgres_url: str
) -> None:
    # the server's connections carry a name of their own, so this test finds them
    name = f"gpl-sigkill-{uuid.uuid4().hex[:12]}"
    url = f"{postgres_schema_url}&application_name={name}"
    monitor = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    seen = sa.text(
        "SELECT pid, state, backend_xid IS NOT NULL AS writes, query "
        "FROM pg_stat_activity WHERE application_name = :name"
    )

    def backends() -> list[sa.Row[Any]]:
        with monitor.connect() as conn:
            return list(conn.execute(seen, {"name": name}))

    def writing() -> bool:  # a transaction with an xid whose statement inserts rows
        return any(
            r.writes
            and r.state in ("active", "idle in transaction")
            and r.query.lstrip().upper().startswith(("INSERT", "COPY"))
            for r in backends()
        )

    try:
        sigkill_mid_import(url, writing)
    finally:
        # the killed server's backend rolls back once it sees its client gone; wait for it
        # (so dropping the schema does not wait on its locks), ending it only if it lingers
        deadline = time.monotonic() + 30
        while backends() and time.monotonic() < deadline:
            time.sleep(0.1)
        with monitor.connect() as conn:
            for r in backends():
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": r.pid})
        monitor.dispose()
