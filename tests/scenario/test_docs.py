"""docs/scenario-format.md stays true to the code: its bounds, its layout, its example errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpuledger.domain import ScenarioError, limits
from gpuledger.scenario import load_scenario, parse_scenario, write_scenario
from gpuledger.scenario._tables import SHEETS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "small.yaml"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("`DATE_MIN`..`DATE_MAX`", f"{limits.DATE_MIN}..{limits.DATE_MAX}"),
        ("`ID_MAX_LEN`", f"{limits.ID_MAX_LEN:,}"),
        ("`TEXT_MAX_LEN`", f"{limits.TEXT_MAX_LEN:,}"),
        ("`QTY_MAX`", f"{limits.QTY_MAX:,}"),
        ("`PRIORITY_MAX`", f"{limits.PRIORITY_MAX:,}"),
        ("`WEIGHT_MAX`", f"{limits.WEIGHT_MAX:,}"),
        ("`DAYS_MAX`", f"{limits.DAYS_MAX:,}"),
        ("`HORIZON_MAX`", f"{limits.HORIZON_MAX:,}"),
        ("`PRICE_MAX`", f"{limits.PRICE_MAX:,}"),
        ("`TDP_W_MAX`", f"{limits.TDP_W_MAX:,}"),
        ("`H100E_MAX`", f"{limits.H100E_MAX:,}"),
        ("`MW_MAX`", f"{limits.MW_MAX:,}"),
        ("`POWER_FACTOR_MAX`", f"{limits.POWER_FACTOR_MAX:,}"),
        ("`FILE_MAX_BYTES`", f"{limits.FILE_MAX_BYTES:,}"),
        ("`NESTING_MAX`", f"{limits.NESTING_MAX:,}"),
        ("`RECORDS_MAX`", f"{limits.RECORDS_MAX:,}"),
    ],
)
def test_the_bounds_table_states_the_domain_limits(name: str, shown: str) -> None:
    assert f"| {name} | {shown} |" in DOC


def test_the_layout_table_lists_every_sheet_and_its_columns() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| `([a-z0-9_ ]+)`", DOC, flags=re.MULTILINE))
    assert rows == {sheet.name: " ".join(sheet.columns) for sheet in SHEETS}


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value)


def test_the_example_errors_are_what_each_format_says(tmp_path: Path) -> None:
    # The doc's examples name examples/small.yaml and fleet/; rebuild both under tmp_path.
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = text.replace("consignee: beta}\n  - {id: LOT-B-2", "consignee: betta}\n  - {id: LOT-B-2")
    assert bad != text
    (tmp_path / "examples").mkdir()
    yaml_path = tmp_path / "examples" / "small.yaml"
    yaml_path.write_text(bad, encoding="utf-8")
    scenario = load_scenario(EXAMPLE)
    lots = tuple(
        lot.__class__(**{**lot.__dict__, "consignee": "betta"}) if lot.id == "LOT-B-1" else lot
        for lot in scenario.lots
    )
    broken = scenario.__class__(**{**scenario.__dict__, "lots": lots})
    write_scenario(broken, tmp_path / "examples" / "small.xlsx")
    write_scenario(broken, tmp_path / "fleet", format="csv")
    said = [
        _error(yaml_path),
        _error(tmp_path / "examples" / "small.xlsx"),
        _error(tmp_path / "fleet"),
    ]
    said = [line.replace(f"{tmp_path}/", "") for line in said]
    for line in said:
        assert f"\n{line}\n" in DOC, line


def test_the_doc_example_yaml_parses() -> None:
    block = DOC.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block.startswith("events:")
    skeleton = """as_of: 2024-06-30
skus: [{id: H100}]
vendors: [{id: nv}]
orgs: [{id: tesla}, {id: x}, {id: alpha}]
clusters: [{id: alpha-train, org: alpha}]
orders: [{id: PO, org: tesla, vendor: nv, sku: H100, qty: 40000, ordered_on: 2023-01-01},
         {id: PO-X, org: x, vendor: nv, sku: H100, qty: 6000, ordered_on: 2023-01-01}]
lots:
  - {id: LOT-T-2023-12, order: PO, qty: 12000, ships_on: 2023-12-04, arrives_on: 2023-12-18,
     consignee: tesla}
  - {id: LOT-X-2024-01, order: PO-X, qty: 6000, ships_on: 2024-01-08, arrives_on: 2024-01-22,
     consignee: x}
  - {id: LOT-A-1, order: PO, qty: 1000, ships_on: 2023-11-01, arrives_on: 2023-11-20,
     consignee: alpha}
"""
    scenario = parse_scenario(skeleton + block)
    assert scenario.movements[0].id == "deploy-2023-11-27-alpha-alpha-train-1000"


def test_the_sites_example_parses() -> None:
    block = DOC.split("## Sites and power", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    s = parse_scenario(block, filename="sites.yaml")
    assert [site.id for site in s.sites] == ["giga-texas"]
    assert s.clusters[0].site == "giga-texas"
