"""Property tests of the live OpenAPI: no 5xx, every response matches its declared schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.api.conftest import World, make_world

_state: dict[str, World] = {}


def _world() -> World:
    if "world" not in _state:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="gpuledger-schemathesis-")) / "books.db"
        _state["world"] = make_world(f"sqlite:///{path}")
    return _state["world"]


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    world = _state.pop("world", None)
    if world is not None:
        world.client.close()
        world.app.state.backend.ledger.close()
        url = world.app.state.backend.ledger.engine.url.database
        shutil.rmtree(Path(url).parent, ignore_errors=True)


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _world().app)


CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_honours_its_openapi(case: Any) -> None:
    world = _world()
    headers = {"Authorization": f"Bearer {world.tokens['root']}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
