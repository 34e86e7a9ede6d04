"""The import-linter contracts can fail: an import planted against each one breaks it.

``make lint`` runs ``lint-imports`` on the real package (the contracts live in
pyproject.toml). Here a copy of the package gets one forbidden import at a time and
the same contracts must then report it broken, naming the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

PLANTS = [
    pytest.param("domain/enums.py", "import gpuledger.cli", "gpuledger.cli", id="domain-up-to-cli"),
    pytest.param("domain/records.py", "import sqlalchemy", "sqlalchemy", id="domain-database"),
    pytest.param(
        "planning/plan.py", "import gpuledger.ledger", "gpuledger.ledger", id="planning-ledger"
    ),
    pytest.param("forecast/engine.py", "import sqlalchemy", "sqlalchemy", id="forecast-database"),
    pytest.param(
        "ledger/work.py",
        "import gpuledger.governance",
        "gpuledger.governance",
        id="ledger-governance",
    ),
    pytest.param("api/app.py", "import gpuledger.web", "gpuledger.web", id="api-web"),
    pytest.param("web/site.py", "import gpuledger.api", "gpuledger.api", id="web-api"),
    pytest.param("services/books.py", "import fastapi", "fastapi", id="services-web-framework"),
    pytest.param(
        "services/books.py", "import gpuledger.cli", "gpuledger.cli", id="services-up-to-cli"
    ),
    pytest.param(
        "scenario/_models.py", "import gpuledger.ledger", "gpuledger.ledger", id="scenario-ledger"
    ),
    pytest.param("notebook.py", "import typer", "typer", id="notebook-cli-framework"),
    pytest.param("notebook.py", "import gpuledger.api", "gpuledger.api", id="notebook-api"),
    pytest.param(
        "api/app.py", "import gpuledger.notebook", "gpuledger.notebook", id="api-notebook"
    ),
]


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(
        ROOT / "src" / "gpuledger", src / "gpuledger", ignore=shutil.ignore_patterns("__pycache__")
    )
    return src


def test_the_real_package_keeps_every_contract(package_copy: Path) -> None:
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "imported"), PLANTS)
def test_a_planted_import_breaks_a_contract(
    package_copy: Path, module: str, line: str, imported: str
) -> None:
    target = package_copy / "gpuledger" / module
    original = target.read_text()
    target.write_text(original + f"\n{line}  # planted\n")
    try:
        result = _lint(package_copy)
    finally:
        target.write_text(original)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "BROKEN" in result.stdout
    assert imported in result.stdout
