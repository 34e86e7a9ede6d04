"""The one table from an error to an HTTP status, used by the API and the web."""

from __future__ import annotations

import pytest

from gpuledger.domain import ERROR_CLASSES, GpuledgerError, InsufficientUnits, InvalidInput
from gpuledger.services.errors import MEANING, STATUS, error_body, http_status, one_line

EXPECTED = {
    "ScenarioError": 422,
    "OutOfBounds": 422,
    "InputTooLarge": 413,
    "InvalidInput": 422,
    "UnknownRecord": 404,
    "BooksNotFound": 503,
    "Unavailable": 503,
    "PermissionDenied": 403,
    "Unauthenticated": 401,
    "RateLimited": 429,
    "InsufficientUnits": 409,
    "IdempotencyConflict": 409,
    "InvalidTransition": 409,
    "CapacityExceeded": 409,
    "LedgerError": 422,
    "GpuledgerError": 422,
}


def _instance(cls: type[GpuledgerError]) -> GpuledgerError:
    try:
        return cls("why")
    except TypeError:  # ScenarioError names its reason
        return cls(reason="why")  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_has_its_status(cls: type[GpuledgerError]) -> None:
    assert http_status(_instance(cls)) == EXPECTED[cls.__name__]
    assert EXPECTED[cls.__name__] in MEANING  # the OpenAPI declares it


def test_subclasses_come_before_their_bases() -> None:
    for i, (cls, _) in enumerate(STATUS):
        later = [base for base, _ in STATUS[i + 1 :]]
        assert not any(issubclass(base, cls) and base is not cls for base in later), cls


def test_the_body_carries_the_stable_code_and_the_field() -> None:
    body = error_body(InvalidInput("qty 'x' is not a whole number", field="qty"))
    assert body == {
        "error": {"code": "invalid", "message": "qty 'x' is not a whole number", "field": "qty"}
    }
    assert error_body(InsufficientUnits("no"))["error"]["code"] == "insufficient_units"


def test_one_line() -> None:
    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert one_line(ValueError()) == "ValueError"
