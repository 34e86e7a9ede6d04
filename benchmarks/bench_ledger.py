"""Ledger benchmark: import a generated scenario, then post transfers in batches.

Run: ``python -m benchmarks.bench_ledger [--postgres URL] [--lots 50000]
[--transfers 100000] [--batch 10000]``.

1. Generates a scenario of ``--lots`` lots (20 orgs, 2 clusters each, every lot
   shipped and arrived before ``as_of``), so the import posts a ship and a
   receive per lot and a document per record.
2. Imports it (one transaction) and prints lots/s and transfers/s.
3. Posts ``--transfers`` deployments (one transfer each, plus its movement
   operation event) through ``Ledger.post_batch`` in batches of ``--batch`` and prints
   transfers/s.
4. Runs ``verify()`` and prints its time.
SQLite runs on a temporary file (WAL); PostgreSQL, when given, in a temporary
schema dropped at the end. Figures go to stdout; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from gpuledger import domain as d
from gpuledger.ledger import Ledger

SKU = "H100-SXM5-80GB"
ORGS = 20
LOT_QTY = 100


def make_scenario(lots: int) -> d.Scenario:
    """A fleet of ``lots`` lots of 100 units, spread over 20 orgs and 2023."""
    orgs = tuple(d.Org(f"org{i:02d}") for i in range(ORGS))
    clusters = tuple(d.Cluster(f"c{i:02d}-{k}", f"org{i:02d}") for i in range(ORGS) for k in (0, 1))
    orders = tuple(
        d.Order(f"PO-{i:02d}", f"org{i:02d}", "nvidia", SKU, lots * LOT_QTY, date(2023, 1, 2))
        for i in range(ORGS)
    )
    start = date(2023, 2, 1)
    lot_list = tuple(
        d.Lot(
            f"LOT-{n:06d}",
            f"PO-{n % ORGS:02d}",
            LOT_QTY,
            start + timedelta(days=n % 300),
            start + timedelta(days=n % 300 + 14),
            f"org{n % ORGS:02d}",
        )
        for n in range(lots)
    )
    return d.Scenario(
        name="bench",
        as_of=date(2024, 1, 1),
        skus=(d.Sku(SKU),),
        vendors=(d.Vendor("nvidia", lead_times=(d.LeadTime(SKU, date(2023, 1, 1), 200, 260),)),),
        orgs=orgs,
        clusters=clusters,
        orders=orders,
        lots=lot_list,
    )


def movements(lots: int, count: int) -> list[d.Movement]:
    """``count`` deployments of 1 unit, round-robin over the lots (each lot has 100)."""
    out = []
    for n in range(count):
        lot = n % lots
        org = lot % ORGS
        out.append(
            d.Movement(
                f"M{n:07d}",
                d.TransferKind.DEPLOY,
                1,
                date(2024, 1, 1),
                f"org{org:02d}",
                lot=f"LOT-{lot:06d}",
                cluster=f"c{org:02d}-{n % 2}",
            )
        )
    return out


def run(url: str, label: str, lots: int, transfers: int, batch: int) -> None:
    """Time the import, the batches and verify on one database."""
    clock = datetime(2024, 1, 2, tzinfo=UTC)
    scenario = make_scenario(lots)
    books = Ledger.open(url, clock=lambda: clock)
    t0 = time.perf_counter()
    report = books.import_scenario(scenario)
    t_import = time.perf_counter() - t0
    print(
        f"[{label}] import {lots} lots: {t_import:.2f} s = {lots / t_import:,.0f} lots/s; "
        f"{report.new_transfers} transfers ({report.new_transfers / t_import:,.0f}/s), "
        f"{report.new_events} events"
    )
    ops = movements(lots, transfers)
    t0 = time.perf_counter()
    posted = 0
    for start in range(0, len(ops), batch):
        posted += books.post_batch(ops[start : start + batch], actor="bench").new_transfers
    t_post = time.perf_counter() - t0
    print(
        f"[{label}] post {posted} transfers in batches of {batch}: {t_post:.2f} s = "
        f"{posted / t_post:,.0f} transfers/s (one operation event each)"
    )
    t0 = time.perf_counter()
    audit = books.verify()
    print(
        f"[{label}] verify {audit.events_checked} events: {time.perf_counter() - t0:.2f} s, "
        f"ok={audit.ok}"
    )
    books.close()


def main() -> None:
    """Parse the arguments and run on SQLite, then PostgreSQL if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (postgresql+psycopg://...)")
    parser.add_argument("--lots", type=int, default=50_000)
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "sqlite", args.lots, args.transfers, args.batch)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres, poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.postgres else "?"
        try:
            url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            run(url, "postgres", args.lots, args.transfers, args.batch)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
