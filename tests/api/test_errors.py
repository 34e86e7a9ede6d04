"""Bad input of every kind: a 4xx JSON error with a message, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import World

GOOD_DIVERSION = {
    "id": "D-BAD",
    "lot": "LOT-T1",
    "qty": 1,
    "from_org": "tesla",
    "to_org": "x",
    "on": "2024-02-01",
}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not ...}


CASES: list[tuple[str, str, Any, int, str | None]] = [
    # (method, path, body, status, field)
    ("POST", "/diversions", with_(GOOD_DIVERSION, qty=0), 422, "qty"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, qty=-5), 422, "qty"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, qty="many"), 422, "qty"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, on="2024-13-40"), 422, "on"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, lot=...), 422, "lot"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, extra=1), 422, "extra"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, id="has space"), 422, "id"),
    ("POST", "/diversions", with_(GOOD_DIVERSION, lot="NO-SUCH-LOT"), 404, None),
    ("POST", "/diversions", with_(GOOD_DIVERSION, qty=12001), 409, None),
    ("POST", "/diversions", with_(GOOD_DIVERSION, to_org="tesla"), 422, None),
    ("POST", "/diversions", with_(GOOD_DIVERSION, from_org="nowhere"), 404, None),
    ("POST", "/diversions", "not an object", 422, None),
    ("POST", "/diversions", None, 422, None),
    (
        "POST",
        "/orders",
        {
            "id": "PO-X",
            "org": "nowhere",
            "vendor": "nvidia",
            "sku": "H100",
            "qty": 1,
            "ordered_on": "2024-01-01",
        },
        404,
        None,
    ),
    (
        "POST",
        "/lots",
        {
            "id": "L-X",
            "order": "PO-T",
            "qty": 5,
            "ships_on": "2024-02-01",
            "arrives_on": "2024-01-01",
            "consignee": "tesla",
        },
        422,
        None,
    ),
    (
        "POST",
        "/movements/deploy",
        {"qty": 999999, "on": "2024-01-31", "org": "tesla", "cluster": "tesla-train"},
        409,
        None,
    ),
    ("POST", "/lots/NO-SUCH/receive", {"on": "2024-01-30"}, 404, None),
    ("POST", "/diversions/NO-SUCH/approve", None, 404, None),
    ("POST", "/scenario", {"yaml": "orgs: [\n  - {id: a"}, 422, None),
    (
        "POST",
        "/scenario",
        {"yaml": "name: x\nas_of: 2024-01-01\norgs: [{id: a, group: g}]\n"},
        422,
        None,
    ),
    ("GET", "/balances?as_of=yesterday", None, 422, "as_of"),
    ("GET", "/balances?limit=0", None, 422, "limit"),
    ("GET", "/balances?offset=-1", None, 422, "offset"),
    ("GET", "/diversions?status=lost", None, 422, "status"),
    ("GET", "/lots/NO-SUCH/trace", None, 404, None),
    ("GET", "/diversions/NO-SUCH", None, 404, None),
    ("GET", "/no-such-route", None, 404, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    CASES,
    ids=[f"{m} {p} {s} #{i}" for i, (m, p, _, s, _) in enumerate(CASES)],
)
def test_bad_input_is_a_4xx_with_a_message_and_writes_nothing(
    world: World, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    ledger = world.app.state.backend.ledger
    before = ledger.event_count()
    r = world.call("root", method, path, body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"], error
    if field is not None:
        assert error["field"] == field
    assert ledger.event_count() == before
    assert ledger.verify().ok


def test_a_write_without_an_idempotency_key_is_refused(world: World) -> None:
    r = world.call("root", "POST", "/diversions", GOOD_DIVERSION, headers={"Idempotency-Key": ""})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/claims?sample=100", "sample"),  # misspelt: would run 1,000 samples
        ("GET", "/balances?asof=2024-01-01", "asof"),
        ("GET", "/forecast?samples=10&polcy=priority", "polcy"),
        ("GET", "/whoami?debug=1", "debug"),
        ("POST", "/diversions?dry_run=true", "dry_run"),
    ],
)
def test_a_query_parameter_the_operation_does_not_take_is_refused(
    world: World, method: str, path: str, name: str
) -> None:
    """Ignored, a misspelt parameter answers as if it were not there: refused, it is named."""
    ledger = world.app.state.backend.ledger
    before = ledger.event_count()
    r = world.call("root", method, path, GOOD_DIVERSION if method == "POST" else None)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == name and f"'{name}'" in error["message"], error
    assert ledger.event_count() == before
    assert world.call("root", "GET", "/balances?as_of=2024-01-01&limit=5").status_code == 200
