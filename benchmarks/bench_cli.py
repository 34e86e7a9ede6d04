"""Start-up of the command line (``--help``, trivial commands) against ``python -c pass``.

Each command runs ``--runs`` times as a fresh process (the interpreter of this
venv); the median wall time and the median CPU time (user + system) are
printed with their ratios to those of ``python -c pass`` on the same machine at
the same moment, so a loaded machine shifts both. Also printed: what
``python -X importtime -c "import gpuledger.cli"`` reports for the CLI itself
and whether SciPy, pandas or FastAPI were loaded.

Usage::

    .venv/bin/python -m benchmarks.bench_cli [--runs 15]

Not a test: nothing here asserts a time (docs/benchmarks.md records the figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small.yaml"
CLI = "from gpuledger.cli import main; main()"


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) time of ``argv`` in seconds over ``runs`` processes.

    CPU time is the child's own, so a machine shared with other work inflates
    it less than wall time.
    """
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def import_time() -> tuple[float, list[str]]:
    """Cumulative import time of ``gpuledger.cli`` (s) and the heavy packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import gpuledger.cli"],
        check=True,
        capture_output=True,
        text=True,
    )
    total, loaded = 0.0, set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit() and name == "gpuledger.cli":
            total = int(cumulative) / 1e6
        loaded.add(name.split(".")[0])
    heavy = sorted(loaded & {"scipy", "numpy", "pandas", "fastapi", "sqlalchemy", "dask"})
    return total, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "books.db")
        subprocess.run([sys.executable, "-c", CLI, "--db", db, "import", str(SMALL)], check=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "gpuledger --help": [sys.executable, "-c", CLI, "--help"],
            "gpuledger plan --help": [sys.executable, "-c", CLI, "plan", "--help"],
            "gpuledger --version": [sys.executable, "-c", CLI, "--version"],
            "gpuledger balances (small books)": [sys.executable, "-c", CLI, "--db", db, "balances"],
            "gpuledger list orgs --format csv": [
                *(sys.executable, "-c", CLI, "--db", db, "list", "orgs", "--format", "csv")
            ],
        }
        base, base_cpu = wall(cases["python -c pass"], args.runs)
        print(f"{'command':36} {'wall s':>7} {'x pass':>7} {'CPU s':>7} {'x pass':>7}")
        for name, argv in cases.items():
            w, c = (base, base_cpu) if name == "python -c pass" else wall(argv, args.runs)
            print(f"{name:36} {w:7.3f} {w / base:7.1f} {c:7.3f} {c / base_cpu:7.1f}")
    total, heavy = import_time()
    print(f"import gpuledger.cli (importtime, cumulative): {total:.3f} s; heavy loaded: {heavy}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
