"""Validation of scenario files: every bad record refuses the file, naming where and why.

Each case edits one spot of a valid base file; the expected line is found by
searching the edited text for a needle, independently of the loader.
"""

from __future__ import annotations

import pytest

from gpuledger.domain import ScenarioError
from gpuledger.scenario import parse_scenario
from tests.scenario.fleet import (
    BASE,
    DEP,
    DEP_1,
    DIV,
    DIV_1,
    FILE,
    LOT_T2,
    T2,
    Case,
    edit,
    line_of,
)

CASES: dict[str, Case] = {
    # fields of one record
    "unknown-field": Case(
        "    consignee: x\n",
        "    consignee: x\n    colour: green\n",
        "colour: green",
        "lots[2] LOT-X1",
        "colour",
        "unknown field (allowed: id, order, qty",
    ),
    "unknown-top-level-field": Case(
        "claims:\n",
        "budget: 12\nclaims:\n",
        "budget: 12",
        None,
        "budget",
        "unknown top-level field",
    ),
    "missing-field": Case(
        "    arrives_on: 2024-01-22\n    consignee: x\n",
        "    arrives_on: 2024-01-22\n",
        "  - id: LOT-X1",
        "lots[2] LOT-X1",
        "consignee",
        "missing required field",
    ),
    "as_of-missing": Case(
        "as_of: 2024-06-30\n",
        "",
        "name: base",
        None,
        "as_of",
        "missing required field",
    ),
    "qty-not-a-number": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: lots\n",
        "qty: lots",
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-a-boolean": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: true\n",
        "qty: true",
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-quoted": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: '8000'\n",
        "qty: '8000'",
        LOT_T2,
        "qty",
        "valid integer",
    ),
    "qty-zero": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: 0\n",
        "qty: 0",
        LOT_T2,
        "qty",
        "qty 0 is outside 1..1000000000",
    ),
    "qty-negative": Case(
        "    qty: 12000\n    ordered_on",
        "    qty: -12000\n    ordered_on",
        "qty: -12000",
        "orders[1] PO-X",
        "qty",
        "qty -12000 is outside 1..1000000000",
    ),
    "bad-date": Case(
        "    ships_on: 2024-02-05\n",
        "    ships_on: 2024-02-30\n",
        "2024-02-30",
        LOT_T2,
        "ships_on",
        "not a valid date (YYYY-MM-DD): '2024-02-30'",
    ),
    "date-not-a-date": Case(
        "    ships_on: 2024-02-05\n",
        "    ships_on: 20240205\n",
        "ships_on: 20240205",
        LOT_T2,
        "ships_on",
        "expected a date (YYYY-MM-DD), got 20240205",
    ),
    "timestamp-not-a-date": Case(
        "    arrives_on: 2024-02-19\n",
        "    arrives_on: 2024-02-19T10:00:00\n",
        "T10:00",
        LOT_T2,
        "arrives_on",
        "got a timestamp",
    ),
    "id-not-a-string": Case(
        "  - id: cortex\n",
        "  - id: 2024\n",
        "id: 2024",
        "clusters[0]",
        "id",
        "valid string",
    ),
    "claim-kind": Case(
        "    kind: actual\n",
        "    kind: rumour\n",
        "kind: rumour",
        "claims[0] tesla-35k",
        "kind",
        "'actual' or 'target'",
    ),
    "parameters-tolerance-above-one": Case(
        "  claim_tolerance: 0.05\n",
        "  claim_tolerance: 1.5\n",
        "claim_tolerance: 1.5",
        "parameters",
        "claim_tolerance",
        "less than 1, got 1.5",
    ),
    "target-priority-zero": Case(
        "    priority: 1\n",
        "    priority: 0\n",
        "priority: 0",
        "targets[0] tesla-eoy",
        "priority",
        "priority 0 is outside 1..1000000",
    ),
    "target-weight-zero": Case(
        "    weight: 1.0\n",
        "    weight: 0\n",
        "weight: 0",
        "targets[0] tesla-eoy",
        "weight",
        "greater than 0",
    ),
    "target-weight-negative": Case(
        "    weight: 1.0\n",
        "    weight: -2.5\n",
        "weight: -2.5",
        "targets[0] tesla-eoy",
        "weight",
        "greater than 0",
    ),
    "lead-time-p90-below-p50": Case(
        "    p90_days: 364\n",
        "    p90_days: 200\n",
        "p90_days: 200",
        "vendors[0] nvidia",
        "lead_time[0].p90_days",
        "p90_days (200) is below p50_days (273)",
    ),
    "lead-time-p50-zero": Case(
        "    p50_days: 273\n",
        "    p50_days: 0\n",
        "p50_days: 0",
        "vendors[0] nvidia",
        "lead_time[0].p50_days",
        "p50_days 0 is outside 1..36500",
    ),
    "lead-time-unknown-field": Case(
        "    p50_days: 273\n",
        "    p50_days: 273\n        p75_days: 300\n",
        "p75_days",
        "vendors[0] nvidia",
        "lead_time[0].p75_days",
        "allowed: sku, from, p50_days",
    ),
    "arrives-before-ships": Case(
        "    arrives_on: 2024-02-19\n",
        "    arrives_on: 2024-02-01\n",
        "2024-02-01",
        LOT_T2,
        "arrives_on",
        "arrives_on 2024-02-01 is before ships_on 2024-02-05",
    ),
    "unknown-op": Case(
        "  - op: deploy\n",
        "  - op: teleport\n",
        "op: teleport",
        DEP_1,
        "op",
        "unknown op",
    ),
    "deploy-without-cluster": Case(
        "    cluster: cortex\n",
        "",
        "  - op: deploy",
        DEP_1,
        "cluster",
        "needs the cluster",
    ),
    "diversion-to-itself": Case(
        "    to: x\n",
        "    to: tesla\n",
        "to: tesla",
        DIV_1,
        "to",
        "from == to",
    ),
    "events-not-a-list": Case(
        "events:\n",
        "events: none\nold_events:\n",
        "events: none",
        None,
        "events",
        "must be a list",
    ),
    "record-not-a-mapping": Case(
        "  - id: g\n",
        "  - g\n",
        "  - g",
        "groups[0]",
        None,
        "must be a mapping",
    ),
    # records against each other
    "unknown-org": Case(
        "    consignee: x\n",
        "    consignee: tezla\n",
        "tezla",
        "lots[2] LOT-X1",
        "consignee",
        "unknown org 'tezla' (known: tesla, x)",
    ),
    "unknown-group": Case(
        "  - id: x\n    group: g\n",
        "  - id: x\n    group: gg\n",
        "group: gg",
        "orgs[1] x",
        "group",
        "unknown group 'gg'",
    ),
    "unknown-cluster": Case(
        "    cluster: cortex\n",
        "    cluster: dojo\n",
        "cluster: dojo",
        DEP_1,
        "cluster",
        "unknown cluster 'dojo'",
    ),
    "cluster-of-another-org": Case(
        DEP + "    qty: 5000\n    on: 2024-03-01\n    org: tesla\n",
        DEP + "    qty: 5000\n    on: 2024-03-01\n    org: x\n",
        "cluster: cortex",
        DEP_1,
        "cluster",
        "belongs to org 'tesla', not 'x'",
    ),
    "unknown-vendor": Case(
        "    vendor: nvidia\n    sku: H100\n    qty: 12000\n",
        "    vendor: amd\n    sku: H100\n    qty: 12000\n",
        "vendor: amd",
        "orders[1] PO-X",
        "vendor",
        "unknown vendor 'amd'",
    ),
    "unknown-sku-order": Case(
        "    sku: H100\n    qty: 20000\n    ordered_on",
        "    sku: B200\n    qty: 20000\n    ordered_on",
        "sku: B200",
        "orders[0] PO-T",
        "sku",
        "unknown sku 'B200'",
    ),
    "unknown-sku-target": Case(
        "    sku: H100\n    qty: 20000\n    by:",
        "    sku: H200\n    qty: 20000\n    by:",
        "sku: H200",
        "targets[0] tesla-eoy",
        "sku",
        "unknown sku 'H200'",
    ),
    "unknown-sku-lead-time": Case(
        "      - sku: H100\n",
        "      - sku: A100\n",
        "sku: A100",
        "vendors[0] nvidia",
        "lead_time[0].sku",
        "unknown sku 'A100'",
    ),
    "unknown-order": Case(
        T2,
        "  - id: LOT-T2\n    order: PO-Z\n",
        "order: PO-Z",
        LOT_T2,
        "order",
        "unknown order 'PO-Z'",
    ),
    "unknown-lot": Case(
        "    lot: LOT-T1\n",
        "    lot: LOT-T9\n",
        "lot: LOT-T9",
        DIV_1,
        "lot",
        "unknown lot 'LOT-T9'",
    ),
    "unknown-consumer": Case(
        "    consumer: tesla\n",
        "    consumer: dojo\n",
        "consumer: dojo",
        "targets[0] tesla-eoy",
        "consumer",
        "unknown consumer (org or cluster) 'dojo'",
    ),
    "cluster-id-equals-org-id": Case(
        "  - id: cortex\n    org: tesla\n",
        "  - {id: x, org: tesla}\n",
        "{id: x, org: tesla}",
        "clusters[0] x",
        "id",
        "also an org id",
    ),
    "lots-beyond-order": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: 8001\n",
        "qty: 8001",
        LOT_T2,
        "qty",
        "lots of order PO-T would total 20001 units, beyond the order's qty 20000 (8000 left",
    ),
    "lot-ships-before-order": Case(
        "    ships_on: 2024-01-08\n",
        "    ships_on: 2023-03-01\n",
        "2023-03-01",
        "lots[2] LOT-X1",
        "ships_on",
        "before its order PO-X was placed (2023-04-01)",
    ),
    "schedule-beyond-order": Case(
        "    ordered_on: 2023-04-01\n",
        "    ordered_on: 2023-04-01\n    schedule:\n      - {on: 2024-01-08, qty: 12001}\n",
        "schedule:",
        "orders[1] PO-X",
        "schedule",
        "beyond the order's qty 12000",
    ),
    "diversion-beyond-lot": Case(
        "    qty: 12000\n    from: tesla\n",
        "    qty: 12001\n    from: tesla\n",
        "qty: 12001",
        DIV_1,
        "qty",
        "diverts 12001 units of lot LOT-T1 from 'tesla', which has only 12000",
    ),
    "second-diversion-of-the-same-units": Case(
        DEP,
        "  - {op: divert, id: DIV-2, lot: LOT-T1, qty: 1, from: tesla, to: x, on: 2023-12-11}\n"
        + DEP,
        "DIV-2",
        "events[1] DIV-2",
        "qty",
        "which has only 0 of it left",
    ),
    "diversion-from-an-org-that-never-held-the-lot": Case(
        DEP,
        "  - {op: divert, id: DIV-2, lot: LOT-T2, qty: 1, from: x, to: tesla, on: 2024-03-01}\n"
        + DEP,
        "DIV-2",
        "events[1] DIV-2",
        "from",
        "'x' never held units of lot LOT-T2",
    ),
    "diversion-before-the-lot-ships": Case(
        "    on: 2023-12-10\n",
        "    on: 2023-12-01\n",
        "on: 2023-12-01",
        DIV_1,
        "on",
        "before lot LOT-T1 ships (2023-12-04)",
    ),
    "payback-lot-not-the-receivers": Case(
        "      - lot: LOT-X1\n",
        "      - lot: LOT-T2\n",
        "- lot: LOT-T2",
        DIV_1,
        "payback[0].lot",
        "consigned to 'tesla'; a payback comes from the receiver's lots ('x')",
    ),
    "payback-lot-ships-before-the-diversion": Case(
        "    on: 2023-12-10\n",
        "    on: 2024-01-10\n",
        "- lot: LOT-X1",
        DIV_1,
        "payback[0].lot",
        "ships on 2024-01-08, not after the diversion (2024-01-10)",
    ),
    "payback-beyond-lot": Case(
        "        qty: 6000\n",
        "        qty: 6001\n",
        "qty: 6001",
        DIV_1,
        "payback[0].qty",
        "beyond lot LOT-X1's qty 6000",
    ),
    "duplicate-id-different-content": Case(
        "targets:\n",
        "  - {id: LOT-T2, order: PO-T, qty: 7999, ships_on: 2024-02-05, arrives_on: 2024-02-19,"
        " consignee: tesla}\ntargets:\n",
        "qty: 7999",
        "lots[3] LOT-T2",
        "id",
        "duplicate id 'LOT-T2' with different content",
    ),
    "duplicate-event-id": Case(
        DEP,
        "  - {op: deploy, id: DIV-1, qty: 1, on: 2024-03-01, org: tesla, cluster: cortex}\n" + DEP,
        "id: DIV-1, qty: 1",
        "events[1] DIV-1",
        "id",
        "duplicate id 'DIV-1'",
    ),
    # the text itself
    "duplicate-key": Case(
        T2 + "    qty: 8000\n",
        T2 + "    qty: 8000\n    qty: 7000\n",
        "qty: 7000",
        None,
        None,
        "duplicate key 'qty'",
    ),
    "not-yaml": Case(
        "    ships_on: 2024-02-05\n",
        "    ships_on: [2024-02-05\n",
        "arrives_on: 2024-02-19",
        None,
        None,
        "not valid YAML",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_record_refuses_the_file_and_says_where(case: Case) -> None:
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


def test_the_base_file_is_valid() -> None:
    scenario = parse_scenario(BASE, filename=FILE)
    assert [lot.id for lot in scenario.lots] == ["LOT-T1", "LOT-T2", "LOT-X1"]
    assert scenario.diversions[0].payback[0].lot == "LOT-X1"
    assert scenario.movements[0].cluster == "cortex"


def test_the_message_names_file_line_record_field_and_reason() -> None:
    text = edit(T2 + "    qty: 8000\n", T2 + "    qty: 0\n")
    with pytest.raises(ScenarioError, match=r"^fleet\.yaml:46: lots\[1\] LOT-T2 field 'qty': "):
        parse_scenario(text, filename=FILE)


def test_the_first_problem_in_file_order_is_reported() -> None:
    # Two bad fields: a later line is edited first in the text, the earlier one wins.
    text = edit("    consumer: tesla\n", "    consumer: dojo\n")
    text = text.replace("  - id: x\n    group: g\n", "  - id: x\n    group: gg\n")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, filename=FILE)
    assert (caught.value.line, caught.value.field) == (line_of(text, "group: gg"), "group")


