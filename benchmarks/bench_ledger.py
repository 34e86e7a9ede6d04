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
schema dropped at the end. Ratios to the floor are given in wall time and in the
CPU time of this process (steadier on a shared machine; on PostgreSQL it leaves
out the server's). Figures go to stdout; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
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


CLOCK = datetime(2024, 1, 2, tzinfo=UTC)


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def floor_rows(m: d.Movement) -> tuple[str, str, str, str, str]:
    """The floor's rendering of a deploy: (event id, body, transfer id, debit, credit owner).

    The canonical JSON the ledger writes for the same movement, from one template.
    """
    eid, tid = f"movement:{m.id}", f"movement:{m.id}:0"
    debit, credit = f"org:{m.org}", f"cluster:{m.cluster}"
    body = (
        f'{{"input":{{"cluster":{_json(m.cluster or "")},"id":{_json(m.id)},"known_on":null,'
        f'"lot":{_json(m.lot or "")},"on":"{m.on.isoformat()}","op":"deploy",'
        f'"org":{_json(m.org)},"qty":{m.qty},"source":null}},"op":"movement",'
        f'"transfers":[{{"credit":{_json(credit + "/deployed")},'
        f'"debit":{_json(debit + "/stock")},"diversion":null,"id":{_json(tid)},'
        f'"kind":"deploy","lot":{_json(m.lot or "")},"pending_id":null,"phase":"single",'
        f'"qty":{m.qty},"sku":{_json(SKU)}}}]}}'
    )
    return eid, body, tid, debit, credit


def sqlite_floor(path: str, ops: list[d.Movement], batch: int) -> tuple[int, str]:
    """Raw ``sqlite3``: the same events (byte-identical bodies, same SHA-256 chain) and
    transfers, one balance SELECT and check per movement; returns (transfers, head hash).
    """
    eff = "2024-01-01 00:00:00.000000"
    rec = CLOCK.strftime("%Y-%m-%d %H:%M:%S.%f")
    eff_h, rec_h = "2024-01-01T00:00:00.000000+00:00", CLOCK.isoformat(timespec="microseconds")
    balance_sql = (
        "SELECT COALESCE(SUM(CASE WHEN credit_owner=?1 AND credit_bucket='stock' THEN qty END),0)"
        " - COALESCE(SUM(CASE WHEN debit_owner=?1 AND debit_bucket='stock' THEN qty END),0)"
        " FROM transfers WHERE lot=?2"
    )
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    posted, prev = 0, ""
    for start in range(0, len(ops), batch):
        con.execute("BEGIN IMMEDIATE")
        seq, prev = con.execute("SELECT seq, hash FROM chain_head WHERE id=1").fetchone()
        taken: dict[tuple[str, str], int] = {}
        ev_rows, tr_rows = [], []
        for m in ops[start : start + batch]:
            eid, body, tid, debit, credit = floor_rows(m)
            key = (debit, m.lot or "")
            have = con.execute(balance_sql, (debit, m.lot)).fetchone()[0] - taken.get(key, 0)
            if have < m.qty:
                raise RuntimeError(f"floor: {m.id} lacks units")
            taken[key] = taken.get(key, 0) + m.qty
            seq += 1
            env = (
                f'{{"actor":"bench","body":{body},"effective_at":"{eff_h}","id":{_json(eid)},'
                f'"kind":"operation","recorded_at":"{rec_h}","seq":{seq}}}'
            )
            digest = hashlib.sha256((prev + env).encode()).hexdigest()
            ev_rows.append((seq, eid, "operation", body, "bench", eff, rec, prev, digest))
            tr_rows.append(
                (tid, seq, "deploy", "single", None, None, debit, "stock", credit, "deployed",
                 SKU, m.lot, m.qty, eff, rec)
            )  # fmt: skip
            prev = digest
        con.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)", ev_rows)
        con.executemany("INSERT INTO transfers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", tr_rows)
        con.execute("UPDATE chain_head SET seq=?, hash=? WHERE id=1", (seq, prev))
        con.execute("COMMIT")
        posted += len(tr_rows)
    con.close()
    return posted, prev


