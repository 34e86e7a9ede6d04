"""Every field of a scenario is bounded by gpuledger.domain.limits, whatever the format.

The poison values of the hostile-input review (values accepted once and fatal later:
year 9999, 2**64 units, priority 2**63, control and bidi characters in ids...) are
each refused with the file, line, record and field. Values at the edge of a bound are
accepted, so the bound is where the docs say it is.
"""

from __future__ import annotations

import pytest

from gpuledger.domain import ScenarioError, limits
from gpuledger.scenario import parse_scenario
from tests.scenario.fleet import DIV_1, FILE, LOT_T2, T2, Case, edit, line_of

TARGET = "targets[0] tesla-eoy"
ORDER_X = "orders[1] PO-X"
VENDOR = "vendors[0] nvidia"
LONG_ID = "L" * 100_000
GROUP = "  - id: g\norgs:\n"

POISON: dict[str, Case] = {
    "lot-ships-in-9999": Case(
        "    ships_on: 2024-02-05\n",
        "    ships_on: 9999-12-31\n",
        "ships_on: 9999-12-31",
        LOT_T2,
        "ships_on",
        "ships_on 9999-12-31 is outside 1900-01-01..2999-12-31",
    ),
    "order-placed-in-9999": Case(
        "    ordered_on: 2023-04-01\n",
        "    ordered_on: 9999-12-31\n",
        "ordered_on: 9999-12-31",
        ORDER_X,
        "ordered_on",
        "outside 1900-01-01..2999-12-31",
    ),
    "target-by-year-1": Case(
        "    by: 2024-12-31\n",
        "    by: 0001-01-01\n",
        "by: 0001-01-01",
        TARGET,
        "by",
        "outside 1900-01-01..2999-12-31",
    ),
    "known-on-9999": Case(
        "    on: 2023-12-10\n",
        "    on: 2023-12-10\n    known_on: 9999-12-31\n",
        "known_on: 9999-12-31",
        DIV_1,
        "known_on",
        "outside 1900-01-01..2999-12-31",
    ),
    "order-qty-2**64": Case(
        "    qty: 12000\n    ordered_on",
        f"    qty: {2**64}\n    ordered_on",
        f"qty: {2**64}",
        ORDER_X,
        "qty",
        f"outside 1..{limits.QTY_MAX}",
    ),
    "qty-beyond-QTY_MAX": Case(
        T2 + "    qty: 8000\n",
        T2 + f"    qty: {limits.QTY_MAX + 1}\n",
        f"qty: {limits.QTY_MAX + 1}",
        LOT_T2,
        "qty",
        f"outside 1..{limits.QTY_MAX}",
    ),
    "qty-a-float": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: 1000.0\n",
        "qty: 1000.0",
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-a-string": Case(
        T2 + "    qty: 8000\n",
        T2 + '    qty: "1000"\n',
        'qty: "1000"',
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-a-boolean": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: false\n",
        "qty: false",
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-a-240-bit-number": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: 0x" + "f" * 60 + "\n",
        "qty: 0xfff",
        LOT_T2,
        "qty",
        "too large",
    ),
    "payback-qty-2**64": Case(
        "        qty: 6000\n",
        f"        qty: {2**64}\n",
        f"qty: {2**64}",
        DIV_1,
        "payback[0].qty",
        f"outside 1..{limits.QTY_MAX}",
    ),
    "priority-2**63": Case(
        "    priority: 1\n",
        f"    priority: {2**63}\n",
        f"priority: {2**63}",
        TARGET,
        "priority",
        f"outside 1..{limits.PRIORITY_MAX}",
    ),
    "weight-beyond-WEIGHT_MAX": Case(
        "    weight: 1.0\n",
        "    weight: 1.0e+300\n",
        "weight: 1.0e+300",
        TARGET,
        "weight",
        f"less than or equal to {limits.WEIGHT_MAX}",
    ),
    "weight-infinite": Case(
        "    weight: 1.0\n",
        "    weight: .inf\n",
        "weight: .inf",
        TARGET,
        "weight",
        "finite number",
    ),
    "p50-days-10**10": Case(
        "    p50_days: 273\n",
        f"    p50_days: {10**10}\n",
        f"p50_days: {10**10}",
        VENDOR,
        "lead_time[0].p50_days",
        f"outside 1..{limits.DAYS_MAX}",
    ),
    "transit-slip-10**10": Case(
        "  - id: nvidia\n",
        f"  - id: nvidia\n    transit_slip_p50_days: {10**10}\n",
        "transit_slip_p50_days",
        VENDOR,
        "transit_slip_p50_days",
        f"outside 0..{limits.DAYS_MAX}",
    ),
    "horizon-days-10**8": Case(
        "  claim_tolerance: 0.05\n",
        f"  claim_tolerance: 0.05\n  horizon_days: {10**8}\n",
        "horizon_days",
        "parameters",
        "horizon_days",
        f"outside 1..{limits.HORIZON_MAX}",
    ),
    "claim-tolerance-one": Case(
        "  claim_tolerance: 0.05\n",
        "  claim_tolerance: 1\n",
        "claim_tolerance: 1",
        "parameters",
        "claim_tolerance",
        "less than 1",
    ),
    "annual-failure-rate-one": Case(
        "  - id: H100\n",
        "  - id: H100\n    annual_failure_rate: 1\n",
        "annual_failure_rate: 1",
        "skus[0] H100",
        "annual_failure_rate",
        "less than 1",
    ),
    "price-beyond-PRICE_MAX": Case(
        "  claim_tolerance: 0.05\n",
        "  claim_tolerance: 0.05\n  gpu_hour_price_usd: 1.0e+300\n",
        "gpu_hour_price_usd",
        "parameters",
        "gpu_hour_price_usd",
        f"less than or equal to {limits.PRICE_MAX}",
    ),
    # ids: nothing but letters, digits and . _ : + @ # -
    "id-with-a-nul": Case(
        "  - id: cortex\n",
        '  - id: "cor\\0tex"\n',
        "cor\\0tex",
        "clusters[0]",
        "id",
        "is not an id",
    ),
    "id-with-a-control-character": Case(
        "  - id: cortex\n",
        '  - id: "cor\\x1btex"\n',
        "cor\\x1btex",
        "clusters[0]",
        "id",
        "is not an id",
    ),
    "id-with-right-to-left-override": Case(
        "  - id: cortex\n",
        '  - id: "cor\\u202etex"\n',
        "cor\\u202etex",
        "clusters[0]",
        "id",
        "is not an id",
    ),
    "id-with-zero-width-space": Case(
        "  - id: cortex\n",
        '  - id: "cor\\u200btex"\n',
        "cor\\u200btex",
        "clusters[0]",
        "id",
        "is not an id",
    ),
    "reference-with-zero-width-space": Case(
        "    consignee: x\n",
        '    consignee: "x\\u200b"\n',
        "x\\u200b",
        "lots[2] LOT-X1",
        "consignee",
        "is not an id",
    ),
    "id-of-100000-characters": Case(
        "  - id: cortex\n",
        f"  - id: {LONG_ID}\n",
        "id: LLLL",
        "clusters[0]",
        "id",
        f"100000 characters long (at most {limits.ID_MAX_LEN})",
    ),
    "event-id-with-a-space": Case(
        "    id: DEP-1\n",
        "    id: DEP 1\n",
        "id: DEP 1",
        "events[1]",
        "id",
        "is not an id",
    ),
    # free text: printable, at most TEXT_MAX_LEN characters
    "text-with-a-nul": Case(
        "    kind: actual\n",
        '    kind: actual\n    source: "a\\0b"\n',
        'source: "a\\0b"',
        "claims[0] tesla-35k",
        "source",
        "U+0000",
    ),
    "text-with-right-to-left-override": Case(
        "  - id: g\n",
        '  - id: g\n    name: "\\u202egroup"\n',
        "u202egroup",
        "groups[0] g",
        "name",
        "U+202E",
    ),
    "text-too-long": Case(
        "  - id: g\n",
        "  - id: g\n    source: " + "s" * (limits.TEXT_MAX_LEN + 1) + "\n",
        "source: sss",
        "groups[0] g",
        "source",
        f"at most {limits.TEXT_MAX_LEN}",
    ),
    "scenario-name-not-an-id": Case(
        "name: base\n",
        "name: my base\n",
        "name: my base",
        None,
        "name",
        "is not an id",
    ),
}


