"""The one parser of what callers type: syntaxes, numbers, dates, defaults and changes."""

from __future__ import annotations

from datetime import date

import pytest

from gpuledger.domain import InvalidInput, OutOfBounds, Payback, PolicyName, TransferKind
from gpuledger.planning import DivertChange, NewOrderChange, PriorityChange, SlipChange
from gpuledger.services import requests as rq


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LOT-A:6000", Payback("LOT-A", 6000)),
        ("LOT-B : 5", Payback("LOT-B", 5)),
        (" LOT-C:1 ", Payback("LOT-C", 1)),
    ],
    ids=["plain", "blanks-around-colon", "blanks-around"],
)
def test_a_payback_line(text: str, expected: Payback) -> None:
    assert rq.parse_payback(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("LOT:A:5", InvalidInput),  # ids never hold a colon: not lot "LOT:A"
        ("LOT-A", InvalidInput),
        ("LOT-A:abc", InvalidInput),
        ("LOT-A:-5", InvalidInput),
        ("LOT A:5", InvalidInput),
        ("LOT-A:0", OutOfBounds),
        ("LOT-A:10000000000", OutOfBounds),
    ],
    ids=str,
)
def test_a_bad_payback_line_names_its_field(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as exc:
        rq.parse_payback(text, "--payback")
    assert isinstance(exc.value, InvalidInput) and exc.value.field == "--payback"
    assert "--payback" in str(exc.value)


def test_a_form_list_splits_on_commas_semicolons_and_lines() -> None:
    assert rq.split_list("A:1, B:2;C:3\n\n D:4 ,") == ["A:1", "B:2", "C:3", "D:4"]
    assert rq.split_list(None) == [] and rq.split_list("  ") == []


@pytest.mark.parametrize(
    ("text", "value"), [("12000", 12000), ("12,000", 12000), ("12_000", 12000), (7, 7)], ids=str
)
def test_whole_numbers_may_carry_separators(text: str | int, value: int) -> None:
    assert rq.parse_qty(text, "qty") == value


@pytest.mark.parametrize("text", ["abc", "1.5", "", "1,2,", "--3", True], ids=repr)
def test_not_whole_numbers(text: str) -> None:
    with pytest.raises(InvalidInput, match="qty"):
        rq.parse_qty(text, "qty")


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (rq.parse_qty, "0"),
        (rq.parse_samples, "0"),
        (rq.parse_samples, "100001"),
        (rq.parse_seed, "-1"),
        (rq.parse_port, "70000"),
        (rq.parse_workers, "0"),
        (rq.parse_days, "36501"),
        (rq.parse_priority, "0"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_numbers_out_of_bounds(parse: object, text: str) -> None:
    with pytest.raises(OutOfBounds, match="outside"):
        parse(text, "field")  # type: ignore[operator]


def test_dates_are_iso_and_bounded() -> None:
    assert rq.parse_date("2024-02-29", "on") == date(2024, 2, 29)
    assert rq.parse_optional_date(None, "on") is None
    with pytest.raises(InvalidInput, match="not a date"):
        rq.parse_date("2024-13-01", "on")
    with pytest.raises(OutOfBounds, match="outside"):
        rq.parse_date("1800-01-01", "on")


def test_defaults_are_stated_once() -> None:
    assert rq.parse_policy(None) is rq.DEFAULT_POLICY is PolicyName.CONSIGNED
    assert rq.parse_samples(None, "samples") == rq.DEFAULT_SAMPLES == 1000
    assert rq.parse_seed(None, "seed") == rq.DEFAULT_SEED == 0
    assert rq.parse_port(None, "port") == rq.DEFAULT_PORT
    assert rq.parse_policy("Fair-Share") is PolicyName.FAIR_SHARE
    with pytest.raises(InvalidInput, match="fair-share") as exc:
        rq.parse_policy("fairshare", "--policy")
    assert exc.value.field == "--policy"


def test_a_movement_without_an_id_gets_the_derived_one() -> None:
    def deploy(ident: str | None = None) -> str:
        return rq.movement_request(
            TransferKind.DEPLOY,
            qty=400,
            on=date(2023, 11, 27),
            org="alpha",
            lot="LOT-A-1",
            cluster="alpha-train",
            ident=ident,
        ).id

    assert deploy() == deploy() == "deploy-2023-11-27-alpha-alpha-train-400"
    assert deploy("DEP-1") == "DEP-1"


ON = date(2024, 2, 1)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"divert": "L:5:a:b", "on": ON, "payback": ["P:2"]},
            DivertChange("L", 5, "a", "b", ON, (("P", 2),)),
        ),
        ({"slip": "L:-3"}, SlipChange("L", -3)),
        ({"new_order": "a:v:s:9", "on": ON}, NewOrderChange("a", "v", "s", 9, ON)),
        ({"priority": "t:2"}, PriorityChange("t", 2)),
    ],
    ids=["divert", "slip", "new-order", "priority"],
)
def test_changes(kwargs: dict[str, object], expected: object) -> None:
    assert rq.parse_change(**kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "divert"),
        ({"divert": "L:5:a:b", "slip": "L:3", "on": ON}, "slip"),
        ({"divert": "L:5:a:b"}, "on"),
        ({"new_order": "a:v:s:9"}, "on"),
        ({"slip": "L:3", "payback": ["P:1"]}, "payback"),
        ({"slip": "L:3", "payback": ["P"]}, "payback"),  # each value is parsed first
        ({"divert": "L:0:a:b", "on": ON}, "divert"),
        ({"priority": "t:0"}, "priority"),
        ({"slip": "L:99999"}, "slip"),
    ],
    ids=str,
)
def test_bad_changes_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        rq.parse_change(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_a_change_names_fields_as_the_caller_calls_them() -> None:
    with pytest.raises(InvalidInput) as exc:
        rq.parse_change(new_order="a:v:s:9", names={"new_order": "--new-order", "on": "--on"})
    assert exc.value.field == "--on" and "--new-order needs --on" in str(exc.value)
