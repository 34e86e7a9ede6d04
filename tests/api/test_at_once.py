"""``api.gate.AtOnce``: a few requests inside the app at a time, the rest in turn (issue 16)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from gpuledger.api.gate import FORECAST_PATHS, AtOnce
from gpuledger.config import REQUESTS_AT_ONCE, ServerSettings
from gpuledger.server import create_app


class Recorder:
    """An ASGI app that notes who is inside and holds each request until told."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.most = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside.append(scope["path"])
        self.most = max(self.most, len(self.inside))
        await self.release.wait()
        self.inside.remove(scope["path"])


def http(path: str, method: str = "GET") -> Scope:
    return {"type": "http", "path": path, "method": method}


async def nothing() -> dict[str, str]:
    return {"type": "http.disconnect"}


async def ignore(message: object) -> None:
    return None


async def admitted(
    limit: int, paths: list[str], methods: list[str] | None = None, **options: Any
) -> tuple[list[str], int]:
    """Who was inside with every request sent and none finished; the most inside at once."""
    inner = Recorder()
    gate = AtOnce(inner, limit, **options)
    sent = zip(paths, methods or ["GET"] * len(paths), strict=True)
    tasks = [asyncio.create_task(gate(http(p, m), nothing, ignore)) for p, m in sent]
    for _ in range(10):
        await asyncio.sleep(0)
    inside = list(inner.inside)
    inner.release.set()
    await asyncio.gather(*tasks)
    return inside, inner.most


def test_at_most_limit_requests_are_inside_and_the_first_come_first() -> None:
    paths = [f"/api/v1/balances/{i}" for i in range(6)]
    inside, most = asyncio.run(admitted(2, paths))
    assert inside == paths[:2]
    assert most == 2  # the others went in later, in turn, and all finished


def test_writes_have_a_line_of_their_own_so_a_waiting_write_holds_up_no_read() -> None:
    """A write may wait inside for the books' write lock (another process holds it):
    the reads behind it go on, one at a time, in their own line."""
    paths = ["/w1", "/r1", "/w2", "/r2", "/r3"]
    methods = ["POST", "GET", "POST", "HEAD", "GET"]
    inside, most = asyncio.run(admitted(1, paths, methods))
    assert inside == ["/w1", "/r1"]
    assert most == 2
    inside, _ = asyncio.run(admitted(2, paths, methods))
    assert inside == ["/w1", "/r1", "/w2", "/r2"]


def test_one_read_and_one_write_at_once_by_default() -> None:
    """Measured on the mix (docs/benchmarks.md): one at a time wastes no core's time on
    requests taking turns, and gave the lowest p99s and the most requests a second."""
    assert REQUESTS_AT_ONCE == 1
    assert ServerSettings().requests_at_once == 1


def test_forecasts_pass_the_line_and_zero_admits_everything() -> None:
    forecast = sorted(FORECAST_PATHS)[0]
    inside, _ = asyncio.run(admitted(1, ["/api/v1/balances", "/api/v1/trace", forecast]))
    assert inside == ["/api/v1/balances", forecast]
    paths = [f"/p{i}" for i in range(5)]
    assert asyncio.run(admitted(0, paths))[0] == paths


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, REQUESTS_AT_ONCE), ({"GPULEDGER_REQUESTS_AT_ONCE": "0"}, 0),
     ({"GPULEDGER_REQUESTS_AT_ONCE": "12"}, 12)],
)  # fmt: skip
def test_the_setting(env: dict[str, str], expected: int) -> None:
    assert ServerSettings.from_env(env).requests_at_once == expected


def test_a_negative_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="requests_at_once must be a whole number of 0 or more"):
        ServerSettings.from_env({"GPULEDGER_REQUESTS_AT_ONCE": "-1"})


def test_the_server_puts_requests_in_line(tmp_path: object) -> None:
    app = create_app(f"sqlite:///{tmp_path}/books.db", settings=ServerSettings(requests_at_once=3))
    limits = [m.kwargs["limit"] for m in app.user_middleware if m.cls is AtOnce]
    assert limits == [3]


def test_each_event_loop_has_its_own_line() -> None:
    """A test client runs the app in loops of its own: a line made in one serves no other."""
    inner = Recorder()
    gate = AtOnce(inner, 1)

    async def two_at_once() -> int:
        inner.release = asyncio.Event()
        tasks = [asyncio.create_task(gate(http(f"/p{i}"), nothing, ignore)) for i in range(2)]
        for _ in range(5):
            await asyncio.sleep(0)
        inside = len(inner.inside)
        inner.release.set()
        await asyncio.gather(*tasks)
        return inside

    assert asyncio.run(two_at_once()) == 1
    assert asyncio.run(two_at_once()) == 1  # a new loop: a new line, no error


def test_a_request_leaves_the_line_when_its_answer_starts() -> None:
    """The line bounds the work, not the sending: a client that never reads its
    answer (the socket's buffers full, ``send`` waiting) must not hold up the rest."""
    stuck = asyncio.Event()
    inside: list[str] = []

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        inside.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    async def never_drains(message: object) -> None:
        if isinstance(message, dict) and message.get("type") == "http.response.body":
            await stuck.wait()

    async def two() -> list[str]:
        gate = AtOnce(answer, 1)
        slow = asyncio.create_task(gate(http("/big"), nothing, never_drains))
        for _ in range(5):
            await asyncio.sleep(0)
        await asyncio.wait_for(gate(http("/next"), nothing, ignore), timeout=5)
        stuck.set()
        await slow
        return inside

    assert asyncio.run(two()) == ["/big", "/next"]


@pytest.mark.parametrize("page", ["/", "/forecast", "/claims", "/orgs/tesla"])
def test_the_dashboards_forecast_pages_pass_the_line(tmp_path: object, page: str) -> None:
    """They compute a forecast in the server's process (seconds at world size): in
    line, every other read would wait for it (a hostile review measured a GET
    /api/v1/whoami held 737 ms behind one /forecast page)."""
    app = create_app(f"sqlite:///{tmp_path}/books.db")
    [options] = [m.kwargs for m in app.user_middleware if m.cls is AtOnce]
    paths = ["/api/v1/balances", page, "/diversions"]
    inside, _ = asyncio.run(admitted(paths=paths, **options))
    assert inside == ["/api/v1/balances", page]