def test_a_cross_record_problem_on_an_earlier_line_wins_over_a_field_problem() -> None:
    text = edit("    group: g\n  - id: x\n", "    group: gg\n  - id: x\n")
    text = text.replace("    kind: actual\n", "    kind: rumour\n")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert (caught.value.line, caught.value.field) == (line_of(text, "group: gg"), "group")


def test_a_reference_to_a_bad_record_reports_the_bad_record_not_an_unknown_id() -> None:
    text = (
        "as_of: 2024-06-30\n"
        "skus: [{id: H100}]\n"
        "orgs: [{id: t}]\n"
        "vendors: [{id: v}]\n"
        "lots:\n"
        "  - {id: L, order: PO, qty: 1, ships_on: 2024-01-01, arrives_on: 2024-01-02,"
        " consignee: t}\n"
        "orders:\n"
        "  - {id: PO, org: t, vendor: v, sku: H100, qty: 0, ordered_on: 2023-01-01}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert (caught.value.line, caught.value.record, caught.value.field) == (
        8,
        "orders[0] PO",
        "qty",
    )


def test_exact_duplicates_are_kept_once() -> None:
    duplicate = (
        "  - {id: LOT-T2, order: PO-T, qty: 8000, ships_on: 2024-02-05, arrives_on: 2024-02-19,"
        " consignee: tesla}\n"
    )
    text = edit("targets:\n", duplicate + "targets:\n")
    scenario = parse_scenario(text)
    assert [lot.id for lot in scenario.lots] == ["LOT-T1", "LOT-T2", "LOT-X1"]