def postgres_floor(url: str, ops: list[d.Movement], batch: int) -> tuple[int, str]:
    """psycopg with binary COPY: the same events and chain as :func:`sqlite_floor`, the
    head row locked as the ledger does, the balances of the batch's lots from one
    query and each movement checked against them (a SELECT per movement would
    measure round trips, not the database). Rows go by binary COPY with each value
    in its column's type, and sums come as BIGINT (SUM of a BIGINT is NUMERIC: a
    Decimal per row), as the ledger's batch lane does. The lots are matched by
    ``= ANY``: on these tables, never analysed, the lane's semijoin on an unnested
    array made the floor 2.5x slower.
    """
    import psycopg

    eff = datetime(2024, 1, 1, tzinfo=UTC)
    eff_h, rec_h = "2024-01-01T00:00:00.000000+00:00", CLOCK.isoformat(timespec="microseconds")
    balance_sql = (
        "SELECT lot, owner, CAST(SUM(q) AS BIGINT) FROM ("
        " SELECT lot, credit_owner AS owner, qty AS q FROM transfers"
        "  WHERE credit_bucket = 'stock' AND lot = ANY(%(lots)s)"
        " UNION ALL SELECT lot, debit_owner, -qty FROM transfers"
        "  WHERE debit_bucket = 'stock' AND lot = ANY(%(lots)s))"
        " t GROUP BY lot, owner"
    )
    text, int8, stamp = "text", "int8", "timestamptz"
    event_types = [int8, text, text, text, text, stamp, stamp, text, text]
    transfer_types = [text, int8, *[text] * 10, int8, stamp, stamp]
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    search_path = plain.split("options=-csearch_path%3D")[-1]
    posted, prev = 0, ""
    with psycopg.connect(plain.split("?")[0], options=f"-csearch_path={search_path}") as con:
        for start in range(0, len(ops), batch):
            with con.transaction(), con.cursor() as cur:
                cur.execute("SELECT seq, hash FROM chain_head WHERE id=1 FOR UPDATE")
                seq, prev = cur.fetchone() or (0, "")
                chunk = ops[start : start + batch]
                cur.execute(balance_sql, {"lots": sorted({m.lot for m in chunk})})
                stock = {(owner, lot): int(q) for lot, owner, q in cur.fetchall()}
                ev_rows, tr_rows = [], []
                for m in chunk:
                    eid, body, tid, debit, credit = floor_rows(m)
                    key = (debit, m.lot or "")
                    if stock.get(key, 0) < m.qty:
                        raise RuntimeError(f"floor: {m.id} lacks units")
                    stock[key] -= m.qty
                    seq += 1
                    env = (
                        f'{{"actor":"bench","body":{body},"effective_at":"{eff_h}",'
                        f'"id":{_json(eid)},"kind":"operation","recorded_at":"{rec_h}",'
                        f'"seq":{seq}}}'
                    )
                    digest = hashlib.sha256((prev + env).encode()).hexdigest()
                    ev_rows.append((seq, eid, "operation", body, "bench", eff, CLOCK, prev, digest))
                    tr_rows.append(
                        (tid, seq, "deploy", "single", None, None, debit, "stock", credit,
                         "deployed", SKU, m.lot, m.qty, eff, CLOCK)
                    )  # fmt: skip
                    prev = digest
                with cur.copy(
                    "COPY events (seq, id, kind, body, actor, effective_at, recorded_at, "
                    "prev_hash, hash) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(event_types)
                    for row in ev_rows:
                        copy.write_row(row)
                with cur.copy(
                    "COPY transfers (id, event_seq, kind, phase, pending_id, diversion, "
                    "debit_owner, debit_bucket, credit_owner, credit_bucket, sku, lot, qty, "
                    "effective_at, recorded_at) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(transfer_types)
                    for row in tr_rows:
                        copy.write_row(row)
                cur.execute("UPDATE chain_head SET seq=%s, hash=%s WHERE id=1", (seq, prev))
                posted += len(tr_rows)
    return posted, prev


def snapshot_after_writes(books: Ledger, lot: str, label: str, writes: int = 20) -> None:
    """The planning snapshot and the balances read after each of ``writes`` single
    writes (brought forward from the kept ones) against the same read rebuilt from
    the books (``build_snapshot``; the ``sum_balances`` aggregate), and against a
    read with nothing written in between (a warm memo). CPU times.
    """
    from gpuledger.ledger.queries import sum_balances
    from gpuledger.ledger.snapshot import build_snapshot

    def aggregate(conn: sa.Connection, as_of: date) -> object:
        return sum_balances(conn)

    as_of = date(2024, 1, 1)
    org = f"org{int(lot.removeprefix('LOT-')) % ORGS:02d}"
    reads = {
        "snapshot": (lambda: books.snapshot(as_of), build_snapshot),
        "balances": (lambda: books.balances(), aggregate),
    }
    for read, _ in reads.values():
        read()  # the kept bases
    times: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)

    def timed(name: str, what: str, read: Callable[[], object]) -> None:
        c, w = time.process_time(), time.perf_counter()
        read()
        times[(name, what)].append((time.process_time() - c, time.perf_counter() - w))

    def rebuilt(rebuild: Callable[[sa.Connection, date], object]) -> None:
        with books.engine.connect() as conn:
            rebuild(conn, as_of)

    for n in range(writes):
        m = d.Movement(f"S{n:05d}", d.TransferKind.DEPLOY, 1, as_of, org, lot=lot,
                       cluster=f"c{org.removeprefix('org')}-0")  # fmt: skip
        books.deploy(m, actor="bench")
        for name, (read, rebuild) in reads.items():
            timed(name, "after", read)
            timed(name, "warm", read)
            timed(name, "rebuilt", functools.partial(rebuilt, rebuild))

    def ms(name: str, what: str) -> str:
        cpu, wall = (statistics.median(x) * 1000 for x in zip(*times[(name, what)], strict=True))
        return f"{cpu:.2f} ms CPU / {wall:.2f} ms wall"

    for name in reads:
        print(
            f"[{label}] {name} after a write (median of {writes}): brought forward "
            f"{ms(name, 'after')}, rebuilt {ms(name, 'rebuilt')}, warm memo {ms(name, 'warm')}"
        )


def head_hash(url: str) -> str:
    """The chain head's hash of the books at ``url``."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT hash FROM chain_head WHERE id = 1")).scalar_one()
    engine.dispose()
    return str(found)


def run(
    url: str, label: str, lots: int, transfers: int, batch: int, floor_url: str | None = None
) -> None:
    """Time the import, the batches (and the floor in the same run) and verify.

    ``floor_url``: PostgreSQL books (another schema) for the COPY floor; the same
    scenario is imported there first, untimed.
    """
    clock = CLOCK
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
    floor_db: str | None = None
    if label == "sqlite":  # the floor starts from a copy of the same imported books
        books.close()
        path = url.removeprefix("sqlite:///")
        floor_db = path + ".floor"
        with sqlite3.connect(path) as src, sqlite3.connect(floor_db) as dst:
            src.backup(dst)
        books = Ledger.open(url, clock=lambda: clock)
    if floor_url is not None:
        other = Ledger.open(floor_url, clock=lambda: clock)
        other.import_scenario(scenario)
        other.close()
    t0, c0 = time.perf_counter(), time.process_time()
    posted = 0
    for start in range(0, len(ops), batch):
        posted += books.post_batch(ops[start : start + batch], actor="bench").new_transfers
    t_post, c_post = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"[{label}] post {posted} transfers in batches of {batch}: {t_post:.2f} s = "
        f"{posted / t_post:,.0f} transfers/s (one operation event each; CPU {c_post:.2f} s)"
    )
    if floor_db is not None or floor_url is not None:
        t0, c0 = time.perf_counter(), time.process_time()
        if floor_db is not None:
            n_floor, floor_head = sqlite_floor(floor_db, ops, batch)
            what = "raw sqlite3, one balance SELECT per movement"
        else:
            assert floor_url is not None
            n_floor, floor_head = postgres_floor(floor_url, ops, batch)
            what = "psycopg binary COPY, one balance query per batch"
        t_floor, c_floor = time.perf_counter() - t0, time.process_time() - c0
        same = floor_head == head_hash(url)
        print(
            f"[{label}] floor+v ({what}, same events and chain): {t_floor:.2f} s = "
            f"{n_floor / t_floor:,.0f} transfers/s; "
            f"ledger/floor {t_post / t_floor:.2f}x (CPU of this process "
            f"{c_post / c_floor:.2f}x); same chain head: {same}"
        )
    snapshot_after_writes(books, ops[-1].lot or "", label)
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
        schemas = [f"bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]  # ledger, floor
        admin = sa.create_engine(args.postgres, poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.postgres else "?"
        try:
            url, floor_url = (f"{args.postgres}{sep}options=-csearch_path%3D{x}" for x in schemas)
            run(url, "postgres", args.lots, args.transfers, args.batch, floor_url)
        finally:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
