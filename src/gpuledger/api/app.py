"""The REST API: ``/api/v1``, the same operations and JSON as the CLI.

No rule lives here: each router (``api.routes``) authenticates the caller
(``api.deps``), calls :mod:`gpuledger.services` and answers the result's JSON.
Writes carry an ``Idempotency-Key``; lists page with ``limit``/``offset`` and a
``next`` link; errors are ``{"error": {...}}`` 4xx (``api.errors``).

:func:`mount` puts the API on an app (``gpuledger.server`` mounts it beside
the web dashboard); :func:`create_app` is an app with the API alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI

from gpuledger import __version__
from gpuledger.api import errors
from gpuledger.api.deps import known_query
from gpuledger.api.gate import FairUseGate
from gpuledger.api.idempotency import IdempotencyStore
from gpuledger.api.links import add_links
from gpuledger.api.routes import (
    admin,
    books,
    corrections,
    diversions,
    lists,
    planning,
    verbs,
)
from gpuledger.config import ServerSettings
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import system_clock
from gpuledger.services.books import Backend
from gpuledger.services.fair_use import FairUse
from gpuledger.services.forecast_workers import ForecastWorkers

PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every route of the API (without its prefix), each declaring its error answers.

    A query parameter an operation does not take is refused (``deps.known_query``).
    """
    router = APIRouter(responses=errors.ERROR_RESPONSES, dependencies=[Depends(known_query)])
    for module in (admin, books, corrections, diversions, lists, planning, verbs):
        router.include_router(module.router)
    return router


def new_app() -> FastAPI:
    """An empty app with the API's title, version and OpenAPI location (with its links)."""
    app = FastAPI(
        title="gpuledger",
        version=__version__,
        description="Track scarce GPUs, plan who gets them, and govern diversions.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate(), PREFIX)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend the schema
    return app


def mount(
    app: FastAPI,
    backend: Backend,
    clock: Callable[[], datetime],
    settings: ServerSettings | None = None,
) -> None:
    """Serve the API of ``backend``'s books on ``app`` under ``/api/v1``.

    ``settings`` bound forecasts and failed sign-ins (``ServerSettings.from_env()``
    when None). The forecast worker processes start with the app's lifespan and
    stop with it (``services.forecast_workers``).
    """
    settings = ServerSettings.from_env() if settings is None else settings
    app.state.backend = backend
    app.state.fair_use = FairUse.of(settings)
    app.state.idempotency = IdempotencyStore(backend.ledger.engine, clock)
    workers = ForecastWorkers(settings.forecast_processes)
    app.state.forecast_workers = workers
    app.router.lifespan_context = _with_workers(workers, app.router.lifespan_context)
    errors.install(app)
    app.include_router(api_router(), prefix=PREFIX)


Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def _with_workers(workers: ForecastWorkers, inner: Lifespan) -> Lifespan:
    """The app's lifespan, with the forecast workers started before and stopped after."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        await to_thread.run_sync(workers.start)
        try:
            async with inner(app) as state:
                yield state
        finally:
            await to_thread.run_sync(workers.close)

    return lifespan


def create_app(
    database_url: str,
    clock: Callable[[], datetime] = system_clock,
    *,
    hasher: TokenHasher | None = None,
) -> FastAPI:
    """The API alone over the books at ``database_url`` (created or migrated on start).

    ``gpuledger serve`` uses :func:`gpuledger.server.create_app`, which adds the
    web dashboard.

    Args:
        database_url: a SQLAlchemy URL (``sqlite:///file.db``, ``postgresql+psycopg://...``).
        clock: the recorded time of writes (timezone-aware UTC).
        hasher: verifies tokens (tests pass cheap argon2 parameters).
    """
    app = new_app()
    mount(app, Backend.open(database_url, clock=clock, hasher=hasher), clock)
    app.add_middleware(FairUseGate, fair_use=app.state.fair_use)
    return app
