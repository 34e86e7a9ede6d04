"""The composition root: one app serving the REST API and the web dashboard over the same books.

``gpuledger serve`` and the tests build the app here: the books and their
governance are opened once (``services.books.Backend``), the API
(:mod:`gpuledger.api`) and the dashboard (:mod:`gpuledger.web`) are mounted on
it, and neither interface imports the other. Answers of at least
:data:`GZIP_MIN_BYTES` are gzip-compressed for clients that accept it (HTML,
JSON, scripts, styles); the dashboard's static files come precompressed and
pass through as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from gpuledger.api import mount
from gpuledger.api.app import new_app
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import system_clock
from gpuledger.services.books import Backend
from gpuledger.web import create_router

#: Smaller answers are sent as they are (compressing them saves too little).
GZIP_MIN_BYTES = 1000
#: zlib level 6: most of level 9's saving at a fraction of its time, on every page.
GZIP_LEVEL = 6


def create_app(
    database_url: str,
    clock: Callable[[], datetime] = system_clock,
    *,
    hasher: TokenHasher | None = None,
    secure_cookie: bool = False,
) -> FastAPI:
    """The API (``/api/v1``) and the dashboard (``/``) over the books at ``database_url``.

    Args:
        database_url: a SQLAlchemy URL; the books are created or migrated on start.
        clock: the recorded time of writes (timezone-aware UTC).
        hasher: verifies tokens (tests pass cheap argon2 parameters).
        secure_cookie: mark the dashboard's sign-in cookie ``Secure`` (behind HTTPS).
    """
    app = new_app()
    backend = Backend.open(database_url, clock=clock, hasher=hasher)
    mount(app, backend, clock)
    app.include_router(create_router(secure_cookie=secure_cookie))
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    return app
