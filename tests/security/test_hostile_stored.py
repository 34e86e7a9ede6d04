"""Issue 10 items 7 and 9: nothing stored can make a read answer 500.

Records out of bounds are written straight into the books (as an older
version, or a hand-edited database, could have left them), then every read
is asked: the API's plan, forecast, claims, balances, trace and impact, the
dashboard's pages and the command line's plan. Each answers (a result, or
a clear 4xx or exit 2 naming the record), never a 500 or a traceback.
Far-off but valid query dates (2999-12-31) answer too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gpuledger.domain import Lot, Order
from gpuledger.ledger import Ledger
from tests.api.conftest import World
from tests.cli.conftest import run
from tests.security.test_hostile_values import sign_in

FAR = date(9999, 12, 31)
EARLY = date(1, 1, 1)


def _order(*, on: date = date(2024, 1, 5), qty: int = 5) -> Order:
    return Order("PO-X", "tesla", "nvidia", "H100", qty, on)


#: Each poison: a name and how to write it into the books, bypassing every parser.
POISONS: dict[str, Callable[[Ledger], None]] = {
    "order-9999": lambda led: led.order(_order(on=FAR), actor="old"),
    "order-year-1": lambda led: led.order(_order(on=EARLY), actor="old"),
    "order-qty-2^62": lambda led: led.order(_order(qty=2**62), actor="old"),
    "lot-arrives-9999": lambda led: led.ship(
        Lot("LOT-X", "PO-T", 5, date(2024, 1, 3), FAR, "tesla"), actor="old"
    ),
}

API_READS = [
    "/plan",
    "/plan?policy=priority",
    "/plan?policy=fair-share",
    "/forecast?samples=50",
    "/claims?samples=50",
    "/balances",
    "/balances?as_of=2999-12-31",
    "/lots/LOT-T1/trace",
    "/impact?slip=LOT-T1:10",
    "/impact?divert=LOT-T1:5:tesla:x&on=2024-02-02",
    "/scenario",
]
WEB_READS = ["/", "/orgs/tesla", "/forecast", "/claims", "/diversions", "/flows", "/audit"]


def _poisoned(world: World, poison: str) -> World:
    POISONS[poison](world.app.state.backend.ledger)
    world.app.state.backend.ledger.to_scenario()  # the write went in
    return world


@pytest.mark.parametrize("poison", list(POISONS))
def test_api_reads_answer_over_poisoned_books(hostile: World, poison: str) -> None:
    world = _poisoned(hostile, poison)
    for path in API_READS:
        r = world.call("root", "GET", path)
        assert r.status_code < 500, (path, r.text[:300])


@pytest.mark.parametrize("poison", list(POISONS))
def test_web_pages_answer_over_poisoned_books(lite: World, poison: str) -> None:
    world = _poisoned(lite, poison)
    sign_in(world)
    for path in WEB_READS:
        r = world.client.get(path)
        assert r.status_code < 500, (path, r.text[:300])


@pytest.mark.parametrize("poison", ["order-9999", "lot-arrives-9999", "order-qty-2^62"])
def test_the_command_line_plan_answers_over_poisoned_books(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, poison: str
) -> None:
    db = tmp_path / "books.db"
    fleet = Path(__file__).parents[1] / "api" / "fleet.yaml"
    assert run(capsys, "--db", str(db), "import", str(fleet))[0] == 0
    ledger = Ledger.open(f"sqlite:///{db}")
    try:
        POISONS[poison](ledger)
    finally:
        ledger.close()
    for args in (
        ["plan"],
        ["plan", "--json"],
        ["forecast", "--samples", "20"],
        ["claims", "--samples", "20"],
    ):
        code, _, err = run(capsys, "--db", str(db), *args)
        assert code in (0, 2), (args, err[-500:])
        assert "Traceback" not in err, (args, err[-500:])
        if code == 2:
            assert len(err.strip().splitlines()) == 1, err[-500:]


@pytest.mark.parametrize(
    "path",
    [
        "/impact?on=2999-12-31&divert=LOT-T1:5:tesla:x",
        "/impact?on=2999-12-31&new_order=tesla:nvidia:H100:5",
        "/impact?slip=LOT-T1:36500",
        "/impact?slip=LOT-T1:-36500",
        "/impact?slip=LOT:99999",
        "/impact?priority=tesla-h1:1000000",
        "/plan?as_of=2999-12-31",
        "/plan?as_of=1900-01-01",
        "/balances?as_of=9999-12-31",
        "/balances?as_of=2999-12-31",
        "/forecast?as_of=2999-12-31&samples=20",
        "/forecast?as_of=1900-01-01&samples=20",
        "/scenario?as_of=2999-12-31",
        "/lots/LOT-T1/trace",
        "/lots/NOPE/trace",
    ],
)
def test_far_but_valid_inputs_answer_or_refuse(shared: World, path: str) -> None:
    r = shared.call("root", "GET", path)
    assert r.status_code < 500, r.text[:300]
