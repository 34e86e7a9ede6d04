"""Issue 10 item 6: bodies too large or too deep are refused before they cost anything.

A body over its cap is 413 before any parser runs (by its Content-Length, or
while it streams when it has none); a YAML bomb or a deeply nested YAML or
JSON document is one clear 4xx on the API and one line with exit 2 on the
command line; nothing is written; parsing stays small in memory.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuledger.config import ServerSettings
from gpuledger.domain import InvalidInput
from gpuledger.server import create_app
from gpuledger.services.books import read_scenario_text
from tests.api.conftest import NOW, World, cheap_hasher
from tests.cli.conftest import run
from tests.security.conftest import fingerprint

BOMB = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(8)
    ]
)
DEEP_YAML = "x: " + "[" * 50_000 + "]" * 50_000
DEEP_BLOCK_YAML = "".join("  " * i + "- \n" for i in range(200)) + "  " * 200 + "- 1\n"
DEEP_JSON = "[" * 200_000 + "]" * 200_000
ORDER = {"id": "PO-B", "org": "tesla", "vendor": "nvidia", "sku": "H100", "qty": 5,
         "ordered_on": "2024-01-01"}  # fmt: skip


def _auth(world: World, user: str = "root", key: str = "body-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}", "Idempotency-Key": key}


def _refused(status: int, body: str, code: str | None = None) -> dict[str, object]:
    assert 400 <= status < 500, (status, body[:300])
    error = json.loads(body)["error"]
    assert error["message"] and "\n" not in error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


# --------------------------------------------------------------------------- sizes


def test_a_body_over_the_request_cap_is_413_by_its_length(lite: World) -> None:
    before = fingerprint(lite)
    cap = ServerSettings().request_max_bytes
    body = json.dumps({**ORDER, "pad": "x" * cap})
    r = lite.client.post(
        "/api/v1/orders", content=body, headers={**_auth(lite), "content-type": "application/json"}
    )
    assert r.status_code == 413, r.text
    _refused(r.status_code, r.text, "too_large")
    assert fingerprint(lite) == before


def test_a_streamed_body_over_the_cap_is_413_without_a_length(lite: World) -> None:
    cap = ServerSettings().request_max_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "PO-B", "pad": "'
        for _ in range(cap // 65_536 + 2):
            yield b"x" * 65_536
        yield b'"}'

    r = lite.client.post(
        "/api/v1/orders",
        content=chunks(),
        headers={**_auth(lite), "content-type": "application/json"},
    )
    assert r.status_code == 413, r.text
    _refused(r.status_code, r.text, "too_large")


def test_a_web_form_over_the_cap_is_413(lite: World) -> None:
    lite.client.cookies.clear()
    cap = ServerSettings().request_max_bytes
    r = lite.client.post(
        "/diversions",
        content=b"reason=" + b"x" * (cap + 10),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413, r.text[:200]
    _refused(r.status_code, r.text, "too_large")


def test_a_scenario_over_its_cap_is_413(tmp_path: Path) -> None:
    settings = ServerSettings(scenario_max_bytes=50_000)
    app = create_app(
        f"sqlite:///{tmp_path / 'b.db'}",
        clock=lambda: NOW,
        hasher=cheap_hasher(),
        settings=settings,
    )
    from tests.api.conftest import TestClient, add_users

    tokens = add_users(app.state.backend.gov)
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/scenario",
            json={"yaml": "name: x\n" + "#" * 60_000},
            headers={"Authorization": f"Bearer {tokens['root']}", "Idempotency-Key": "s"},
        )
    app.state.backend.ledger.close()
    assert r.status_code == 413, r.text
    _refused(r.status_code, r.text, "too_large")


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("user", "text"),
    [
        ("nobody", BOMB),
        ("root", BOMB),
        ("nobody", DEEP_YAML),
        ("root", DEEP_YAML),
        ("root", DEEP_BLOCK_YAML),
    ],
    ids=["bomb-no-role", "bomb-admin", "deep-flow-no-role", "deep-flow-admin", "deep-block"],
)
def test_hostile_yaml_posted_to_scenario_is_one_clear_4xx(
    hostile: World, user: str, text: str
) -> None:
    before = fingerprint(hostile)
    r = hostile.call(user, "POST", "/scenario", {"yaml": text, "filename": "evil.yaml"})
    _refused(r.status_code, r.text)
    assert "Traceback" not in r.text and "RecursionError" not in r.text
    assert fingerprint(hostile) == before


@pytest.mark.parametrize(
    "body",
    [
        DEEP_JSON,
        '{"yaml": ' + DEEP_JSON + "}",
        '{"id": "PO-B", "x": ' + "{" * 100_000 + "}" * 100_000 + "}",
    ],
    ids=["deep-array", "deep-in-field", "deep-object"],
)
@pytest.mark.parametrize("path", ["/orders", "/scenario", "/diversions"])
def test_deeply_nested_json_is_one_clear_4xx(lite: World, body: str, path: str) -> None:
    before = fingerprint(lite)
    r = lite.client.post(
        f"/api/v1{path}", content=body, headers={**_auth(lite), "content-type": "application/json"}
    )
    error = _refused(r.status_code, r.text)
    assert r.status_code == 413 and error["code"] == "too_large", r.text[:300]
    assert "nested deeper" in str(error["message"])
    assert fingerprint(lite) == before


@pytest.mark.parametrize(
    "text", [BOMB, DEEP_YAML, DEEP_BLOCK_YAML], ids=["bomb", "deep-flow", "deep-block"]
)
def test_hostile_yaml_on_the_command_line_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    db = tmp_path / "books.db"
    code, out, err = run(capsys, "--db", str(db), "import", str(path))
    assert code == 2, (out, err[-500:])
    assert len(err.strip().splitlines()) == 1, err[-500:]
    assert "Traceback" not in err and "RecursionError" not in err
    assert "evil.yaml" in err


@pytest.mark.parametrize(
    "text", [BOMB, DEEP_YAML, DEEP_BLOCK_YAML], ids=["bomb", "deep-flow", "deep-block"]
)
def test_hostile_yaml_is_refused_in_little_memory(text: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput):
            read_scenario_text(text, "evil.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"parsing peaked at {peak:,} bytes"
