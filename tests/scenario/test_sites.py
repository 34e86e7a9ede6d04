"""Sites with power over time, SKU power draw and H100-equivalents, clusters at sites,
targets that accept other SKUs, and the power parameters: read from every format,
bounded, checked against each other, written back exactly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gpuledger.domain import Parameters, PowerStep, ScenarioError, Site
from gpuledger.scenario import dump_scenario, load_scenario, parse_scenario, write_scenario

FILE = "sites.yaml"

SITES = """\
name: sites
as_of: 2024-06-30
parameters:
  system_overhead: 1.82
  system_overhead_source: Epoch AI, NVIDIA DGX H100 specifications
  pue: 1.2
  pue_source: Epoch AI, hyperscale average
skus:
  - id: H100
    tdp_w: 700
    h100e: 1.0
    source: NVIDIA H100 datasheet
  - id: H200
    tdp_w: 700
    h100e: 1.0
orgs:
  - id: tesla
  - id: x
sites:
  - id: giga-texas
    org: tesla
    pue: 1.3
    power:
      - from: 2024-06-01
        mw: 35.0
        source: guess
        assumed: true
      - from: 2024-11-15
        mw: 71.3
        source: Epoch AI, Tesla Cortex Phase 1
  - id: memphis
    org: x
clusters:
  - id: cortex
    org: tesla
    site: giga-texas
  - id: floating
    org: x
targets:
  - id: tesla-eoy24
    consumer: tesla
    sku: H100
    accepts: [H200]
    qty: 85000
    by: 2024-12-31
