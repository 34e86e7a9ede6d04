"""Epoch AI's public data as a scenario: every row mapped or reported with its reason.

Rows below are copied from Epoch AI's "Data on GPU Clusters" and "Frontier Data
Centers" (CC BY 4.0; credit: Epoch AI, published online at epoch.ai), some
trimmed to the columns the mapping reads.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gpuledger.domain import ClaimKind, ScenarioError
from gpuledger.scenario import dump_scenario, parse_scenario
from gpuledger.scenario.epoch import (
    CREDIT,
    TDP_W,
    Reason,
    epoch_scenario,
    make_id,
    owners_of,
    read_csv,
    read_epoch,
    shipped_folder,
)

HEADER = (
    "Name,Status,H100 equivalents,Chip type (primary),Chip quantity (primary),Owner,"
    "First Operational Date,First Operational Date Note,Chip type (secondary),Source 1\n"
)
ROWS = (
    "Tesla Cortex Phase 1,Existing,50000.00000073623,NVIDIA H100 SXM5 80GB,50000.0,Tesla,"
    "2024-11-15,,,https://example.org/cortex\n"
    'Stargate Abilene,Planned,,NVIDIA GB200,"100000.0",'
    '"OpenAI,Microsoft",,Planned 2027,,\n'
    'Multi line,Existing,,NVIDIA A100,30000.000000000004,Meta AI,2023-01-02,,,"first\n'
    'second"\n'
    "Anonymized Chinese System,Existing,,,,,2022-01-01,,,\n"
    "Dojo,Existing,,Tesla D1 Dojo,3000.0,Tesla,,,,\n"
    "Mystery,Existing,,,,Tesla,2024-01-01,,,\n"
)


def _rows(
    tmp_path: Path, text: str, name: str = "gpu_clusters.csv"
) -> list[tuple[int, dict[str, str]]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [(line, dict(row)) for line, row in read_csv(path)]


def test_each_quirk_gets_a_decision(tmp_path: Path) -> None:
    rows = _rows(tmp_path, HEADER + ROWS)
    # A quoted cell over two lines: the next row starts on line 6, not 5.
    assert [line for line, _ in rows] == [2, 3, 4, 6, 7, 8]
    result = epoch_scenario(rows)
    s, report = result.scenario, result.report
    assert [o.id for o in s.orgs] == ["Tesla", "OpenAI", "Microsoft", "Meta-AI"]
    clusters = {c.id: c for c in s.clusters}
    # Owner lists: the first owner holds the cluster, the others are named in its source.
    assert clusters["Stargate-Abilene"].org == "OpenAI"
    source = clusters["Stargate-Abilene"].source or ""
    assert "also owned by Microsoft" in source and "Planned 2027" in source
    assert "status Planned" in source and "chips: 100,000 NVIDIA GB200" in source
    # Float noise in a quantity is the whole number it means.
    claims = {c.id: c for c in s.claims}
    assert claims["Multi-line:actual"].qty == 30_000
    cortex = claims["Tesla-Cortex-Phase-1:actual"]
    assert (cortex.org, cortex.sku, cortex.qty, cortex.by, cortex.stated_on, cortex.kind) == (
        "Tesla",
        "NVIDIA-H100-SXM5-80GB",
        50_000,
        date(2024, 11, 15),
        date(2024, 11, 15),
        ClaimKind.ACTUAL,
    )
    assert "https://example.org/cortex" in (cortex.source or "") and CREDIT in (cortex.source or "")
    skus = {k.id: k for k in s.skus}
    assert (skus["NVIDIA-H100-SXM5-80GB"].tdp_w, skus["NVIDIA-H100-SXM5-80GB"].h100e) == (700, 1.0)
    assert skus["Tesla-D1-Dojo"].tdp_w is None  # a chip without a datasheet figure: no stated draw
    assert [str(x) for x in report.skipped] == [
        f"gpu_clusters.csv:3: Stargate Abilene: {Reason.PLANNED}",
        f"gpu_clusters.csv:6: Anonymized Chinese System: {Reason.NO_OWNER}",
        f"gpu_clusters.csv:7: Dojo: {Reason.NO_DATE}",
        f"gpu_clusters.csv:8: Mystery: {Reason.NO_CHIP}",
    ]
    assert (report.orgs, report.clusters, report.claims) == (4, 5, 2)
    assert parse_scenario(dump_scenario(s)) == s


def test_a_data_center_is_a_site_with_its_dated_power(tmp_path: Path) -> None:
    centers = _rows(
        tmp_path,
        "Handle,Title,Owner\nxAI Colossus 1 Memphis Tennessee,xAI Colossus 1,xAI #confident\n"
        "Crusoe Goodnight Texas,Goodnight,\n",
        "data_centers.csv",
    )
    timelines = _rows(
        tmp_path,
        "Date,Data center,Construction status,Power (MW)\n"
        "2024-04-24,xAI Colossus 1 Memphis Tennessee,Construction begins,0.0\n"
        '2024-08-11,xAI Colossus 1 Memphis Tennessee,"25k H100,\nturbines",44.0\n'
        '2024-09-02,xAI Colossus 1 Memphis Tennessee,"100k H100, based on default time",174.0\n'
        "2025-01-01,Crusoe Goodnight Texas,Land,0.0\n"
        "2025-01-01,Nowhere,Land,0.0\n",
        "data_center_timelines.csv",
    )
    result = epoch_scenario([], timelines, centers)
    (site,) = result.scenario.sites
    assert (site.id, site.org, site.name) == (
        "xAI-Colossus-1-Memphis-Tennessee",
        "xAI",
        "xAI Colossus 1",
    )
    assert [(p.from_date, p.mw) for p in site.power] == [
        (date(2024, 4, 24), 0.0),
        (date(2024, 8, 11), 44.0),
        (date(2024, 9, 2), 174.0),
    ]
    assert site.mw_on(date(2024, 8, 31)) == 44.0
    assert [p.assumed for p in site.power] == [False, False, True]  # Epoch's own estimate
    assert [str(x) for x in result.report.skipped] == [
        f"data_centers.csv:3: Crusoe Goodnight Texas: {Reason.NO_DATA_CENTER_OWNER}",
        f"data_center_timelines.csv:6: Crusoe Goodnight Texas: {Reason.DATA_CENTER_SKIPPED}",
        f"data_center_timelines.csv:7: Nowhere: {Reason.UNKNOWN_DATA_CENTER}",
    ]


CENTERS = (
    "Handle,Title,Address,Owner\n"
    'xAI Colossus 1 Memphis Tennessee,xAI Colossus 1,"3231 Riverport Rd, Memphis, TN 38109",'
    "xAI #confident\n"
    'Google Omaha Nebraska,Google Omaha,"11110 State St, Omaha, NE 68142",Google Cloud #confident\n'
    'Crusoe Goodnight Texas,Goodnight,"10001 Lima Rd, Claude, TX 79019",\n'
)
PLACED = (
    "Name,Status,Owner,Location,Chip type (primary),Chip quantity (primary),"
    "First Operational Date\n"
    'xAI Colossus Memphis Phase 1,Existing,xAI,"3231 Riverport Rd, Memphis, TN 38109",'
    "NVIDIA H100 SXM5 80GB,100000.0,2024-09-02\n"
    "Colossus typed again,Planned,xAI,3231 RIVERPORT RD.  MEMPHIS TN 38109,,,\n"
    'Google Omaha Nebraska,Planned,Google,"11110 State St, Omaha, NE 68142",,,\n'
    '"Crusoe Goodnight in Claude, Texas",Planned,Crusoe,"10001 Lima Rd, Claude, TX 79019",,,\n'
    'xAI Fulton Georgia,Planned,xAI,"1025 Jefferson St NW, Atlanta, GA 30318",,,\n'
    "xAI somewhere,Planned,xAI,,,,\n"
)


def test_a_cluster_sits_at_the_data_center_at_its_address(tmp_path: Path) -> None:
    # Epoch gives a cluster's street address (Location) and a data center's
    # (Address): a cluster is at the data center with the same address (case,
    # punctuation and spacing aside) when the data center is its org's; every
    # other cluster is at no site, listed with the reason.
    centers = _rows(tmp_path, CENTERS, "data_centers.csv")
    result = epoch_scenario(_rows(tmp_path, PLACED), (), centers)
    at = {c.name: c.site for c in result.scenario.clusters}
    assert at["xAI Colossus Memphis Phase 1"] == "xAI-Colossus-1-Memphis-Tennessee"
    assert at["Colossus typed again"] == "xAI-Colossus-1-Memphis-Tennessee"
    assert result.report.placed == 2
    assert [str(x) for x in result.report.unplaced] == [
        "gpu_clusters.csv:4: Google Omaha Nebraska: "
        f"{Reason.CENTER_OF_OTHER_ORG} (Google Omaha Nebraska, of Google-Cloud)",
        "gpu_clusters.csv:5: Crusoe Goodnight in Claude, Texas: "
        f"{Reason.CENTER_SKIPPED} (Crusoe Goodnight Texas)",
        f"gpu_clusters.csv:6: xAI Fulton Georgia: {Reason.NO_CENTER_THERE}",
        f"gpu_clusters.csv:7: xAI somewhere: {Reason.NO_LOCATION}",
    ]
    assert sum(c.site is None for c in result.scenario.clusters) == len(result.report.unplaced)
    assert parse_scenario(dump_scenario(result.scenario)) == result.scenario


def test_a_cluster_whose_data_center_the_owner_filter_left_out(tmp_path: Path) -> None:
    centers = _rows(tmp_path, CENTERS, "data_centers.csv")
    clusters = _rows(
        tmp_path,
        "Name,Status,Owner,Location\n"
        'Shared,Planned,"xAI,Tesla","3231 Riverport Rd, Memphis, TN 38109"\n',
    )
    # asked for Tesla: xAI's data center is left out, the cluster (xAI's) kept
    result = epoch_scenario(clusters, (), centers, owners=["Tesla"])
    assert result.scenario.sites == () and result.report.placed == 0
    assert [str(x) for x in result.report.unplaced] == [
        f"gpu_clusters.csv:2: Shared: {Reason.CENTER_FILTERED} (xAI Colossus 1 Memphis Tennessee)"
    ]


@pytest.mark.parametrize(
    ("cell", "owners"),
    [
        ("OpenAI,Microsoft", ["OpenAI", "Microsoft"]),
        ("G42, Cerebras Systems", ["G42", "Cerebras Systems"]),
        ("Amazon #confident", ["Amazon"]),
        ("", []),
    ],
)
def test_owner_cells(cell: str, owners: list[str]) -> None:
    assert owners_of(cell) == owners


def test_ids_made_from_names() -> None:
    assert make_id("Meta AI") == "Meta-AI"
    assert make_id("Université (AIST)") == "Universite-AIST"
    assert make_id("中文") == "unnamed"


# --------------------------------------------------------------------------- the real files


def test_the_full_files_shipped_map_to_these_counts() -> None:
    result = read_epoch()
    r = result.report
    assert (r.orgs, r.sites, r.power_steps, r.clusters, r.skus, r.claims) == (
        177,
        16,
        113,
        502,
        43,
        349,
    )
    assert r.skipped_by_reason() == {
        Reason.NO_OWNER: 284,
        Reason.PLANNED: 125,
        Reason.NO_CHIP: 19,
        Reason.DECOMMISSIONED: 6,
        Reason.DATA_CENTER_SKIPPED: 5,
        Reason.NO_DATE: 3,
        Reason.NO_DATA_CENTER_OWNER: 1,
    }
    # Clusters at the data center at their address: xAI Colossus phases 1-3 (Colossus
    # 1), Colossus 2 phases 1-2, Oracle's three Abilene phases. Five more share an
    # address with a data center Epoch gives another owner (Google Cloud for three of
    # Google's, Meta for Meta AI's Prometheus, Microsoft for OpenAI's Atlanta).
    assert r.placed == 8
    assert r.unplaced_by_reason() == {
        Reason.NO_CENTER_THERE: 319,
        Reason.NO_LOCATION: 169,
        Reason.CENTER_OF_OTHER_ORG: 5,
        Reason.CENTER_SKIPPED: 1,
    }
    assert r.placed + len(r.unplaced) == r.clusters
    placed = {c.name: c.site for c in result.scenario.clusters if c.site}
    assert placed["xAI Colossus Memphis Phase 3"] == "xAI-Colossus-1-Memphis-Tennessee"
    assert len({site for site in placed.values()}) == 3
    # Steps Epoch estimated itself are assumed.
    assert sum(p.assumed for site in result.scenario.sites for p in site.power) == 31
    # Every one of the 786 cluster rows is a cluster, or skipped for want of an owner.
    assert r.clusters + r.skipped_by_reason()[Reason.NO_OWNER] == 786
    # Every Existing row with a cluster is a claim, or reported.
    assert r.claims + 19 + 3 + 125 + 6 == r.clusters
    # "Today" is the latest first operational date of a claim (xAI Colossus Phase 3).
    assert result.scenario.as_of == date(2025, 7, 22) == max(c.by for c in result.scenario.claims)
    assert parse_scenario(dump_scenario(result.scenario)) == result.scenario


def test_the_founding_story_rows_are_there() -> None:
    s = read_epoch(owners=["Tesla", "xai"]).scenario
    claims = {c.id: (c.org, c.qty, c.by) for c in s.claims}
    assert claims["Tesla-Earnings-Call-Claim:actual"] == ("Tesla", 35_000, date(2024, 3, 31))
    assert claims["Tesla-Cortex-Phase-1:actual"] == ("Tesla", 50_000, date(2024, 11, 15))
    assert claims["xAI-Colossus-Memphis-Phase-1:actual"] == ("xAI", 100_000, date(2024, 9, 2))
    colossus = {site.id: site for site in s.sites}["xAI-Colossus-1-Memphis-Tennessee"]
    assert colossus.mw_on(date(2024, 8, 11)) == 44.0
    assert colossus.mw_on(date(2024, 9, 2)) == 174.0
    assert {o.id for o in s.orgs} == {"Tesla", "xAI"}


def test_the_shipped_copy_carries_the_licence_and_credit() -> None:
    readme = (shipped_folder() / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "Credit: Epoch AI" in readme
    for name in ("gpu_clusters.csv", "data_center_timelines.csv", "data_centers.csv"):
        assert (shipped_folder() / name).is_file()


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "gpu_clusters.csv"
    bad.write_bytes(b"Name,Owner\n\xff\xfe,x\n")
    with pytest.raises(ScenarioError, match="not a UTF-8 CSV file"):
        read_csv(bad)
    with pytest.raises(ScenarioError, match="cannot read the file"):
        read_csv(tmp_path / "missing.csv")


def test_check_scenario_applies_the_rules_of_a_file() -> None:
    from dataclasses import replace

    from gpuledger.scenario import check_scenario

    s = read_epoch(owners=["Tesla"]).scenario
    assert check_scenario(s, source="epoch") == s
    broken = replace(s, clusters=(replace(s.clusters[0], org="nobody"), *s.clusters[1:]))
    with pytest.raises(ScenarioError, match=r"^epoch: clusters\[0\] .* unknown org 'nobody'"):
        check_scenario(broken, source="epoch")


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("plain", "plain"),
        ("two\r\nlines", "two\nlines"),
        ("zero\u200bwidth", "zerowidth"),
        ("no\u00a0break", "no\u00a0break"),
        ("  ", None),
        ("x" * 5000, "x" * 3997 + "..."),
    ],
    ids=["plain", "crlf", "zero-width", "nbsp", "blank", "long"],
)
def test_cells_become_text_a_scenario_accepts(cell: str, text: str | None) -> None:
    from gpuledger.scenario.epoch import _text

    assert _text(cell) == text


def _shipped_single_chip_rows() -> list[dict[str, str]]:
    """The shipped cluster rows with one chip type and a quantity (Epoch AI, CC BY 4.0)."""
    rows = [row for _, row in read_csv(shipped_folder() / "gpu_clusters.csv")]
    return [
        r
        for r in rows
        if r["Chip type (primary)"].strip()
        and not r["Chip type (secondary)"].strip()
        and _num(r["Chip quantity (primary)"])
    ]


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def test_each_stated_tdp_agrees_with_epochs_own_power_figures() -> None:
    # Epoch's "Calculated Power Capacity (MW)" is chips x TDP x 1.82 x PUE, so a row
    # implies its PUE from the TDP gpuledger states. Epoch's PUEs in these rows run
    # from 1.10 to 1.29 (its H100, A100 and V100 rows at their datasheet TDP); a
    # TDP outside that band disagrees with the figure Epoch used.
    implied: dict[str, list[float]] = {}
    for r in _shipped_single_chip_rows():
        chip, watts = r["Chip type (primary)"].strip(), _num(r["Calculated Power Capacity (MW)"])
        if chip in TDP_W and watts:
            per_chip = watts * 1e6 / _num(r["Chip quantity (primary)"]) / 1.82
            implied.setdefault(chip, []).append(round(per_chip / TDP_W[chip][0], 3))
    assert set(implied) == set(TDP_W)  # every stated TDP is checked on Epoch's rows
    wrong = {c: sorted(set(p)) for c, p in implied.items() if not all(1.09 <= x <= 1.3 for x in p)}
    assert wrong == {}


def test_each_sku_states_the_source_of_its_tdp_and_h100e() -> None:
    for sku in read_epoch().scenario.skus:
        assert (sku.tdp_w is None) != ("tdp_w:" in (sku.source or "")), sku.id
        assert (sku.h100e is None) != ("h100e:" in (sku.source or "")), sku.id


def test_h100e_is_never_below_a_chips_own_16_bit_figure() -> None:
    # Epoch's H100 equivalents are a chip's peak OP/s ("Max OP/s") over the H100's
    # (1.979e15, FP8 dense): a chip's peak cannot be below its own 16-bit OP/s.
    # Epoch's GB300 rows take the GB300's INT8 figure (1.65e14) as its peak, not
    # its FP8 (5e15, as for the GB200): 0.0834 H100e where the 16-bit figure alone
    # gives 1.26.
    h100_peak = 1.979e15
    skus = {s.name: s for s in read_epoch().scenario.skus}
    for r in _shipped_single_chip_rows():
        chip, fp16 = r["Chip type (primary)"].strip(), _num(r["16-bit OP/s"])
        h100e = skus[chip].h100e
        if fp16 and h100e is not None:
            per_chip = fp16 / _num(r["Chip quantity (primary)"])
            # h100e is rounded to 4 decimals
            assert (h100e + 5e-5) * h100_peak >= per_chip, (chip, h100e)
    gb300 = skus["NVIDIA GB300 (Blackwell Ultra)"]
    assert gb300.h100e == round(5e15 / h100_peak, 4) == skus["NVIDIA GB200"].h100e
