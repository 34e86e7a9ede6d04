"""Refuse a flood before the app runs: fair use's refusals, decided in microseconds.

Hostile clients that repeat a refused request (wrong secrets for a token id,
forecasts beyond the server's budget) would otherwise each pass the
middleware, routing, dependency resolution, a thread hop and the token's
database lookup before their 429: about a millisecond of the event loop each,
and a legitimate request waits its turn behind dozens of them. This ASGI
middleware asks the same rules first (``services.fair_use``: ``refuse_early``),
from the request line and the Authorization header alone. It never admits
anything: a request it lets through meets every check it meets today. A
client refused again before its Retry-After has passed waits a little for its
429 (``fair_use.Tarpit``), so a flood in a loop slows to a few requests a second
per client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qs

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gpuledger.api.errors import domain_error
from gpuledger.domain import RateLimited
from gpuledger.services.fair_use import FairUse
from gpuledger.services.requests import DEFAULT_SAMPLES, SERVER_SAMPLES_MAX

#: The routes whose requests run forecasts of ``samples`` (``api.routes.planning``):
#: a forecast, and a claims check (its target claims' forecast).
FORECAST_PATHS: Final = frozenset({"/api/v1/forecast", "/api/v1/claims"})
_BEARER: Final = b"bearer "


class FairUseGate:
    """ASGI middleware: 429 (with Retry-After) for what ``fair_use`` refuses anyway."""

    def __init__(self, app: ASGIApp, fair_use: FairUse) -> None:
        self.app = app
        self.fair_use = fair_use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                self._check(scope)
            except RateLimited as exc:
                await self._refuse(exc, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, exc: RateLimited, scope: Scope, receive: Receive, send: Send) -> None:
        """The 429, held back first when the client did not wait as told (the tarpit)."""
        tarpit = self.fair_use.tarpit
        delay = tarpit.refused(_address(scope), exc.retry_after)
        if delay:
            try:
                await anyio.sleep(delay)
            finally:
                tarpit.released()
        await domain_error(exc)(scope, receive, send)

    def _check(self, scope: Scope) -> None:
        token = _bearer(scope)
        if token is not None:
            self.fair_use.sign_in.refuse_early(token, _address(scope))
        if scope["path"] in FORECAST_PATHS and scope["method"] == "GET":
            samples = _samples(scope["query_string"])
            if samples is not None:
                self.fair_use.forecasts.refuse_early(samples)


def _address(scope: Scope) -> str | None:
    """The client's address (as ``api.deps.caller`` reads it)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def _bearer(scope: Scope) -> str | None:
    """The bearer token of the request's Authorization header, if it has one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            raw = bytes(value)
            return raw[len(_BEARER) :].decode("latin-1") if raw[:7].lower() == _BEARER else None
    return None


def _samples(query: bytes) -> int | None:
    """The forecast's ``samples`` (its default when absent); None when not a valid count."""
    given = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("samples")
    if not given:
        return DEFAULT_SAMPLES
    text = given[-1]
    if not text.isdigit() or len(text) > len(str(SERVER_SAMPLES_MAX)):
        return None  # the route answers 422
    samples = int(text)
    return samples if 1 <= samples <= SERVER_SAMPLES_MAX else None


#: Methods that only read: their line never waits for the books' write lock.
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class AtOnce:
    """ASGI middleware: at most ``limit`` reads and ``limit`` writes inside the app at once.

    One process runs Python one thread at a time; requests admitted together
    share the core in short turns, so each takes as long as all of them, and
    the turns themselves cost the core time. Let in one at a time, first come
    first served, each runs alone and the slow end of the latencies shrinks
    (``docs/benchmarks.md``). Writes (any method but ``READ_METHODS``) have a
    line of their own: a write may wait inside for the books' write lock while
    another process holds it, and the reads behind it must not wait with it.
    Forecasts (``FORECAST_PATHS``) bypass the lines: they wait on worker
    processes under their own budget, and so do the paths ``out_of_line`` names
    (the dashboard's forecast pages, which compute for seconds: in line, every
    read would wait for them). ``limit`` 0 lets everything in at once.
    A request leaves its line when its answer starts: sending it waits on the
    client (one that never reads would otherwise hold up everyone behind it).
    """

    def __init__(
        self, app: ASGIApp, limit: int, out_of_line: Callable[[str], bool] = lambda _: False
    ) -> None:
        assert limit >= 0, limit
        self.app = app
        self.limit = limit
        self.out_of_line = out_of_line
        # the lines (reads, writes), made in the event loop that serves (a test
        # client may run another)
        self._lines: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore, asyncio.Semaphore] | None
        self._lines = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.limit
            or scope["type"] != "http"
            or scope["path"] in FORECAST_PATHS
            or self.out_of_line(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        line = self._line(scope["method"] in READ_METHODS)
        await line.acquire()
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                line.release()

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()  # the work is done: sending waits on the client, not on the core
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            leave()

    def _line(self, read: bool) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._lines is None or self._lines[0] is not loop:
            self._lines = (loop, asyncio.Semaphore(self.limit), asyncio.Semaphore(self.limit))
        return self._lines[1] if read else self._lines[2]
