"""The error hierarchy: stable codes, one line, field names carried."""

from __future__ import annotations

import pytest

from gpuledger.domain import ERROR_CLASSES, GpuledgerError, InvalidInput, ScenarioError


def test_every_error_class_has_a_code_and_subclasses_come_first() -> None:
    for i, cls in enumerate(ERROR_CLASSES):
        assert cls.code, cls
        for later in ERROR_CLASSES[i + 1 :]:
            assert not issubclass(later, cls) or later is cls, (later, cls)
    assert ERROR_CLASSES[-1] is GpuledgerError


def test_scenario_error_is_one_line_with_its_place() -> None:
    exc = ScenarioError("must be > 0", file="f.yaml", line=7, record="lots[0] L", field="qty")
    assert str(exc) == "f.yaml:7: lots[0] L field 'qty': must be > 0"
    assert isinstance(exc, InvalidInput)
    assert exc.field == "qty"


@pytest.mark.parametrize("cls", [c for c in ERROR_CLASSES if c.__init__ is GpuledgerError.__init__])
def test_plain_errors_carry_their_message(cls: type[GpuledgerError]) -> None:
    assert str(cls("lot 'L' is not in the ledger")) == "lot 'L' is not in the ledger"
