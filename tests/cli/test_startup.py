"""The command line starts without the heavy stacks: they load in the commands that use them.

``gpuledger --help`` and a command that only reads the books must not import
the planner (SciPy), the forecast, pandas, Dask or the web stack. Speed itself
is measured in benchmarks/bench_cli.py, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.conftest import SMALL

HEAVY = ("scipy", "numpy", "pandas", "dask", "fastapi", "uvicorn", "jinja2", "plotly")
NOT_FOR_HELP = (*HEAVY, "sqlalchemy", "alembic", "gpuledger.ledger", "gpuledger.governance")


def loaded_after(code: str) -> set[str]:
    """Top-level module names (and gpuledger packages) loaded after running ``code``."""
    probe = (
        "import sys\n"
        f"{code}\n"
        "import json\n"
        "names = {m.split('.')[0] for m in sys.modules}\n"
        "names |= {'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith('gpuledger.')}\n"
        "print(json.dumps(sorted(names)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def run_main(*args: str) -> str:
    return (
        "from gpuledger.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = loaded_after("import gpuledger.cli")
    assert not loaded & set(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))


@pytest.mark.parametrize("args", [["--help"], ["divert", "--help"], ["plan", "--help"]], ids=str)
def test_help_loads_no_heavy_module(args: list[str]) -> None:
    loaded = loaded_after(run_main(*args))
    assert not loaded & set(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))


def test_reading_the_books_loads_no_planner_forecast_or_web(tmp_path: object) -> None:
    db = f"{tmp_path}/books.db"
    loaded = loaded_after(
        run_main("--db", db, "import", str(SMALL)) + run_main("--db", db, "balances", "--json")
    )
    assert "sqlalchemy" in loaded  # the probe is not vacuous: the books were read
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_options_are_not_coerced_through_pydantic(tmp_path: object) -> None:
    # every option is a string parsed by services.requests: Typer's pydantic
    # coercion (a third of the start-up) is skipped for them (cli.app)
    db = f"{tmp_path}/books.db"
    loaded_after(run_main("--db", db, "import", str(SMALL)))  # validation uses pydantic
    loaded = loaded_after(
        run_main("--db", db, "list", "lots", "--org", "alpha", "--format", "csv")
        + run_main("--db", db, "plan", "--help")
    )
    assert "sqlalchemy" in loaded and "pydantic" not in loaded
