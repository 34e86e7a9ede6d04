"""One operation, whichever door it comes through: scenario file, command line or API.

Hypothesis generates sequences of ledger operations (order, ship, deploy, fail)
over a small fleet and applies each sequence three ways:

- **file**: every operation is appended to the scenario file, which is then
  imported again (a re-import adds only what is new: the documented way to amend
  books by file); an operation whose file is refused is dropped from it;
- **cli**: ``gpuledger order/ship/receive/deploy/fail`` in-process;
- **api**: ``POST /orders``, ``/lots``, ``/lots/{id}/receive``, ``/movements/...``
  as each org's planner.

The three must accept and refuse the same operations and end with the same
books: the same orders, lots and movements (ids included, so a second derivation
of a movement's id shows) and the same balances on every date of the sequence.
Generated quantities reach past what an order has left, so a door that lets a
lot exceed its order disagrees with the others (issue 11, items 3 and 4).

It can fail: with the ledger's ship verb no longer checking the lot against its
order (item 4 reintroduced), the command line and the API accept a lot the file
refuses (``assert by_cli == by_file``); with the command line deriving its own
id for a deploy (item 3 reintroduced), the books differ in the movements' ids.
Both were run on 2026-11-30 and failed as described.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuledger.cli import main
from gpuledger.domain import GpuledgerError, OrgRole
from gpuledger.ledger import Ledger
from gpuledger.scenario import parse_scenario
from gpuledger.server import create_app
from tests.api.conftest import add_users, cheap_hasher

with warnings.catch_warnings():  # starlette warns that httpx will give way to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

AS_OF = date(2024, 6, 30)
NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)
SKU = "H100-SXM5-80GB"
START = date(2023, 11, 1)
BASE = f"""
name: parity
as_of: {AS_OF}
skus:
  - {{id: {SKU}, annual_failure_rate: 0.09}}
vendors:
  - id: nvidia
    lead_time:
      - {{sku: {SKU}, from: 2023-01-01, p50_days: 90, p90_days: 120, assumed: true}}
orgs:
  - {{id: alpha}}
  - {{id: beta}}
clusters:
  - {{id: alpha-train, org: alpha}}
  - {{id: beta-serve, org: beta}}
orders:
  - {{id: PO-alpha, org: alpha, vendor: nvidia, sku: {SKU}, qty: 3000, ordered_on: 2023-03-01}}
  - {{id: PO-beta, org: beta, vendor: nvidia, sku: {SKU}, qty: 1500, ordered_on: 2023-05-01}}
"""
CLUSTER = {"alpha": "alpha-train", "beta": "beta-serve"}
PLANNERS = {"alpha": "planner-alpha", "beta": "planner-beta"}


@dataclasses.dataclass(frozen=True)
class Op:
    kind: str  # order | ship | deploy | fail
    org: str
    qty: int
    on: date
    ident: str = ""  # the order or lot id, for order and ship
    order: str = ""  # ship: the order it ships against
    lot: str = ""  # deploy: the lot deployed from


@st.composite
def sequences(draw: st.DrawFn) -> list[Op]:
    """Operations in date order; quantities reach past what orders have left."""
    n = draw(st.integers(2, 6))
    gaps = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    ops: list[Op] = []
    orders = {"PO-alpha": "alpha", "PO-beta": "beta"}
    lots: list[tuple[str, str]] = []
    day = START
    for i, gap in enumerate(gaps):
        day += timedelta(days=gap)
        kinds = ["order", "ship"] + (["deploy", "fail"] if lots else [])
        kind = draw(st.sampled_from(kinds))
        qty = draw(st.integers(1, 2_500))
        if kind == "order":
            org = draw(st.sampled_from(sorted(CLUSTER)))
            ident = f"PO-{i}"
            orders[ident] = org
            ops.append(Op(kind, org, qty, day, ident=ident))
        elif kind == "ship":
            order = draw(st.sampled_from(sorted(orders)))
            ident = f"LOT-{i}"
            lots.append((ident, orders[order]))
            ops.append(Op(kind, orders[order], qty, day, ident=ident, order=order))
        else:
            lot, org = draw(st.sampled_from(lots))
            ops.append(Op(kind, org, qty, day, lot=lot))
    return ops


def arrives(op: Op) -> date:
    return op.on + timedelta(days=10)


# --------------------------------------------------------------------------- the three doors


def file_records(ops: list[Op]) -> dict[str, list[dict[str, Any]]]:
    """The scenario file's sections for ``ops``."""
    sections: dict[str, list[dict[str, Any]]] = {"orders": [], "lots": [], "events": []}
    for op in ops:
        if op.kind == "order":
            sections["orders"].append(
                {"id": op.ident, "org": op.org, "vendor": "nvidia", "sku": SKU}
                | {"qty": op.qty, "ordered_on": op.on}
            )
        elif op.kind == "ship":
            sections["lots"].append(
                {"id": op.ident, "order": op.order, "qty": op.qty, "ships_on": op.on}
                | {"arrives_on": arrives(op), "consignee": op.org}
            )
        else:
            event = {"op": op.kind, "qty": op.qty, "on": op.on, "org": op.org}
            event |= {"cluster": CLUSTER[op.org]} | ({"lot": op.lot} if op.lot else {})
            sections["events"].append(event)
    return sections


def scenario_text(ops: list[Op]) -> str:
    base = yaml.safe_load(BASE)
    for section, rows in file_records(ops).items():
        base[section] = base.get(section, []) + rows
    return yaml.safe_dump(base, sort_keys=False)


