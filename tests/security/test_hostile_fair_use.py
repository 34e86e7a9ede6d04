"""Issue 10 item 8: forecasts beyond the server's budget and repeated bad tokens are 429.

A forecast that would take the work in flight past the budget (samples x
lots) is refused at once with Retry-After, never queued, while other requests
keep answering. Failed token checks are counted per token id and per client
address; past the limit they are refused before argon2 runs, yet a token that
worked before still passes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpuledger.api import gate
from gpuledger.config import ServerSettings
from gpuledger.domain import RateLimited
from gpuledger.server import create_app
from gpuledger.services.fair_use import FairUse, ForecastBudget, SignInLimiter, Tarpit
from tests.api.conftest import FLEET, NOW, World, add_users, cheap_hasher

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
    from starlette.responses import PlainTextResponse

FAILURES = 3


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[World]:
    """The API fleet on a server with a small forecast budget and sign-in limit."""
    settings = ServerSettings(forecast_budget=50_000, auth_failures=FAILURES)
    app = create_app(
        f"sqlite:///{tmp_path / 'b.db'}",
        clock=lambda: NOW,
        hasher=cheap_hasher(),
        settings=settings,
    )
    world = World(app, TestClient(app), add_users(app.state.backend.gov))
    world.ok("root", "POST", "/scenario", {"yaml": FLEET.read_text()})
    yield world
    world.client.close()
    app.state.backend.ledger.close()


def _wrong(token: str) -> str:
    """The same token id with another secret."""
    head, _, secret = token.rpartition("_")
    return f"{head}_{'A' * len(secret)}"


def _hashes(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each argon2 verification the server runs."""
    hasher = world.app.state.backend.gov.hasher
    calls: list[str] = []
    inner = hasher._hasher

    class Counting:
        def verify(self, stored: str, token: str) -> Any:
            calls.append(token)
            return inner.verify(stored, token)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    monkeypatch.setattr(hasher, "_hasher", Counting())
    return calls


# --------------------------------------------------------------------------- forecasts


def test_a_forecast_beyond_the_budget_is_429_with_retry_after(strict: World) -> None:
    budget = strict.app.state.fair_use.forecasts
    with budget.running(40_000):  # another caller's forecast is running
        r = strict.call("viewer", "GET", "/forecast?samples=5000")
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        claims = strict.call("viewer", "GET", "/claims?samples=5000")
        assert claims.status_code == 429, claims.text
        assert strict.call("viewer", "GET", "/whoami").status_code == 200  # not queued behind
        small = strict.call("viewer", "GET", "/forecast?samples=100")
        assert small.status_code == 200, small.text  # 100 x 4 fits beside it
    assert budget.in_use == 0
    assert strict.call("viewer", "GET", "/forecast?samples=5000").status_code == 200


def test_one_forecast_alone_always_runs() -> None:
    budget = ForecastBudget(10)
    with budget.running(1_000_000):
        assert budget.in_use == 1_000_000
        with pytest.raises(RateLimited), budget.running(1):
            pass
    assert budget.in_use == 0


