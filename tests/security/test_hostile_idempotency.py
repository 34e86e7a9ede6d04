"""Issue 10 item 11: one Idempotency-Key, two bodies, sent at once: only one write runs.

The key is claimed inside the transaction of the write it protects, so of
concurrent requests with one key, exactly one writes; the others with another
body are 409 and wrote nothing, those with the same body replay its answer.
On SQLite and PostgreSQL, with real threads against the app.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from typing import Any

import pytest

from tests.api.conftest import World

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CLIENTS = 8


def _storm(world: World, bodies: list[dict[str, Any]], path: str, key: str) -> list[Any]:
    """POST each body at once from its own thread and client, all with ``key``."""
    barrier = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)
    headers = {"Authorization": f"Bearer {world.tokens['root']}", "Idempotency-Key": key}

    def one(i: int) -> None:
        client = TestClient(world.app)
        barrier.wait()
        r = client.post(f"/api/v1{path}", json=bodies[i], headers=headers)
        answers[i] = (r.status_code, r.json())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _order(i: int) -> dict[str, Any]:
    return {"id": f"PO-I{i}", "org": "tesla", "vendor": "nvidia", "sku": "H100", "qty": 10 + i,
            "ordered_on": "2024-01-05"}  # fmt: skip


@pytest.mark.parametrize("round_", range(3))
def test_one_key_with_other_bodies_at_once_writes_once(hostile: World, round_: int) -> None:
    key = f"storm-{round_}"
    answers = _storm(hostile, [_order(i) for i in range(CLIENTS)], "/orders", key)
    statuses = Counter(status for status, _ in answers)
    assert statuses == Counter({200: 1, 409: CLIENTS - 1}), answers
    written = {o.id for o in hostile.app.state.backend.ledger.to_scenario().orders}
    ours = {f"PO-I{i}" for i in range(CLIENTS)} & written
    assert len(ours) == 1, ours
    (winner,) = [i for i, (status, _) in enumerate(answers) if status == 200]
    assert ours == {f"PO-I{winner}"}
    for status, body in answers:
        if status == 409:
            assert body["error"]["code"] == "idempotency_conflict"


def test_one_key_with_the_same_body_at_once_replays_one_answer(hostile: World) -> None:
    body = {**_order(99), "id": "PO-SAME"}
    answers = _storm(hostile, [body] * CLIENTS, "/orders", "same-body")
    assert {status for status, _ in answers} == {200}, answers
    assert len({str(b) for _, b in answers}) == 1
    events = hostile.app.state.backend.ledger.event_count()
    again = hostile.call("root", "POST", "/orders", body, key="same-body")
    assert again.status_code == 200 and hostile.app.state.backend.ledger.event_count() == events


def test_diversions_with_one_key_at_once_reserve_once(hostile: World) -> None:
    bodies = [
        {"id": f"DIV-I{i}", "lot": "LOT-T1", "qty": 100 + i, "from_org": "tesla", "to_org": "x",
         "on": "2024-02-01"}
        for i in range(CLIENTS)
    ]  # fmt: skip
    answers = _storm(hostile, bodies, "/diversions", "storm-divert")
    assert Counter(s for s, _ in answers) == Counter({200: 1, 409: CLIENTS - 1}), answers
    ids = {v.diversion.id for v in hostile.app.state.backend.ledger.diversions()}
    assert len(ids & {b["id"] for b in bodies}) == 1
