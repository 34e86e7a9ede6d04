"""Epoch AI import benchmark: the full GPU clusters file, against a plain CSV parse of it.

Run: ``python -m benchmarks.bench_epoch [--repeat 5]``.

Each figure is the best of ``--repeat`` runs, measured in the same process as
its baseline, so the ratios hold on a busy machine:

1. baseline: ``csv.reader`` over ``gpu_clusters.csv`` (786 rows), every row in a list;
2. read and map the clusters file alone (``read_csv`` + ``epoch_scenario``);
3. read and map all three files (``read_epoch``: clusters, timelines, data centers);
4. check the scenario with every rule of a scenario file (``check_scenario``);
5. ``import_epoch`` into fresh SQLite books (all of the above plus one unit of work);
6. the same import again (a no-op: every document unchanged).

Figures go to stdout; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpuledger.ledger import Ledger
from gpuledger.scenario import check_scenario, dump_scenario, parse_scenario
from gpuledger.scenario.epoch import (
    CLUSTERS_FILE,
    epoch_scenario,
    read_csv,
    read_epoch,
    shipped_folder,
)
from gpuledger.services.epoch import import_epoch


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs (seconds) and the last result."""
    times: list[float] = []
    out: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def plain_parse(path: Path) -> list[list[str]]:
    """The baseline: every row of the file, parsed by the csv module and nothing else."""
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def fresh_import(folder: Path, n: list[int]) -> Any:
    n[0] += 1
    books = Ledger.open(
        f"sqlite:///{folder / f'books{n[0]}.db'}", clock=lambda: datetime(2026, 1, 5, tzinfo=UTC)
    )
    try:
        return import_epoch(books, actor="bench")
    finally:
        books.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = shipped_folder() / CLUSTERS_FILE
    print(f"python {platform.python_version()} on {platform.machine()}; best of {args.repeat}")

    # 1. The baseline.
    base, rows = best(lambda: plain_parse(path), args.repeat)
    print(f"plain csv parse of {CLUSTERS_FILE}: {len(rows) - 1} rows in {base * 1e3:.1f} ms")

    def line(what: str, seconds: float) -> None:
        print(f"{what}: {seconds * 1e3:,.1f} ms ({seconds / base:,.1f}x the plain parse)")

    # 2-4. Mapping and checking, pure.
    t, _ = best(lambda: epoch_scenario(read_csv(path)), args.repeat)
    line("read + map the clusters file", t)
    t, mapped = best(read_epoch, args.repeat)
    line("read + map all three files", t)
    t, _ = best(lambda: check_scenario(mapped.scenario, source="bench"), args.repeat)
    line("check the scenario (check_scenario)", t)
    t, _ = best(lambda: parse_scenario(dump_scenario(mapped.scenario)), args.repeat)
    line("  for comparison: as YAML text (dump + parse)", t)

    # 5-6. Into the books.
    with tempfile.TemporaryDirectory() as tmp:
        folder, n = Path(tmp), [0]
        t, result = best(lambda: fresh_import(folder, n), args.repeat)
        line(f"import-epoch into fresh SQLite books ({result.books.new_events:,} events)", t)
        books = Ledger.open(f"sqlite:///{folder / 'again.db'}")
        try:
            import_epoch(books, actor="bench")
            t, again = best(lambda: import_epoch(books, actor="bench"), args.repeat)
        finally:
            books.close()
        line(f"re-import (no-op: {again.books.new_events} new events)", t)


if __name__ == "__main__":
    main()
