"""The API stands alone; ``gpuledger.server`` is the one place that mounts the API and the web."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

from gpuledger.api import create_app as create_api
from gpuledger.server import create_app
from tests.api.conftest import NOW, cheap_hasher

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_importing_the_api_does_not_import_the_web() -> None:
    probe = "import sys, gpuledger.api; print('gpuledger.web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_api_alone_serves_no_pages(tmp_path: Path) -> None:
    app = create_api(f"sqlite:///{tmp_path / 'books.db'}", clock=lambda: NOW, hasher=cheap_hasher())
    with TestClient(app) as client:
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/login").status_code == 404
    app.state.backend.close()


def test_the_server_serves_the_api_and_the_pages(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'books.db'}", clock=lambda: NOW, hasher=cheap_hasher())
    with TestClient(app) as client:
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/login").status_code == 200
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert not any(p.startswith(("/login", "/diversions/preview")) for p in paths)
    app.state.backend.close()
