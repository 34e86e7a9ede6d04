"""What the routes depend on: the books, the authenticated caller, parameter types, writes.

FastAPI dependencies (:func:`backend`, :func:`caller`) hand each route the
server's books and the caller; the annotated types below state every
parameter's bounds once (from :mod:`gpuledger.domain.limits` and
:mod:`gpuledger.services.requests`) so the OpenAPI names them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator

from gpuledger.api.idempotency import IdempotencyStore, request_hash
from gpuledger.domain import GpuledgerError, InvalidInput, PolicyName, Unauthenticated
from gpuledger.domain.limits import DATE_MAX, DATE_MIN, ID_MAX_LEN, ID_PATTERN
from gpuledger.governance.rules import Access, Action, Directory
from gpuledger.services import requests as rq
from gpuledger.services.books import Backend, visibility
from gpuledger.services.errors import error_body, http_status
from gpuledger.services.fair_use import FairUse
from gpuledger.services.forecast_workers import ForecastWorkers
from gpuledger.services.visibility import Visibility

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Caller:
    """The authenticated user, their access, and the directory it was resolved from."""

    user: str
    access: Access
    directory: Directory


# The dependencies that only read ``app.state`` are coroutines: FastAPI runs a plain
# function dependency on a worker thread, a hop per dependency per request.


async def backend(request: Request) -> Backend:
    """The server's books and governance (``app.state.backend``)."""
    found = request.app.state.backend
    assert isinstance(found, Backend), "the app was not built by gpuledger.api or gpuledger.server"
    return found


async def fair_use(request: Request) -> FairUse:
    """The server's forecast budget and sign-in limiter (``services.fair_use``)."""
    found = request.app.state.fair_use
    assert isinstance(found, FairUse)
    return found


async def forecast_workers(request: Request) -> ForecastWorkers:
    """The processes that run the server's forecasts (``services.forecast_workers``)."""
    found = request.app.state.forecast_workers
    assert isinstance(found, ForecastWorkers)
    return found


async def idempotency(request: Request) -> IdempotencyStore:
    """The stored answers of writes, by (user, Idempotency-Key)."""
    store = request.app.state.idempotency
    assert isinstance(store, IdempotencyStore)
    return store


async def known_query(request: Request) -> None:
    """422 naming a query parameter the operation does not take.

    Ignored, a misspelt parameter (``?sample=100``) would answer as if it were
    absent (1,000 samples) and look like an answer to the question asked.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    taken = _query_names(route)
    for name in request.query_params:
        if name not in taken:
            offered = ", ".join(sorted(taken)) or "none"
            raise InvalidInput(
                f"unknown query parameter {name!r}; this operation takes: {offered}", field=name
            )


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` declares, its dependencies' included (a walk of a
    dozen objects: cheaper than a cache keyed on routes, which are not hashable)."""
    names: set[str] = set()
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        names.update(p.alias for p in dependant.query_params)
        todo.extend(dependant.dependencies)
    return frozenset(names)


_BEARER = HTTPBearer(auto_error=False, description="An API token: gpl_<id>_<secret>.")


def caller(
    request: Request,
    books: Annotated[Backend, Depends(backend)],
    limits: Annotated[FairUse, Depends(fair_use)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Caller:
    """Authenticate the bearer token and resolve the caller's access.

    Failed checks are counted per token id and per client address; too many
    are 429 before the token's hash is computed (``services.fair_use``).
    """
    if credentials is None:
        raise Unauthenticated("a bearer token is required: Authorization: Bearer gpl_...")
    address = request.client.host if request.client else None
    user, directory = limits.sign_in.check(credentials.credentials, address, books.gov.identify)
    return Caller(user, directory.access(user), directory)


Books = Annotated[Backend, Depends(backend)]
Who = Annotated[Caller, Depends(caller)]
Idempotency = Annotated[IdempotencyStore, Depends(idempotency)]
Limits = Annotated[FairUse, Depends(fair_use)]
Workers = Annotated[ForecastWorkers, Depends(forecast_workers)]


def seen(books: Backend, who: Caller) -> Visibility:
    """What the caller sees of the books (``services.visibility``)."""
    return visibility(books.ledger, who.access)


def require(books: Backend, who: Caller, action: Action, org: str) -> None:
    """404 for an org the caller cannot see; 403 when seen but the role does not allow it."""
    seen(books, who).require_org(org)
    who.access.require(action, org)


# --------------------------------------------------------------------------- parameters

#: The longest Idempotency-Key: printable ASCII, no blanks.
KEY_MAX_LEN = 200


Key = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX_LEN,
        pattern=r"^[!-~]+$",
        description="Same key and body: the stored response replayed; other body: 409.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")]
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX_LEN, pattern=ID_PATTERN.pattern)]


def day(value: Any) -> date | None:
    """An ISO date within the books' bounds (never a number read as a Unix time).

    A ValueError, so the validation error names the query parameter.
    """
    if value is None or isinstance(value, date):
        return value
    try:
        return rq.parse_date(str(value), "date")
    except InvalidInput as exc:
        raise ValueError(str(exc).removeprefix("date ")) from None


Day = Annotated[
    date | None,
    BeforeValidator(day),
    Query(
        ge=DATE_MIN,
        le=DATE_MAX,
        description=f"A date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}.",
    ),
]
Samples = Annotated[
    int,
    Query(
        ge=1,
        le=rq.SERVER_SAMPLES_MAX,
        description=f"Monte Carlo samples (at most {rq.SERVER_SAMPLES_MAX:,}).",
    ),
]
Seed = Annotated[int, Query(ge=0, le=rq.SEED_MAX, description="Same seed, same answer.")]
Policy = Annotated[
    PolicyName,
    Query(description=f"How supply is handed out (default {rq.DEFAULT_POLICY.value})."),
]
OrgFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=ID_MAX_LEN,
        pattern=ID_PATTERN.pattern,
        description="Only this org (and its clusters).",
    ),
]


# --------------------------------------------------------------------------- answers


def validated(model: type[M], data: Any) -> dict[str, Any]:
    """``data`` checked against a response model, as JSON (for answers stored for replay)."""
    return model.model_validate(data).model_dump(mode="json")


def page(request: Request, items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """One page of ``items``: the slice, ``total``, ``limit``, ``offset`` and ``next``."""
    total = len(items)
    following = None
    if offset + limit < total:
        following = str(request.url.include_query_params(limit=limit, offset=offset + limit))
    return {
        "items": items[offset : offset + limit],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next": following,
    }


def write(
    request: Request,
    store: IdempotencyStore,
    who: Caller,
    key: str,
    body: BaseModel | None,
    handler: Callable[[], dict[str, Any]],
) -> JSONResponse:
    """Run a write once per (caller, Idempotency-Key); replay its stored answer after.

    A refusal (a domain error) is stored and replayed like a success; the same
    key with another request is 409.
    """
    digest = request_hash(
        request.method, request.url.path, body.model_dump(mode="json") if body else None
    )

    def run() -> tuple[int, Any]:
        return 200, handler()

    def refused(exc: GpuledgerError) -> tuple[int, Any]:
        return http_status(exc), error_body(exc)

    status, data = store.run(who.user, key, digest, run, refused)
    return JSONResponse(data, status_code=status)