@pytest.mark.parametrize("path", ["/forecast", "/claims"])
def test_a_refused_forecast_is_refused_before_the_token_is_checked(
    strict: World, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The gate refuses a forecast (of /forecast or a claims check) the budget refuses
    before auth, parsing or the books."""
    assert strict.call("viewer", "GET", "/forecast?samples=10").status_code == 200
    gov = strict.app.state.backend.gov
    checked: list[str] = []
    inner = gov.identify  # how the API checks a token

    def counting(token: str) -> Any:
        checked.append(token)
        return inner(token)

    monkeypatch.setattr(gov, "identify", counting)
    with strict.app.state.fair_use.forecasts.running(40_000):
        r = strict.call("viewer", "GET", f"{path}?samples=5000")
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        assert checked == []  # decided before the token was looked up
        assert strict.call("viewer", "GET", f"{path}?samples=100").status_code == 200
        assert len(checked) == 1  # what fits is let through, and checked as always
    assert strict.call("viewer", "GET", f"{path}?samples=5000").status_code == 200


@pytest.mark.parametrize("in_use", [0, 1, 30_000, 49_999, 50_000], ids=lambda n: f"in-use-{n}")
@pytest.mark.parametrize("samples", [1, 100, 5_000, 20_000], ids=lambda n: f"samples-{n}")
def test_the_early_refusal_refuses_exactly_what_the_budget_refuses(
    in_use: int, samples: int
) -> None:
    budget = ForecastBudget(50_000)
    with budget.running(5, per_sample=5):  # a forecast of one sample of 5 lots: size 5 learnt
        pass
    held = budget.running(in_use) if in_use else None
    if held is not None:
        held.__enter__()
    try:
        early = _refuses(lambda: budget.refuse_early(samples))
        full = _refuses(lambda: budget.running(samples * 5).__enter__())
    finally:
        if held is not None:
            held.__exit__(None, None, None)
    assert early == full


def test_before_any_forecast_the_early_refusal_refuses_nothing() -> None:
    budget = ForecastBudget(10)
    with budget.running(1_000):
        budget.refuse_early(20_000)  # the books' size is not known yet: the route decides


def _refuses(attempt: Any) -> bool:
    try:
        attempt()
    except RateLimited:
        return True
    return False


# --------------------------------------------------------------------------- tokens


def test_wrong_secrets_for_a_token_id_are_429_before_argon2(
    strict: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = _hashes(strict, monkeypatch)
    bad = _wrong(strict.tokens["viewer"])
    headers = {"Authorization": f"Bearer {bad}"}
    for _ in range(FAILURES):
        assert strict.client.get("/api/v1/whoami", headers=headers).status_code == 401
    assert len(hashes) == FAILURES
    r = strict.client.get("/api/v1/whoami", headers=headers)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert len(hashes) == FAILURES  # refused before any hash
    other = TestClient(strict.app, client=("10.0.0.9", 4000))  # another address, same id
    assert other.get("/api/v1/whoami", headers=headers).status_code == 429
    assert len(hashes) == FAILURES


def test_a_token_that_worked_still_passes_a_flood_against_its_id(strict: World) -> None:
    assert strict.call("viewer", "GET", "/whoami").status_code == 200
    bad = {"Authorization": f"Bearer {_wrong(strict.tokens['viewer'])}"}
    attacker = TestClient(strict.app, client=("10.0.0.66", 4000))
    for _ in range(FAILURES + 2):
        attacker.get("/api/v1/whoami", headers=bad)
    assert attacker.get("/api/v1/whoami", headers=bad).status_code == 429
    assert strict.call("viewer", "GET", "/whoami").status_code == 200


def test_one_address_trying_many_token_ids_is_429(
    strict: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = _hashes(strict, monkeypatch)
    attacker = TestClient(strict.app, client=("10.0.0.77", 4000))
    for i in range(FAILURES):
        token = f"gpl_{i:016x}_{'B' * 43}"  # unknown ids: no hash, but still a failure
        assert (
            attacker.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
    wrong = {"Authorization": f"Bearer {_wrong(strict.tokens['planner'])}"}
    assert attacker.get("/api/v1/whoami", headers=wrong).status_code == 429
    assert hashes == []
    # Others are not affected: another address with a good token.
    assert strict.call("planner", "GET", "/whoami").status_code == 200


def test_the_window_ages_failures_out() -> None:
    now = [0.0]
    limiter = SignInLimiter(2, 10, clock=lambda: now[0])
    limiter.failed("t1", "a")
    limiter.failed("t1", "a")
    with pytest.raises(RateLimited) as caught, limiter.attempt("t1", "b", "gpl_x"):
        pass
    assert 1 <= caught.value.retry_after <= 10
    now[0] = 10.5
    with limiter.attempt("t1", "a", "gpl_x"):
        pass


def test_checks_in_flight_count_and_are_capped() -> None:
    limiter = SignInLimiter(2, 10, concurrent=2)
    with limiter.attempt("t1", "a", "gpl_1"), limiter.attempt("t1", "b", "gpl_2"):
        # Two checks of t1 are running: a third would pass the limit if both fail.
        with pytest.raises(RateLimited), limiter.attempt("t1", "c", "gpl_3"):
            pass
        # And no more than two checks of unverified tokens run at once.
        with pytest.raises(RateLimited), limiter.attempt("t2", "d", "gpl_4"):
            pass
    limiter.succeeded("t9", "gpl_good")
    with (
        limiter.attempt("t1", "a", "gpl_1"),
        limiter.attempt("t2", "b", "gpl_2"),
        limiter.attempt("t9", "z", "gpl_good"),  # a known token never waits
    ):
        pass
    with limiter.attempt("t2", "d", "gpl_4"):  # every slot was given back
        pass


def _token(token_id: str, secret: str) -> str:
    """A well-formed token: gpl_<16 hex id>_<43 character secret>."""
    return f"gpl_{token_id:0>16}_{secret:A<43}"


def test_the_early_refusal_counts_nothing_and_lets_a_known_token_pass() -> None:
    limiter = SignInLimiter(2, 10)
    wrong, good = _token("1", "wrong"), _token("1", "good")
    for _ in range(5):
        limiter.refuse_early(wrong, "a")  # asking is not failing
    limiter.failed("0000000000000001", "a")
    limiter.failed("0000000000000001", "a")
    with pytest.raises(RateLimited):
        limiter.refuse_early(wrong, "b")  # the token id is used up
    with pytest.raises(RateLimited):
        limiter.refuse_early(_token("2", "other"), "a")  # and so is the address
    limiter.refuse_early(_token("3", "other"), "c")
    limiter.succeeded("0000000000000001", good)
    limiter.refuse_early(good, "a")  # its owner passes, even from that address


def test_the_gate_answers_a_blocked_client_before_the_app_runs() -> None:
    fair = FairUse(ForecastBudget(10), SignInLimiter(1, 60), Tarpit(0))
    fair.sign_in.failed("0000000000000001", "10.0.0.1")
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await PlainTextResponse("ok")(scope, receive, send)

    near = TestClient(gate.FairUseGate(app, fair), client=("10.0.0.1", 4000))
    other = TestClient(gate.FairUseGate(app, fair), client=("10.0.0.2", 4000))
    blocked = {"Authorization": f"Bearer {_token('1', 'x')}"}
    r = other.get("/api/v1/no-such-route", headers=blocked)  # its token id, elsewhere
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    fresh = {"Authorization": f"Bearer {_token('3', 'x')}"}
    assert near.get("/api/v1/whoami", headers=fresh).status_code == 429  # its address
    r = other.get("/api/v1/whoami", headers={"Authorization": f"Bearer {_token('2', 'x')}"})
    assert r.status_code == 200
    assert other.get("/api/v1/whoami").status_code == 200  # no token: the app decides
    assert reached == ["/api/v1/whoami", "/api/v1/whoami"]


# --------------------------------------------------------------------------- tarpit


def test_a_client_that_asks_again_before_retry_after_is_held() -> None:
    now = [0.0]
    tarpit = Tarpit(0.5, held_max=2, clock=lambda: now[0])
    assert tarpit.refused("a", retry_after=3) == 0  # the first refusal: at once
    now[0] = 1.0
    assert tarpit.refused("a", retry_after=3) == 0.5  # asked again 2 s early: held
    assert tarpit.held == 1
    tarpit.released()
    now[0] = 4.5
    assert tarpit.refused("a", retry_after=3) == 0  # waited as told (until 4.0)
    assert tarpit.refused("b", retry_after=3) == 0  # another client is its own
    assert tarpit.refused(None, retry_after=3) == 0  # no address: nothing to track


def test_the_tarpit_holds_a_bounded_number_of_answers() -> None:
    tarpit = Tarpit(0.5, held_max=2, clock=lambda: 0.0)
    for address in ("a", "b", "c"):
        tarpit.refused(address, retry_after=60)
    assert [tarpit.refused(a, retry_after=60) for a in ("a", "b", "c")] == [0.5, 0.5, 0]
    assert tarpit.held == 2
    tarpit.released()
    tarpit.released()
    assert tarpit.held == 0
    assert Tarpit(0).refused("a", 60) == Tarpit(0).refused("a", 60) == 0  # 0: never held


def test_the_gate_holds_the_429_of_a_client_that_did_not_wait(
    strict: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    class Clock:
        @staticmethod
        async def sleep(seconds: float) -> None:
            slept.append(seconds)

    monkeypatch.setattr(gate, "anyio", Clock)
    assert strict.call("viewer", "GET", "/whoami").status_code == 200  # its owner, before
    bad = {"Authorization": f"Bearer {_wrong(strict.tokens['viewer'])}"}
    for _ in range(FAILURES):
        assert strict.client.get("/api/v1/whoami", headers=bad).status_code == 401
    statuses = [strict.client.get("/api/v1/whoami", headers=bad).status_code for _ in range(3)]
    assert statuses == [429, 429, 429]
    delay = ServerSettings().refusal_delay_ms / 1000
    assert slept == [delay, delay]  # the first refusal at once, the repeats held
    assert strict.app.state.fair_use.tarpit.held == 0  # every slot given back
    assert strict.call("viewer", "GET", "/whoami").status_code == 200  # never held
    assert len(slept) == 2


# --------------------------------------------------------------------------- web sign-in


def _sign_in(client: TestClient, token: str) -> Any:
    return client.post(
        "/login",
        data={"token": token, "next": "/"},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )


def test_wrong_secrets_at_the_web_sign_in_are_429_before_argon2(
    strict: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = _hashes(strict, monkeypatch)
    good = strict.tokens["viewer"]
    assert _sign_in(strict.client, good).status_code == 303  # its owner, before the flood
    hashes.clear()
    bad = _wrong(good)
    for _ in range(FAILURES):
        assert _sign_in(strict.client, bad).status_code == 401
    assert len(hashes) == FAILURES
    r = _sign_in(strict.client, bad)
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1 and "too many failed token checks" in r.text
    assert len(hashes) == FAILURES  # refused before any hash
    # the same limiter as the API: the token id is refused there too, from another address
    other = TestClient(strict.app, client=("10.0.0.9", 4000))
    headers = {"Authorization": f"Bearer {bad}"}
    assert other.get("/api/v1/whoami", headers=headers).status_code == 429
    # its owner still signs in: a token that worked before passes at once
    assert _sign_in(strict.client, good).status_code == 303
