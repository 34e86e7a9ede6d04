"""Issue 10 item 7: poison values are refused on every path, naming the field.

Dates outside 1900..2999, quantities of 2**64, strings, booleans and floats
where a whole number belongs, NUL, control, right-to-left and zero-width
characters and 100,000-character ids: refused by the API (4xx, the field named,
nothing written, on SQLite and PostgreSQL), the command line (exit 2, one
line), scenario files and the web's forms, each through the one parser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import World
from tests.cli.conftest import run
from tests.security.conftest import fingerprint

ORDER = {"id": "PO-P", "org": "tesla", "vendor": "nvidia", "sku": "H100", "qty": 5,
         "ordered_on": "2024-01-01"}  # fmt: skip
LOT = {"id": "LOT-P", "order": "PO-T", "qty": 5, "ships_on": "2024-01-02",
       "arrives_on": "2024-01-20", "consignee": "tesla"}  # fmt: skip
MOVE = {"qty": 5, "on": "2024-02-01", "org": "tesla", "cluster": "tesla-train", "lot": "LOT-T1"}
DIVERT = {"id": "DIV-P", "lot": "LOT-T1", "qty": 5, "from_org": "tesla", "to_org": "x",
          "on": "2024-02-01", "reason": "test"}  # fmt: skip

POISON_DATES = ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"]
POISON_QTYS: list[Any] = [2**64, 2**63, 10**10, "5", True, 1000.0, -1, 0]
POISON_IDS = ["PO\x00P", "PO\x07P", "PO\u202eP", "PO\u200bP", "P" * 100_000, "", " PO", "a/b"]

CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    *[("/orders", ORDER, "ordered_on", d) for d in POISON_DATES],
    *[("/orders", ORDER, "qty", q) for q in POISON_QTYS],
    *[("/orders", ORDER, "id", i) for i in POISON_IDS],
    *[("/orders", ORDER, f, "x\u200by") for f in ("org", "vendor", "sku")],
    *[("/lots", LOT, f, d) for f in ("ships_on", "arrives_on") for d in POISON_DATES[:2]],
    *[("/lots", LOT, "qty", q) for q in POISON_QTYS[:6]],
    *[("/lots", LOT, "id", i) for i in POISON_IDS[:5]],
    ("/lots/LOT-T1/receive", {"on": "2024-01-01"}, "on", "9999-12-31"),
    *[("/movements/deploy", MOVE, "on", d) for d in POISON_DATES[:2]],
    *[("/movements/deploy", MOVE, "qty", q) for q in POISON_QTYS[:6]],
    ("/movements/deploy", MOVE, "cluster", "c\x00"),
    ("/movements/fail", MOVE, "id", "M\u202e1"),
    *[("/diversions", DIVERT, "on", d) for d in POISON_DATES[:2]],
    *[("/diversions", DIVERT, "qty", q) for q in POISON_QTYS[:6]],
    *[("/diversions", DIVERT, "id", i) for i in POISON_IDS[:5]],
    ("/diversions", DIVERT, "reason", "evil\x00reason"),
    ("/diversions", DIVERT, "reason", "r" * 5000),
    ("/diversions", DIVERT, "payback", [{"lot": "LOT-A1", "qty": 2**64}]),
    ("/scenario", {"yaml": "name: x"}, "filename", "evil\x00.yaml"),
]  # fmt: skip


def _case_id(case: tuple[str, dict[str, Any], str, Any]) -> str:
    path, _, field, value = case
    shown = repr(value)
    return f"{path}:{field}={shown[:16]}{'...' if len(shown) > 16 else ''}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_the_api_refuses_poison_naming_the_field(
    shared: World, case: tuple[str, dict[str, Any], str, Any]
) -> None:
    path, base, field, value = case
    before = fingerprint(shared)
    r = shared.call("root", "POST", path, {**base, field: value})
    assert r.status_code in (413, 422), r.text[:300]
    error = r.json()["error"]
    assert error["field"] is not None and error["field"].split(".")[0] == field, error
    assert "\n" not in error["message"] and len(error["message"]) < 500, error
    assert fingerprint(shared) == before


@pytest.mark.parametrize(
    "path",
    ["/lots/%00/trace", "/lots/L%00T/trace", "/diversions/D%00", "/balances?org=t%00",
     "/forecast?org=%E2%80%AEx", "/lots/" + "L" * 5000 + "/trace", "/diversions/%01/impact"],
)  # fmt: skip
def test_ids_in_paths_and_queries_are_refused_not_500(shared: World, path: str) -> None:
    r = shared.call("root", "GET", path)
    assert 400 <= r.status_code < 500, r.text[:300]
    assert "error" in r.json()


@pytest.mark.parametrize(
    "key", [b"k 1", "k\u202e1".encode(), b"k" * 201], ids=["blank", "rtl", "long"]
)
def test_a_key_that_is_not_printable_ascii_is_refused(shared: World, key: bytes) -> None:
    headers = {"Authorization": f"Bearer {shared.tokens['root']}", "Idempotency-Key": key}
    r = shared.client.post("/api/v1/orders", json=ORDER, headers=headers)  # type: ignore[dict-item]
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "Idempotency-Key"


# --------------------------------------------------------------------------- command line


_ORDER_ARGS = ["--org", "tesla", "--vendor", "nvidia", "--sku", "H100"]
_SHIP_ARGS = ["--order", "PO-T", "--qty", "5", "--on", "2024-01-01", "--to", "tesla"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["order", "PO-P", *_ORDER_ARGS, "--qty", "5", "--on", "9999-12-31"], "--on"),
        (["order", "PO-P", *_ORDER_ARGS, "--qty", str(2**64), "--on", "2024-01-01"], "--qty"),
        (["order", "PO-P", *_ORDER_ARGS, "--qty", "1000.0", "--on", "2024-01-01"], "--qty"),
        (["order", "PO\u202eP", *_ORDER_ARGS, "--qty", "5", "--on", "2024-01-01"], "ID"),
        (["ship", "L" * 100_000, *_SHIP_ARGS, "--arrives", "2024-02-01"], "LOT"),
        (["ship", "LOT-P", *_SHIP_ARGS, "--arrives", "0001-01-01"], "--arrives"),
        (["plan", "--as-of", "9999-12-31"], "--as-of"),
        (["impact", "--slip", "LOT-T1:99999"], "--slip"),
        (["forecast", "--samples", str(2**63)], "--samples"),
    ],
    ids=["date", "qty-2^64", "qty-float", "id-rtl", "id-100k", "arrives", "plan-as-of", "slip",
         "samples"],
)  # fmt: skip
def test_the_command_line_refuses_poison_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], named: str
) -> None:
    db = tmp_path / "books.db"
    fleet = Path(__file__).parents[1] / "api" / "fleet.yaml"
    assert run(capsys, "--db", str(db), "import", str(fleet))[0] == 0
    code, out, err = run(capsys, "--db", str(db), *args)
    assert code == 2, (out, err[-300:])
    assert len(err.strip().splitlines()) == 1 and named in err, err[-300:]


# --------------------------------------------------------------------------- files


_LINE = "  - {{id: {id}, org: tesla, vendor: nvidia, sku: H100, qty: {qty}, ordered_on: {on}}}"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_LINE.format(id="PO-Z", qty=5, on="9999-12-31"), "ordered_on"),
        (_LINE.format(id="PO-Z", qty=2**64, on="2024-01-01"), "qty"),
        (_LINE.format(id="PO-Z", qty="'5'", on="2024-01-01"), "qty"),
        (_LINE.format(id="PO-Z", qty="true", on="2024-01-01"), "qty"),
        (_LINE.format(id="PO-Z", qty="1000.0", on="2024-01-01"), "qty"),
        (_LINE.format(id='"PO\\0Z"', qty=5, on="2024-01-01"), "id"),
        (_LINE.format(id='"PO\\u202eZ"', qty=5, on="2024-01-01"), "id"),
    ],
    ids=["date", "qty-2^64", "qty-str", "qty-bool", "qty-float", "id-nul", "id-rtl"],
)
def test_a_scenario_file_with_poison_is_refused_naming_the_field(
    shared: World, line: str, field: str
) -> None:
    hostile = shared
    text = Path(__file__).parents[1].joinpath("api", "fleet.yaml").read_text()
    text = text.replace("orders:\n", f"orders:\n{line}\n", 1)
    before = fingerprint(hostile)
    r = hostile.call("root", "POST", "/scenario", {"yaml": text, "filename": "poison.yaml"})
    assert r.status_code == 422, r.text[:300]
    assert field in r.json()["error"]["message"], r.text[:300]
    assert fingerprint(hostile) == before


def test_horizon_and_lead_times_beyond_bounds_are_refused(lite: World) -> None:
    text = Path(__file__).parents[1].joinpath("api", "fleet.yaml").read_text()
    for old, new, field in [
        ("p50_days: 300", "p50_days: 10000000000", "p50_days"),
        ("name: api-fleet", "name: api-fleet\nhorizon_days: 100000000", "horizon_days"),
        ("priority: 2}", "priority: 9223372036854775808}", "priority"),
    ]:
        r = lite.call("root", "POST", "/scenario", {"yaml": text.replace(old, new, 1)})
        assert r.status_code == 422 and field in r.text, (field, r.text[:300])


# --------------------------------------------------------------------------- web forms


def sign_in(world: World, user: str = "root") -> None:
    """Sign in through the login form, as a browser does."""
    world.client.cookies.clear()
    r = world.client.post(
        "/login", data={"token": world.tokens[user], "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:200]


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "D" * 100_000), ("id", "D\x00"), ("lot", "L\u200b"), ("qty", str(2**64)),
     ("qty", "1000.0"), ("on", "9999-12-31"), ("on", "0001-01-01"), ("reason", "r\x00")],
)  # fmt: skip
def test_the_web_form_refuses_poison(shared: World, field: str, value: str) -> None:
    hostile = shared
    sign_in(hostile)
    form = {k: str(v) for k, v in {**DIVERT, "id": "DIV-W"}.items()}
    before = fingerprint(hostile)
    r = hostile.client.post("/diversions", data={**form, field: value}, follow_redirects=False)
    assert 400 <= r.status_code < 500, r.status_code
    assert fingerprint(hostile) == before
    assert hostile.client.get("/diversions").status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_the_web_preview_with_far_years_is_4xx(shared: World, day: str) -> None:
    hostile = shared
    sign_in(hostile)
    query = {"lot": "LOT-T1", "qty": "5", "from_org": "tesla", "to_org": "x", "on": day}
    r = hostile.client.get("/diversions/preview", params=query)
    assert r.status_code == 422, r.text[:300]
    assert json.loads(r.text)["error"]["field"] == "on"
