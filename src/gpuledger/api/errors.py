"""Errors as JSON: ``{"error": {"code", "message", "field"}}`` with a 4xx status.

The status of each error class comes from the one table of
:mod:`gpuledger.services.errors` (the web uses it too), the code and field
from the error itself. Nothing here decides a rule.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from gpuledger.domain import GpuledgerError, RateLimited, Unavailable
from gpuledger.services.errors import MEANING, error_detail, http_status


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message naming the record, the field if one."""

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail


#: Declared on every route so the OpenAPI names each possible error status.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in MEANING.items()
}


def error_json(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON error response."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def domain_error(exc: GpuledgerError) -> JSONResponse:
    """The answer to a domain error: its status from the table, its code and field."""
    detail = error_detail(exc)
    headers = (
        {"Retry-After": str(exc.retry_after)}
        if isinstance(exc, (RateLimited, Unavailable))
        else None
    )
    return error_json(http_status(exc), **detail, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into JSON."""

    @app.exception_handler(GpuledgerError)
    async def _domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GpuledgerError)
        return domain_error(exc)

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