def through_file(url: str, ops: list[Op]) -> list[bool]:
    ledger = Ledger.open(url, create=True, clock=lambda: NOW)
    accepted: list[Op] = []
    outcomes = []
    try:
        ledger.import_scenario(parse_scenario(BASE))
        for op in ops:
            try:
                ledger.import_scenario(parse_scenario(scenario_text([*accepted, op])))
            except GpuledgerError:
                outcomes.append(False)
            else:
                accepted.append(op)
                outcomes.append(True)
    finally:
        ledger.close()
    return outcomes


def cli_args(op: Op) -> list[list[str]]:
    """The commands that type ``op`` (a ship that has arrived is received too)."""
    qty, on = str(op.qty), str(op.on)
    if op.kind == "order":
        order = ["order", op.ident, "--org", op.org, "--vendor", "nvidia", "--sku", SKU]
        return [[*order, "--qty", qty, "--on", on]]
    if op.kind == "ship":
        ship = ["ship", op.ident, "--order", op.order, "--qty", qty, "--on", on]
        ship += ["--arrives", str(arrives(op)), "--to", op.org]
        return [ship, ["receive", op.ident, "--on", str(arrives(op))]]
    cmd = [op.kind, *([op.lot] if op.kind == "deploy" else ["--lot", op.lot])]
    return [[*cmd, "--qty", qty, "--org", op.org, "--cluster", CLUSTER[op.org], "--on", on]]


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    code = exc.value.code
    return code if isinstance(code, int) else 0


def through_cli(db: Path, ops: list[Op], capsys: pytest.CaptureFixture[str]) -> list[bool]:
    base = db.with_suffix(".yaml")
    base.write_text(BASE)
    assert run_cli(["--db", str(db), "import", str(base)]) == 0
    outcomes = []
    for op in ops:
        codes = [run_cli(["--db", str(db), *args]) for args in cli_args(op)[:1]]
        if codes[0] == 0 and op.kind == "ship":
            codes += [run_cli(["--db", str(db), *cli_args(op)[1]])]
        assert all(code in (0, 2) for code in codes), capsys.readouterr().err
        outcomes.append(codes[0] == 0)
        capsys.readouterr()
    return outcomes


def api_calls(op: Op) -> list[tuple[str, dict[str, Any]]]:
    if op.kind == "order":
        body = {"id": op.ident, "org": op.org, "vendor": "nvidia", "sku": SKU, "qty": op.qty}
        return [("/orders", body | {"ordered_on": str(op.on)})]
    if op.kind == "ship":
        body = {"id": op.ident, "order": op.order, "qty": op.qty, "ships_on": str(op.on)}
        body |= {"arrives_on": str(arrives(op)), "consignee": op.org}
        return [("/lots", body), (f"/lots/{op.ident}/receive", {"on": str(arrives(op))})]
    body = {"qty": op.qty, "on": str(op.on), "org": op.org, "cluster": CLUSTER[op.org]}
    return [(f"/movements/{op.kind}", body | {"lot": op.lot})]


def through_api(url: str, ops: list[Op]) -> list[bool]:
    ledger = Ledger.open(url, create=True, clock=lambda: NOW)
    ledger.import_scenario(parse_scenario(BASE))
    ledger.close()
    app = create_app(url, clock=lambda: NOW, hasher=cheap_hasher())
    roles: dict[str, list[Any]] = {PLANNERS[o]: [(OrgRole.PLANNER, o)] for o in PLANNERS}
    tokens = add_users(app.state.backend.gov, roles)
    outcomes = []
    with TestClient(app) as client:
        for n, op in enumerate(ops):
            codes = []
            for m, (path, body) in enumerate(api_calls(op)):
                headers = {"Authorization": f"Bearer {tokens[PLANNERS[op.org]]}"}
                headers["Idempotency-Key"] = f"k-{n}-{m}"
                r = client.post(f"/api/v1{path}", json=body, headers=headers)
                assert r.status_code in (200, 400, 404, 409, 422), r.text
                codes.append(r.status_code)
                if r.status_code != 200:
                    break
            outcomes.append(codes[0] == 200)
    app.state.backend.ledger.close()
    return outcomes


# --------------------------------------------------------------------------- the books


def books(url: str, days: list[date]) -> dict[str, Any]:
    """What the books hold: orders, lots, movements with their ids, balances on each day."""
    ledger = Ledger.open(url, clock=lambda: NOW)
    try:
        s = ledger.to_scenario(AS_OF)
        balances = {
            day: sorted(
                (b.owner, b.bucket.value, b.posted, b.pending)
                for b in ledger.balances(as_of=day)
                if b.posted or b.pending
            )
            for day in days
        }
        return {
            "orders": sorted(s.orders, key=lambda o: o.id),
            "lots": sorted(s.lots, key=lambda lot: lot.id),
            "movements": sorted(s.movements, key=repr),
            "balances": balances,
        }
    finally:
        ledger.close()


@contextmanager
def three_books() -> Iterator[tuple[str, Path, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        yield f"sqlite:///{root / 'file.db'}", root / "cli.db", f"sqlite:///{root / 'api.db'}"


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=sequences())
def test_every_door_accepts_the_same_operations_and_keeps_the_same_books(
    ops: list[Op], capsys: pytest.CaptureFixture[str]
) -> None:
    days = sorted({op.on for op in ops} | {arrives(op) for op in ops} | {AS_OF})
    with three_books() as (file_url, cli_db, api_url):
        by_file = through_file(file_url, ops)
        by_cli = through_cli(cli_db, ops, capsys)
        by_api = through_api(api_url, ops)
        assert by_cli == by_file, ops
        assert by_api == by_file, ops
        expected = books(file_url, days)
        assert books(f"sqlite:///{cli_db}", days) == expected
        assert books(api_url, days) == expected
