"""The one table from an error a user can meet to an HTTP status, for the API and the web.

The error's stable ``code`` and its ``field`` come from the error class itself
(:mod:`gpuledger.domain.errors`); this table adds only the status. The first
row whose class matches wins, so subclasses come before their bases. The
command line maps every one of them to exit 2 (``gpuledger.cli``).
"""

from __future__ import annotations

from typing import Any, Final

from gpuledger.domain import (
    BooksNotFound,
    CapacityExceeded,
    GpuledgerError,
    IdempotencyConflict,
    InputTooLarge,
    InsufficientUnits,
    InvalidInput,
    InvalidTransition,
    LedgerError,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnknownRecord,
)

#: Error class -> HTTP status, most specific first.
STATUS: Final[tuple[tuple[type[GpuledgerError], int], ...]] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (UnknownRecord, 404),
    (InputTooLarge, 413),
    (RateLimited, 429),
    (BooksNotFound, 503),  # the server's own books are missing: not the caller's fault
    (Unavailable, 503),  # a forecast worker stopped: retry
    (InsufficientUnits, 409),
    (IdempotencyConflict, 409),
    (InvalidTransition, 409),
    (CapacityExceeded, 409),
    (InvalidInput, 422),
    (LedgerError, 422),
    (GpuledgerError, 422),
)

#: What each status means, for the OpenAPI of every route.
MEANING: Final[dict[int, str]] = {
    400: "Malformed request",
    401: "Missing, unknown or revoked bearer token",
    403: "The caller's roles do not allow this",
    404: "No such record, or one the caller may not see",
    409: "Conflict: units already reserved, a decided diversion, an id or key reused",
    413: "The request body is larger than its limit",
    422: "Invalid input: the message names the field and the reason",
    429: "Too many requests: retry after the time the Retry-After header gives",
    503: "The server's books are missing, or a worker stopped while running the request: retry",
}


def http_status(exc: GpuledgerError) -> int:
    """The HTTP status of an error (422 when no row is more precise)."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    raise AssertionError("GpuledgerError is the table's last row")  # pragma: no cover


def error_detail(exc: GpuledgerError) -> dict[str, Any]:
    """``{"code", "message", "field"}``: the stable code, the message, the field at fault."""
    return {"code": exc.code, "message": str(exc), "field": exc.field_name}


def error_body(exc: GpuledgerError) -> dict[str, Any]:
    """The JSON body of an error answer: ``{"error": {...}}``."""
    return {"error": error_detail(exc)}


def one_line(exc: BaseException) -> str:
    """The error as one line (new lines and runs of blanks folded), for terminals and logs."""
    return " ".join(str(exc).split()) or type(exc).__name__