def test_events_without_id_get_one_from_their_content() -> None:
    event = "  - {op: deploy, qty: 1, on: 2024-03-02, org: tesla, cluster: cortex}\n"
    text = edit(DEP, event + event + DEP)
    scenario = parse_scenario(text)
    assert [m.id for m in scenario.movements] == ["deploy-2024-03-02-tesla-cortex-1", "DEP-1"]


def test_a_voided_diversion_holds_no_units() -> None:
    again = "  - {op: divert, id: DIV-0, lot: LOT-T1, qty: 12000, from: tesla, to: x,"
    text = edit(DIV, again + " on: 2023-12-05, status: voided}\n" + DIV)
    assert len(parse_scenario(text).diversions) == 2
    with pytest.raises(ScenarioError, match="has only 0 of it left"):
        parse_scenario(text.replace("status: voided", "status: pending"))


def test_units_diverted_on_can_be_diverted_again_by_their_new_holder() -> None:
    onward = (
        "  - {op: divert, id: DIV-2, lot: LOT-T1, qty: 2000, from: x, to: tesla, on: 2024-01-02}\n"
    )
    scenario = parse_scenario(edit(DEP, onward + DEP))
    assert [d.id for d in scenario.diversions] == ["DIV-1", "DIV-2"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("- 1\n- 2\n", "must be a mapping"),
    ],
    ids=["empty", "a-list"],
)
def test_a_file_that_is_not_a_scenario_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ScenarioError, match=reason):
        parse_scenario(text)


@pytest.mark.parametrize("key", ["on", "yes", "no", "off"])
def test_yaml_11_boolean_words_stay_strings(key: str) -> None:
    text = edit("  - id: g\n", f"  - id: g\n    name: {key}\n")
    assert parse_scenario(text).groups[0].name == key
