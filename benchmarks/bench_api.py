"""Load run of the REST API on loopback: mixed reads and writes, throughput and p50/p99.

A real uvicorn process on 127.0.0.1 serves a company-size fleet (200 lots, 20
targets, 4 orgs); client threads issue a fixed mix for a bounded time:

- reads (35% / 25% / 15%): ``GET /balances``, ``GET /lots/{lot}/trace``,
  ``GET /diversions?limit=20``;
- impact (15%): ``GET /impact?divert=LOT:QTY:alpha:gamma&on=2024-02-01``, a
  hypothetical diversion of 1-100 units of one of alpha's lots, planned before and
  after under ``consigned`` over the whole company fleet;
- writes (10%): ``POST /diversions`` (1 unit, a fresh id) then ``POST .../reject``.

Usage::

    .venv/bin/python benchmarks/bench_api.py [--seconds 60] [--clients 8] [--db sqlite|URL]
    .venv/bin/python benchmarks/bench_api.py --attack [--seconds 20] [--flooders 20]
    .venv/bin/python benchmarks/bench_api.py --cost 40

Prints one line per request kind (count, per second, p50, p99 in ms) and the total.

``--cost N`` measures what each kind of request costs the server, not how long
it waits: one client, one request at a time, N of each kind, and the server
process's CPU time (user + system, from ``/proc``) summed over the requests of a
kind, per request. Each read is measured twice: right after a write (a
divert+reject pair, not counted; the memo is stale, as in the mix) and repeated
with nothing written in between (warm). CPU time is what the load of other
processes moves least.

``--attack`` measures fair use (issue 10): one legitimate client (``GET /whoami``
and ``GET /balances`` in turn) runs alone for ``--seconds``, then again while
``--flooders`` hostile clients each ask ``GET /forecast?samples=20000`` in a loop
and as many send wrong secrets for known token ids (argon2's cost, if it ran)
from other loopback addresses (127.0.0.2...); each kind runs in a process of
its own, on the same cores as the server. It prints the legitimate client's
p50/p99 in both runs, their ratio, and what the hostile requests got (429s).
The server is the real one: default argon2 parameters and ``ServerSettings``.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.api.live import LiveServer  # noqa: E402

from gpuledger.domain import GroupRole, OrgRole  # noqa: E402
from gpuledger.governance.store import Governance  # noqa: E402
from gpuledger.ledger import Ledger  # noqa: E402
from gpuledger.scenario import parse_scenario  # noqa: E402

ORGS = [("alpha", "g1"), ("beta", "g1"), ("gamma", None), ("delta", None)]


def company_fleet(lots: int = 200, targets: int = 20) -> str:
    """A company-size scenario: ``lots`` lots over 4 orgs, ``targets`` targets."""
    rng = random.Random(7)
    start = date(2023, 1, 2)
    out = [
        "name: company",
        "as_of: 2024-01-31",
        "skus: [{id: H100}]",
        "vendors:",
        "  - id: nvidia",
        "    lead_time: [{sku: H100, from: 2023-01-01, p50_days: 120, p90_days: 180}]",
        "groups: [{id: g1}]",
        "orgs:",
    ]
    out += [f"  - {{id: {o}{', group: ' + g if g else ''}}}" for o, g in ORGS]
    out += ["orders:"]
    out += [
        f"  - {{id: PO-{o}, org: {o}, vendor: nvidia, sku: H100, qty: {lots * 1000}, "
        "ordered_on: 2023-01-02}"
        for o, _ in ORGS
    ]
    out += ["lots:"]
    for i in range(lots):
        org = ORGS[i % len(ORGS)][0]
        ships = start + timedelta(days=rng.randrange(0, 700))
        arrives = ships + timedelta(days=14)
        out.append(
            f"  - {{id: LOT-{i:04d}, order: PO-{org}, qty: {rng.randrange(100, 2000)}, "
            f"ships_on: {ships}, arrives_on: {arrives}, consignee: {org}}}"
        )
    out += ["targets:"]
    for i in range(targets):
        org = ORGS[i % len(ORGS)][0]
        by = start + timedelta(days=200 + 30 * i)
        out.append(
            f"  - {{id: T-{i:02d}, consumer: {org}, sku: H100, qty: {5000 + 500 * i}, "
            f"by: {by}, priority: {1 + i % 3}}}"
        )
    return "\n".join(out) + "\n"


def prepare(url: str) -> tuple[str, list[str]]:
    """Import the fleet, add a user who plans in every org; return its token and stocked lots."""
    now = datetime(2024, 2, 1, tzinfo=UTC)
    ledger = Ledger.open(url, clock=lambda: now)
    scenario = parse_scenario(company_fleet())
    ledger.import_scenario(scenario, actor="bench")
    gov = Governance(ledger.engine, lambda: now)
    gov.add_user("bench", actor="bench")
    gov.grant("bench", GroupRole.GROUP_ADMIN, group="g1", actor="bench")
    for org in ("gamma", "delta"):
        gov.grant("bench", OrgRole.ADMIN, org=org, actor="bench")
    token = gov.create_token("bench", actor="bench").token
    stocked = [
        lot.id
        for lot in scenario.lots
        if lot.consignee == "alpha" and lot.arrives_on <= scenario.as_of
    ]
    ledger.close()
    return token, stocked


def run(base: str, token: str, lots: list[str], seconds: float, clients: int) -> None:
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    ids = itertools.count()
    # warm-up: the server verifies the token with argon2 once, then remembers it
    httpx.get(f"{base}/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    stop_at = time.monotonic() + seconds

    def worker(n: int) -> None:
        rng = random.Random(n)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:

            def divert_and_reject(i: int, body: dict[str, object]) -> httpx.Response:
                r = http.post("/diversions", json=body, headers={"Idempotency-Key": f"p-{i}"})
                if r.status_code == 200:
                    http.post(f"/diversions/B-{i}/reject", headers={"Idempotency-Key": f"r-{i}"})
                return r

            while time.monotonic() < stop_at:
                roll = rng.random()
                req: Callable[[], httpx.Response]
                if roll < 0.35:
                    kind, req = "GET balances", partial(http.get, "/balances")
                elif roll < 0.6:
                    lot = rng.choice(lots)
                    kind, req = "GET trace", partial(http.get, f"/lots/{lot}/trace")
                elif roll < 0.75:
                    kind, req = "GET diversions", partial(http.get, "/diversions?limit=20")
                elif roll < 0.9:
                    query = {
                        "divert": f"{rng.choice(lots)}:{rng.randrange(1, 101)}:alpha:gamma",
                        "on": "2024-02-01",
                    }
                    kind, req = "GET impact", partial(http.get, "/impact", params=query)
                else:
                    i = next(ids)
                    body: dict[str, object] = {
                        "id": f"B-{i}",
                        "lot": rng.choice(lots),
                        "qty": 1,
                        "from_org": "alpha",
                        "to_org": "gamma",
                        "on": "2024-02-01",
                    }
                    kind, req = "POST divert+reject", partial(divert_and_reject, i, body)
                t0 = time.perf_counter()
                r = req()
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    samples[kind].append(dt)
                    if r.status_code >= 400:
                        errors[kind] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} "
        f"{platform.processor() or ''}, {os.cpu_count()} cores, load average {load}, python "
        f"{platform.python_version()}, {clients} clients, {elapsed:.1f} s"
    )
    print(f"{'kind':<22}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    total = 0
    for kind, xs in sorted(samples.items()):
        xs.sort()
        p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
        total += len(xs)
        print(
            f"{kind:<22}{len(xs):>8}{len(xs) / elapsed:>9.1f}{statistics.median(xs):>9.1f}"
            f"{p99:>9.1f}{errors[kind]:>8}"
        )
    print(f"{'total':<22}{total:>8}{total / elapsed:>9.1f}")


# --------------------------------------------------------------------------- --cost


def _server_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cost(base: str, token: str, lots: list[str], pid: int, n: int) -> None:
    """Server CPU per request of each kind, one request at a time (see the module doc)."""
    rng = random.Random(3)
    headers = {"Authorization": f"Bearer {token}"}
    ids = itertools.count()
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:

        def write() -> None:
            i = next(ids)
            body = {"id": f"C-{i}", "lot": rng.choice(lots), "qty": 1, "from_org": "alpha",
                    "to_org": "gamma", "on": "2024-02-01"}  # fmt: skip
            r = http.post("/diversions", json=body, headers={"Idempotency-Key": f"cp-{i}"})
            assert r.status_code == 200, r.text
            r = http.post(f"/diversions/C-{i}/reject", headers={"Idempotency-Key": f"cr-{i}"})
            assert r.status_code == 200, r.text

        def impact() -> httpx.Response:
            query = {"divert": f"{rng.choice(lots)}:{rng.randrange(1, 101)}:alpha:gamma",
                     "on": "2024-02-01"}  # fmt: skip
            return http.get("/impact", params=query)

        reads: dict[str, Callable[[], httpx.Response]] = {
            "GET balances": partial(http.get, "/balances"),
            "GET trace": lambda: http.get(f"/lots/{rng.choice(lots)}/trace"),
            "GET diversions": partial(http.get, "/diversions?limit=20"),
            "GET impact": impact,
        }
        for _ in range(3):  # warm-up: every route once, the token verified
            write()
            for req in reads.values():
                req()

        def measured(req: Callable[[], object]) -> float:
            c = _server_cpu(pid)
            req()
            return _server_cpu(pid) - c

        rows: list[tuple[str, float, float | None]] = []
        for kind, req in reads.items():
            after = warm = 0.0
            for _ in range(n):
                write()
                after += measured(req)
                warm += measured(req)
            rows.append((kind, after / n, warm / n))
        rows.append(("POST divert+reject", sum(measured(write) for _ in range(n)) / n, None))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load}, python {platform.python_version()}, {n} requests of each kind"
    )
    print(f"{'server CPU per request':<24}{'after a write':>15}{'warm':>10}")
    for kind, after, warm in rows:
        shown = "" if warm is None else f"{warm * 1000:.1f} ms"
        print(f"{kind:<24}{after * 1000:>12.1f} ms{shown:>10}")


# --------------------------------------------------------------------------- --attack


def _viewer_token(url: str) -> str:
    """A second user who may see alpha: the forecast flooder (a real token, abused)."""
    now = datetime(2024, 2, 1, tzinfo=UTC)
    ledger = Ledger.open(url, clock=lambda: now)
    gov = Governance(ledger.engine, lambda: now)
    gov.add_user("flood", actor="bench")
    gov.grant("flood", OrgRole.VIEWER, org="alpha", actor="bench")
    token = gov.create_token("flood", actor="bench").token
    ledger.close()
    return token


def _percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def _legitimate(base: str, token: str, stop: threading.Event) -> list[float]:
    """The legitimate client: /whoami and /balances in turn until ``stop``; latencies in ms."""
    times: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for i in itertools.count():
            if stop.is_set():
                break
            t0 = time.perf_counter()
            r = http.get("/whoami" if i % 2 == 0 else "/balances?limit=20")
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    return times


def _hostile(
    base: str, kind: str, token: str, address: str, stop: threading.Event, seen: Counter[str]
) -> None:
    """One hostile client from ``address``: forecasts, or wrong secrets for a token id."""
    transport = httpx.HTTPTransport(local_address=address)
    head, _, secret = token.rpartition("_")
    wrong = f"{head}_{'A' * len(secret)}"
    headers = {"Authorization": f"Bearer {token if kind == 'forecast' else wrong}"}
    path = "/forecast?samples=20000" if kind == "forecast" else "/whoami"
    with httpx.Client(base_url=base, headers=headers, timeout=120, transport=transport) as http:
        while not stop.is_set():
            try:
                status = http.get(path).status_code
            except httpx.HTTPError:
                status = 0
            seen[f"{kind} {status}"] += 1


def _flood(
    base: str, kind: str, token: str, flooders: int, k: int, seconds: float, out: Any
) -> None:
    """A hostile process: ``flooders`` clients of one ``kind``; what they got, to ``out``."""
    stop = threading.Event()
    seen: Counter[str] = Counter()
    args = [(base, kind, token, f"127.0.{k}.{2 + n}", stop, seen) for n in range(flooders)]
    threads = [threading.Thread(target=_hostile, args=a) for a in args]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    out.put(dict(seen))


def attack(
    base: str,
    token: str,
    flood_token: str,
    seconds: float,
    flooders: int,
    kinds: tuple[str, ...] = ("forecast", "bad-token"),
) -> None:
    """The legitimate client alone, then under attack; print both and their ratio.

    The hostile clients of each kind run in a process of their own (as an
    attacker would): on the same cores as the server, but not sharing the
    legitimate client's interpreter lock.
    """
    httpx.get(f"{base}/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def legitimate() -> list[float]:
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        return _legitimate(base, token, stop)

    calm = legitimate()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    floods = [
        context.Process(
            target=_flood,
            args=(base, kind, flood_token if kind == "forecast" else token, flooders, k,
                  seconds + 1.0, out),
        )
        for k, kind in enumerate(kinds)
    ]  # fmt: skip
    for process in floods:
        process.start()
    time.sleep(1.0)  # let the flood start
    stormy = legitimate()
    seen: Counter[str] = Counter()
    for _ in floods:
        seen.update(out.get(timeout=120))
    for process in floods:
        process.join(timeout=60)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load}, python {platform.python_version()}, {seconds:.0f} s per run, "
        f"{flooders} hostile clients of each kind ({', '.join(kinds)}), a process per kind"
    )
    print(f"{'legitimate client':<26}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, xs in (("alone", calm), ("under attack", stormy)):
        p50, p99 = _percentiles(xs)
        print(f"{name:<26}{len(xs):>9}{p50:>9.1f}{p99:>9.1f}")
    ratio = _percentiles(stormy)[1] / _percentiles(calm)[1]
    print(f"p99 under attack / alone: {ratio:.2f}")
    print("hostile requests: " + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--db",
        default="sqlite",
        help="'sqlite' (a temp file) or the URL of empty books (each run imports its fleet)",
    )
    parser.add_argument("--attack", action="store_true", help="fair use under a flood")
    parser.add_argument(
        "--cost", type=int, default=0, metavar="N", help="server CPU per request, N of each kind"
    )
    parser.add_argument("--flooders", type=int, default=20, help="hostile clients of each kind")
    parser.add_argument(
        "--kinds", default="forecast,bad-token", help="hostile kinds: forecast, bad-token"
    )
    args = parser.parse_args()
    url = (
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='gpuledger-bench-')) / 'books.db'}"
        if args.db == "sqlite"
        else args.db
    )
    token, lots = prepare(url)
    flood_token = _viewer_token(url) if args.attack else ""
    server = LiveServer.start(url)
    try:
        if args.attack:
            kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
            attack(server.base, token, flood_token, args.seconds, args.flooders, kinds)
        elif args.cost:
            cost(server.base, token, lots, server.process.pid, args.cost)
        else:
            run(server.base, token, lots, args.seconds, args.clients)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