"""


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, filename=FILE)
    return caught.value


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_sites_power_and_equivalents_are_read() -> None:
    s = parse_scenario(SITES, filename=FILE)
    assert s.parameters == Parameters(
        system_overhead=1.82,
        system_overhead_source="Epoch AI, NVIDIA DGX H100 specifications",
        pue=1.2,
        pue_source="Epoch AI, hyperscale average",
    )
    h100 = s.skus[0]
    assert (h100.tdp_w, h100.h100e, h100.source) == (700, 1.0, "NVIDIA H100 datasheet")
    assert s.sites == (
        Site(
            "giga-texas",
            "tesla",
            pue=1.3,
            power=(
                PowerStep(date(2024, 6, 1), 35.0, "guess", True),
                PowerStep(date(2024, 11, 15), 71.3, "Epoch AI, Tesla Cortex Phase 1"),
            ),
        ),
        Site("memphis", "x"),
    )
    assert [c.site for c in s.clusters] == ["giga-texas", None]
    assert s.targets[0].accepts == ("H200",)


def test_defaults_are_epoch_ais_method() -> None:
    s = parse_scenario(SITES.replace("  system_overhead: 1.82\n", ""), filename=FILE)
    assert s.parameters.system_overhead == 1.82


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        pytest.param(
            "    site: giga-texas\n",
            "    site: memphis\n",
            "site: memphis",
            "clusters[0] cortex field 'site': site 'memphis' belongs to org 'x', "
            "not the cluster's org 'tesla'",
            id="cluster-site-of-another-org",
        ),
        pytest.param(
            "    site: giga-texas\n",
            "    site: austin\n",
            "site: austin",
            "clusters[0] cortex field 'site': unknown site 'austin'",
            id="unknown-site",
        ),
        pytest.param(
            "accepts: [H200]",
            "accepts: [H200, B200]",
            "accepts: [H200, B200]",
            "targets[0] tesla-eoy24 field 'accepts[1]': unknown sku 'B200'",
            id="accepts-unknown-sku",
        ),
        pytest.param(
            "accepts: [H200]",
            "accepts: [H100]",
            "accepts: [H100]",
            "targets[0] tesla-eoy24 field 'accepts[0]': accepts the target's own sku 'H100'",
            id="accepts-own-sku",
        ),
        pytest.param(
            "  - id: memphis\n    org: x\n",
            "  - id: memphis\n    org: y\n",
            "org: y",
            "sites[1] memphis field 'org': unknown org 'y'",
            id="site-unknown-org",
        ),
        pytest.param(
            "        mw: 71.3\n",
            "        mw: -1.0\n",
            "mw: -1.0",
            "sites[0] giga-texas field 'power[1].mw'",
            id="negative-mw",
        ),
        pytest.param(
            "      - from: 2024-11-15\n",
            "      - from: 2024-06-01\n",
            "      - from: 2024-06-01\n        mw: 71.3",
            "sites[0] giga-texas field 'power[1].from': a second power step from 2024-06-01",
            id="two-steps-one-date",
        ),
        pytest.param(
            "    pue: 1.3\n",
            "    pue: 0.9\n",
            "pue: 0.9",
            "sites[0] giga-texas field 'pue'",
            id="pue-below-one",
        ),
        pytest.param(
            "    tdp_w: 700\n    h100e: 1.0\n    source",
            "    tdp_w: 0\n    h100e: 1.0\n    source",
            "tdp_w: 0",
            "skus[0] H100 field 'tdp_w'",
            id="zero-tdp",
        ),
        pytest.param(
            "  pue: 1.2\n",
            "  pue: 11.0\n",
            "pue: 11.0",
            "parameters field 'pue'",
            id="parameter-pue-too-large",
        ),
    ],
)
def test_bad_site_records_name_line_record_and_field(
    old: str, new: str, needle: str, expected: str
) -> None:
    assert SITES.count(old) == 1, old
    text = SITES.replace(old, new)
    error = str(_error(text))
    assert error.startswith(f"{FILE}:{_line(text, needle)}: "), error
    assert expected in error


@pytest.mark.parametrize("suffix", ["yaml", "xlsx", "csv"])
def test_sites_round_trip_in_every_format(tmp_path: Path, suffix: str) -> None:
    s = parse_scenario(SITES, filename=FILE)
    path = tmp_path / (f"fleet.{suffix}" if suffix != "csv" else "fleet")
    write_scenario(s, path)
    assert load_scenario(path) == s


def test_a_power_step_error_names_its_sheet_row(tmp_path: Path) -> None:
    s = parse_scenario(SITES, filename=FILE)
    folder = tmp_path / "fleet"
    write_scenario(s, folder)
    power = folder / "power.csv"
    text = power.read_text(encoding="utf-8-sig")
    power.write_text(text.replace("71.3", "-5"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    assert str(caught.value).startswith(f"{power}:3: sites[0] giga-texas field 'power[1].mw'")


def test_accepts_are_one_cell_in_a_spreadsheet(tmp_path: Path) -> None:
    s = parse_scenario(
        SITES.replace("accepts: [H200]", "accepts: [H200, H100x]").replace(
            "  - id: H200\n", "  - id: H100x\n  - id: H200\n"
        ),
        filename=FILE,
    )
    folder = tmp_path / "fleet"
    write_scenario(s, folder)
    assert "H200 H100x" in (folder / "targets.csv").read_text(encoding="utf-8-sig")
    assert load_scenario(folder) == s


def test_the_dump_writes_sites_between_orgs_and_clusters() -> None:
    text = dump_scenario(parse_scenario(SITES, filename=FILE))
    assert text.index("\norgs:") < text.index("\nsites:") < text.index("\nclusters:")
    assert "    accepts:\n      - H200\n" in text


def test_a_power_step_error_names_its_workbook_sheet_and_row(tmp_path: Path) -> None:
    import openpyxl

    s = parse_scenario(SITES, filename=FILE)
    path = tmp_path / "fleet.xlsx"
    write_scenario(s, path)
    book = openpyxl.load_workbook(path)
    sheet = book["power"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("mw") + 1, value=-5)
    book.save(path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path} power!3: sites[0] giga-texas field 'power[1].mw'")
