"""Every error a user can meet: one hierarchy, each class with a stable ``code``.

The code is what the API's JSON error body carries and what users can look up
in docs (as SQLAlchemy's error codes are). Interfaces map these classes at their
boundary (CLI: exit 2 and one line; API: a 4xx JSON body; web: an error page);
nothing below the interfaces knows about exit codes or HTTP.

The message always names the record and the reason, and never reveals a record
the caller may not see.
"""

from __future__ import annotations

from typing import ClassVar


class GpuledgerError(Exception):
    """Base of every error a user can meet; the message names the record and the fix."""

    code: ClassVar[str] = "invalid"

    @property
    def field_name(self) -> str | None:
        """The input field at fault, when one is known."""
        return getattr(self, "field", None)


class InvalidInput(GpuledgerError):
    """A value given to a command, a request or a form is malformed; ``field`` names it."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class ScenarioError(InvalidInput):
    """A scenario file (or spreadsheet) is not valid; nothing was imported.

    Attributes name where: the file, the 1-based line (None when unknown), the
    record (e.g. ``lots[3] LOT-T1-07``) and the field.
    """

    code = "invalid"

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.record = record
        super().__init__(self._describe(reason, file, line, record, field), field=field)

    @staticmethod
    def _describe(
        reason: str, file: str | None, line: int | None, record: str | None, field: str | None
    ) -> str:
        where = ""
        if file:
            where = file + (f":{line}" if line else "")
        subject = " ".join(p for p in (record, field and f"field '{field}'") if p)
        head = ": ".join(p for p in (where, subject) if p)
        return f"{head}: {reason}" if head else reason

    def describe(self) -> str:
        """One line: ``file:line: record field: reason``."""
        return self._describe(self.reason, self.file, self.line, self.record, self.field)


class OutOfBounds(InvalidInput):
    """A value lies outside the bounds of :mod:`gpuledger.domain.limits`."""

    code = "out_of_bounds"


class InputTooLarge(InvalidInput):
    """An input (a file, a request body, a nesting depth) exceeds its stated limit."""

    code = "too_large"


class UnknownRecord(GpuledgerError):
    """A referenced org, lot, SKU, diversion... does not exist (or the caller may not see it)."""

    code = "not_found"


class BooksNotFound(GpuledgerError):
    """The books named by a path or URL do not exist (and the command does not create them)."""

    code = "books_not_found"


class PermissionDenied(GpuledgerError):
    """The actor may not do this (governance)."""

    code = "permission_denied"


class Unauthenticated(GpuledgerError):
    """No valid credential: a missing, malformed, unknown, expired or revoked token or session."""

    code = "unauthenticated"


class RateLimited(GpuledgerError):
    """Too many requests of a kind; ``retry_after`` says when to try again (seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Unavailable(GpuledgerError):
    """The server could not do the work just now (a worker process stopped); retry.

    ``retry_after`` says when (seconds). Not the caller's fault: a server answers 503.
    """

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class LedgerError(GpuledgerError):
    """A ledger operation was refused; the books are unchanged."""

    code = "refused"


class InsufficientUnits(LedgerError):
    """A debit would take an account below zero, counting pending debits."""

    code = "insufficient_units"


class IdempotencyConflict(LedgerError):
    """An operation id was used before with different content."""

    code = "idempotency_conflict"


class InvalidTransition(LedgerError):
    """A diversion cannot move to the asked state (e.g. approving a voided one)."""

    code = "invalid_transition"


class CapacityExceeded(LedgerError):
    """A deploy would put more units at a site than its power can run."""

    code = "capacity_exceeded"


#: Every error class, most specific first: interfaces map by walking this list.
ERROR_CLASSES: tuple[type[GpuledgerError], ...] = (
    ScenarioError,
    OutOfBounds,
    InputTooLarge,
    InvalidInput,
    UnknownRecord,
    BooksNotFound,
    PermissionDenied,
    Unauthenticated,
    RateLimited,
    Unavailable,
    InsufficientUnits,
    IdempotencyConflict,
    InvalidTransition,
    CapacityExceeded,
    LedgerError,
    GpuledgerError,
)
