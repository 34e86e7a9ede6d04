"""The composition root: one app serving the REST API and the web dashboard over the same books.

``gpuledger serve`` and the tests build the app here: the books and their
governance are opened once (``services.books.Backend``), the API
(:mod:`gpuledger.api`) and the dashboard (:mod:`gpuledger.web`) are mounted on
it, and neither interface imports the other. Answers of at least
:data:`GZIP_MIN_BYTES` are gzip-compressed for clients that accept it (HTML,
JSON, scripts, styles); the dashboard's static files come precompressed and
pass through as they are.

Every request meets ``api.gate.FairUseGate`` first (a 429 for a client or a
forecast fair use refuses anyway, before anything else runs), then
:class:`BodyLimit`: a body over its cap
(``ServerSettings``) is 413 before any parser sees it, a JSON body nested
deeper than ``domain.limits.NESTING_MAX`` is 413 before it is decoded, and a
path or query holding a control character (a NUL breaks PostgreSQL) is 422.
Then ``api.gate.AtOnce`` lets ``ServerSettings.requests_at_once`` reads, and as
many writes, into the app at a time, the others in turn. :func:`serve` runs it
all under uvicorn, the heap settled first.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gpuledger.api import mount
from gpuledger.api.app import new_app
from gpuledger.api.gate import AtOnce, FairUseGate
from gpuledger.config import ServerSettings
from gpuledger.domain import GpuledgerError, InputTooLarge, OutOfBounds
from gpuledger.domain.limits import check_json_nesting, check_size
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import system_clock
from gpuledger.services.books import Backend
from gpuledger.services.errors import error_body, http_status
from gpuledger.web import computes_forecast, create_router

#: Smaller answers are sent as they are (compressing them saves too little).
GZIP_MIN_BYTES = 1000
#: zlib level 6: most of level 9's saving at a fraction of its time, on every page.
GZIP_LEVEL = 6
#: The one route whose body may reach ``ServerSettings.scenario_max_bytes``.
SCENARIO_PATH = "/api/v1/scenario"
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimit:
    """ASGI middleware: bound each request's body, JSON nesting, path and query.

    The body is read here, at most its cap, before the app (and any parser)
    runs; a refusal is the JSON error of ``services.errors`` (413 or 422).
    """

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_target(scope)
            if scope["method"] in _BODILESS:
                await self.app(scope, receive, send)
                return
            body = await self._body(scope, receive)
        except GpuledgerError as exc:
            await _refuse(exc, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _cap(self, scope: Scope) -> int:
        if scope["path"] == SCENARIO_PATH:
            return self.settings.scenario_max_bytes
        return self.settings.request_max_bytes

    @staticmethod
    def _check_target(scope: Scope) -> None:
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        for part, raw in (("path", unquote_to_bytes(path)), ("query", scope["query_string"])):
            if _CONTROL.search(unquote_to_bytes(raw.replace(b"+", b" "))):
                raise OutOfBounds(f"the request {part} contains a control character", field=part)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        cap = self._cap(scope)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").strip()
        if length.isdigit():
            check_size(int(length), "the request body", cap)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            check_size(size, "the request body", cap)
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b""):
            check_json_nesting(body, "the request body")
        return body


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body read already, then the client's messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(exc: GpuledgerError, send: Send) -> None:
    assert isinstance(exc, InputTooLarge | OutOfBounds), exc
    payload = json.dumps(error_body(exc)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": http_status(exc),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def create_app(
    database_url: str,
    clock: Callable[[], datetime] = system_clock,
    *,
    hasher: TokenHasher | None = None,
    secure_cookie: bool = False,
    settings: ServerSettings | None = None,
) -> FastAPI:
    """The API (``/api/v1``) and the dashboard (``/``) over the books at ``database_url``.

    Args:
        database_url: a SQLAlchemy URL; the books are created or migrated on start.
        clock: the recorded time of writes (timezone-aware UTC).
        hasher: verifies tokens (tests pass cheap argon2 parameters).
        secure_cookie: mark the dashboard's sign-in cookie ``Secure`` (behind HTTPS).
        settings: request caps and fair use (default: ``ServerSettings.from_env()``).
    """
    settings = ServerSettings.from_env() if settings is None else settings
    app = new_app()
    backend = Backend.open(database_url, clock=clock, hasher=hasher)
    mount(app, backend, clock, settings)
    app.include_router(create_router(secure_cookie=secure_cookie))
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(AtOnce, limit=settings.requests_at_once, out_of_line=computes_forecast)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(FairUseGate, fair_use=app.state.fair_use)  # added last: runs first
    app.state.settings = settings
    return app


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` with uvicorn until stopped, the heap settled first.

    What is loaded by now (the modules, the app, its routes and models) lives as
    long as the process. Frozen out of the garbage collector's sight
    (``gc.freeze``), a full collection walks only what requests have made since,
    and its pause, which every request in flight waits out, shrinks: 70-90 ms
    before, in the API benchmark's mix (docs/benchmarks.md).
    """
    import uvicorn

    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level)