@pytest.mark.parametrize("case", POISON.values(), ids=POISON.keys())
def test_a_value_out_of_bounds_is_refused_naming_where(case: Case) -> None:
    text = edit(case.old, case.new)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, filename=FILE)
    error = caught.value
    assert case.reason in error.reason
    assert (error.file, error.line, error.record, error.field) == (
        FILE,
        line_of(text, case.needle),
        case.record,
        case.field,
    )
    assert "\n" not in str(error) and len(str(error)) < 500


EDGES: dict[str, tuple[str, str]] = {
    "first-date": ("    by: 2024-12-31\n", "    by: 1900-01-01\n"),
    "last-date": ("    by: 2024-12-31\n", "    by: 2999-12-31\n"),
    "qty-max": ("    qty: 20000\n    by:", f"    qty: {limits.QTY_MAX}\n    by:"),
    "priority-max": ("    priority: 1\n", f"    priority: {limits.PRIORITY_MAX}\n"),
    "weight-max": ("    weight: 1.0\n", f"    weight: {float(limits.WEIGHT_MAX)}\n"),
    "horizon-max": ("  claim_tolerance: 0.05\n", f"  horizon_days: {limits.HORIZON_MAX}\n"),
    "tolerance-below-one": ("  claim_tolerance: 0.05\n", "  claim_tolerance: 0.999\n"),
    "failure-rate-below-one": ("  - id: H100\n", "  - id: H100\n    annual_failure_rate: 0.999\n"),
    "lead-time-max": ("    p90_days: 364\n", f"    p90_days: {limits.DAYS_MAX}\n"),
    "text-max-length": (
        GROUP,
        GROUP.replace("\n", f"\n    name: {'n' * limits.TEXT_MAX_LEN}\n", 1),
    ),
    "text-with-tab-and-newline": (GROUP, GROUP.replace("\n", '\n    name: "a\\tb\\nc"\n', 1)),
    "text-non-ascii": (GROUP, GROUP.replace("\n", "\n    name: Société Générale 株式会社\n", 1)),
}


