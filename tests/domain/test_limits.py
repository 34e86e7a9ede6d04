"""Bounds of gpuledger.domain.limits: each refused value names its field."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.domain import InputTooLarge, OutOfBounds, limits


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("a b", id="space"),
        pytest.param("a/b", id="slash"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\u200bb", id="zero-width"),
        pytest.param("a\u202eb", id="rtl-override"),
        pytest.param("-lead", id="leading-dash"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("a%b", id="percent"),
    ],
)
def test_bad_ids_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(OutOfBounds) as info:
        limits.check_id(value, "lot")
    assert info.value.field == "lot"
    assert "lot" in str(info.value)


@pytest.mark.parametrize("value", ["LOT-T1-07", "H100-SXM5-80GB", "a", "x" * 128, "org:tesla"])
def test_good_ids_pass(value: str) -> None:
    assert limits.check_id(value, "id") == value


@pytest.mark.parametrize(
    "value", ["tab\tand\nnewline", "Tesla, Inc.", "Société Générale", "日本語"]
)
def test_printable_text_passes(value: str) -> None:
    assert limits.check_text(value, "name") == value


@pytest.mark.parametrize("value", ["a\x00", "a\x1b[31m", "a\u2066b", "a\ufeff"])
def test_control_and_format_characters_are_refused(value: str) -> None:
    with pytest.raises(OutOfBounds, match="source"):
        limits.check_text(value, "source")


def test_text_length_is_bounded() -> None:
    with pytest.raises(OutOfBounds, match="at most 10"):
        limits.check_text("x" * 11, "reason", max_len=10)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (date(1899, 12, 31), False),
        (date(1900, 1, 1), True),
        (date(2999, 12, 31), True),
        (date(9999, 12, 31), False),
    ],
)
def test_dates_are_bounded(value: date, ok: bool) -> None:
    if ok:
        assert limits.check_date(value, "on") == value
    else:
        with pytest.raises(OutOfBounds, match="on"):
            limits.check_date(value, "on")


@pytest.mark.parametrize("value", [True, 1.0, "5", 0, 2**64])
def test_ints_must_be_whole_and_in_range(value: object) -> None:
    with pytest.raises(OutOfBounds, match="qty"):
        limits.check_int(value, "qty", low=1, high=limits.QTY_MAX)  # type: ignore[arg-type]


def test_size_limit() -> None:
    assert limits.check_size(10, "file", limit=10) == 10
    with pytest.raises(InputTooLarge, match="at most 10"):
        limits.check_size(11, "file", limit=10)
