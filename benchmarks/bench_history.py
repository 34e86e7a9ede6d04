"""What a write and a read after it cost as the books' diversions pile up (issue 16).

The API benchmark's company fleet (``bench_api.prepare``: 200 lots, 19 of them
in alpha's stock), in process, on SQLite. Proposals of one unit of one of
those lots, each rejected (the API mix's write), pile up; at each of
``--at`` diversions written it measures, over ``--pairs`` more pairs, the CPU of a
proposal and its rejection (``services.diversions``, under governance, as the
API calls them), of an impact (``services.planning.impact_of_change``, as
``GET /impact`` computes it) right after that write, and of the same impact
repeated with nothing written in between (a warm memo). Prints the medians and
the ratio of the impact after a write to the warm one: what the issue asks is
that an impact under writes cost what it costs with a warm memo, whatever the
books hold.

Usage::

    .venv/bin/python -m benchmarks.bench_history [--at 200,1000,2000] [--pairs 100]

Not a test: nothing here asserts a time (docs/benchmarks.md records the figures).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_api import prepare  # noqa: E402
from gpuledger.domain import Decision, Diversion, DiversionStatus  # noqa: E402
from gpuledger.governance.store import Governance  # noqa: E402
from gpuledger.ledger import Ledger  # noqa: E402
from gpuledger.services import diversions  # noqa: E402
from gpuledger.services.planning import impact_of_change  # noqa: E402
from gpuledger.services.requests import parse_change  # noqa: E402

ON = date(2024, 2, 1)


def cpu_ms(work: Callable[[], object]) -> float:
    """The process's CPU milliseconds for ``work``."""
    start = time.process_time()
    work()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", default="200,1000,2000", help="diversion counts to measure at")
    parser.add_argument("--pairs", type=int, default=100, help="writes measured at each count")
    args = parser.parse_args()
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='gpuledger-bench-')) / 'books.db'}"
    _, lots = prepare(url)
    now = datetime(2024, 2, 1, tzinfo=UTC)
    ledger = Ledger.open(url, clock=lambda: now)
    gov = Governance(ledger.engine, lambda: now)
    rng = random.Random(7)
    written = 0

    def write() -> None:
        nonlocal written
        written += 1
        d = Diversion(f"H-{written}", rng.choice(lots), 1, "alpha", "gamma", ON,
                      status=DiversionStatus.PENDING)  # fmt: skip
        diversions.propose(ledger, d, actor="bench", gov=gov)
        diversions.decide(ledger, d.id, Decision.REJECT, actor="bench", gov=gov)

    def impact() -> None:
        divert = f"{rng.choice(lots)}:{rng.randrange(1, 101)}:alpha:gamma"
        impact_of_change(ledger, parse_change(divert=divert, on=ON))

    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; company fleet, {len(lots)} lots "
        f"written to; CPU ms, medians of {args.pairs}"
    )
    print(f"{'diversions':>10}{'write pair':>12}{'impact after':>14}{'warm':>8}{'after/warm':>12}")
    for target in (int(x) for x in args.at.split(",")):
        while written < target:
            write()
        impact()
        at = written
        pairs, after, warm = [], [], []
        for _ in range(args.pairs):
            pairs.append(cpu_ms(write))
            after.append(cpu_ms(impact))
            warm.append(cpu_ms(impact))
        a, w = statistics.median(after), statistics.median(warm)
        print(f"{at:>10}{statistics.median(pairs):>12.2f}{a:>14.2f}{w:>8.2f}{a / w:>11.2f}x")
    ledger.close()


if __name__ == "__main__":
    main()
