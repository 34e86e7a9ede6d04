"""Errors as JSON: ``{"error": {"code", "message", "field"}}`` with a 4xx status.

Every error a user can meet is a typed exception of :mod:`gpuledger.domain`; this
module maps each to a status and a stable ``code``. Nothing here decides a rule.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from gpuledger.domain import (
    GpuledgerError,
    IdempotencyConflict,
    InsufficientUnits,
    InvalidInput,
    InvalidTransition,
    LedgerError,
    PermissionDenied,
    ScenarioError,
    Unauthenticated,
    UnknownRecord,
)


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message naming the record, the field if one."""

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail


#: Exception type -> (status, code); the first match in order wins (subclasses first).
MAPPING: tuple[tuple[type[GpuledgerError], int, str], ...] = (
    (Unauthenticated, 401, "unauthenticated"),
    (PermissionDenied, 403, "permission_denied"),
    (UnknownRecord, 404, "not_found"),
    (InsufficientUnits, 409, "insufficient_units"),
    (IdempotencyConflict, 409, "idempotency_conflict"),
    (InvalidTransition, 409, "invalid_transition"),
    (ScenarioError, 422, "invalid"),
    (InvalidInput, 422, "invalid"),
    (LedgerError, 422, "refused"),
    (GpuledgerError, 422, "invalid"),
)

#: Declared on every route so the OpenAPI names each possible error status.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request"),
        (401, "Missing, unknown or revoked bearer token"),
        (403, "The caller's roles do not allow this"),
        (404, "No such record, or one the caller may not see"),
        (409, "Conflict: units already reserved, a decided diversion, a reused Idempotency-Key"),
        (422, "Invalid input: the message names the field and the reason"),
    )
}


def error_json(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    """The JSON error response."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def classify(exc: GpuledgerError) -> tuple[int, str, str | None]:
    """Status, code and field of a domain error."""
    field = exc.field if isinstance(exc, ScenarioError | InvalidInput) else None
    for cls, status, code in MAPPING:
        if isinstance(exc, cls):
            return status, code, field
    return 422, "invalid", field  # pragma: no cover - GpuledgerError is last


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into JSON."""

    @app.exception_handler(GpuledgerError)
    async def _domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GpuledgerError)
        status, code, field = classify(exc)
        return error_json(status, code, str(exc), field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = list(exc.errors())
        first = problems[0] if problems else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or None
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in problems[:5]
        )
        return error_json(422, "invalid", message or "invalid request", field)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return error_json(status, codes.get(status, "bad_request"), str(exc.detail))