@pytest.mark.parametrize(("old", "new"), EDGES.values(), ids=EDGES.keys())
def test_a_value_at_the_edge_of_its_bound_is_accepted(old: str, new: str) -> None:
    assert parse_scenario(edit(old, new), filename=FILE).name == "base"


def test_an_id_of_the_maximum_length_is_accepted() -> None:
    longest = "c" * limits.ID_MAX_LEN
    text = edit("  - id: cortex\n", f"  - id: {longest}\n").replace(
        "    cluster: cortex\n", f"    cluster: {longest}\n"
    )
    assert parse_scenario(text).clusters[0].id == longest


def test_a_blank_text_is_no_text() -> None:
    text = edit("  - id: g\n", "  - id: g\n    name: ''\n    source: ''\n")
    (group,) = parse_scenario(text).groups
    assert (group.name, group.source) == (None, None)


def test_the_fractions_validation_accepts_are_the_ones_forecast_and_claims_can_compute() -> None:
    # claim_tolerance and annual_failure_rate at 1 crashed `claims` and `forecast`:
    # the scenario's bound is now theirs, [0, 1), so an accepted file always computes.
    import math

    from gpuledger.claims import check_claims
    from gpuledger.forecast.failures import daily_failure_hazard

    highest = math.nextafter(1.0, 0.0)
    text = edit("  claim_tolerance: 0.05\n", f"  claim_tolerance: {highest!r}\n").replace(
        "  - id: H100\n", f"  - id: H100\n    annual_failure_rate: {highest!r}\n"
    )
    scenario = parse_scenario(text)
    rate, tolerance = scenario.skus[0].annual_failure_rate, scenario.parameters.claim_tolerance
    assert rate == tolerance == highest
    assert math.isfinite(daily_failure_hazard(rate))
    assert check_claims([], lambda *_: 0, [], None, tolerance=tolerance) == []
    for refused in ("1", "1.0"):
        with pytest.raises(ScenarioError, match="less than 1"):
            parse_scenario(
                text.replace(f"claim_tolerance: {highest!r}", f"claim_tolerance: {refused}")
            )
