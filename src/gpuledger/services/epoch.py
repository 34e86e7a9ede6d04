"""Epoch AI's public data into the books: read, map, check, import atomically.

The mapping is :mod:`gpuledger.scenario.epoch` (pure); this service reads the
files (the copy shipped with gpuledger unless paths are given), checks the
scenario with every rule of a scenario file, and imports it in one unit of
work: any problem and nothing is written. Importing the same files again is a
no-op (every document is unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuledger.domain.serialize import jsonable
from gpuledger.ledger import ImportReport, Ledger
from gpuledger.scenario import check_scenario
from gpuledger.scenario.epoch import CREDIT, EpochReport, read_epoch


@dataclass(frozen=True)
class EpochResult:
    """What ``import-epoch`` did: the mapping's report and the books' import report."""

    report: EpochReport
    books: ImportReport

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract: counts, skipped rows (file, line, name, reason, detail),
        clusters at a site and those at none (with the reason), the credit."""
        r = self.report
        return {
            "created": {
                "orgs": r.orgs,
                "sites": r.sites,
                "power_steps": r.power_steps,
                "clusters": r.clusters,
                "skus": r.skus,
                "claims": r.claims,
            },
            "skipped_by_reason": r.skipped_by_reason(),
            "skipped": [jsonable(s) for s in r.skipped],
            "clusters_at_sites": r.placed,
            "at_no_site_by_reason": r.unplaced_by_reason(),
            "at_no_site": [jsonable(s) for s in r.unplaced],
            "filtered_out": r.filtered_out,
            "books": self.books.as_json(),
            "credit": CREDIT,
        }


def import_epoch(
    ledger: Ledger,
    *,
    actor: str,
    folder: Path | None = None,
    clusters: Path | None = None,
    timelines: Path | None = None,
    data_centers: Path | None = None,
    owners: Sequence[str] = (),
) -> EpochResult:
    """Map Epoch AI's files to a scenario and import it atomically.

    Phases: 1. read and map (rows the mapping cannot use are reported, not
    dropped); 2. check the scenario as a scenario file is checked (bounds and
    rules between records; a ScenarioError names the record); 3. import.
    """
    # 1. Read and map.
    mapped = read_epoch(
        folder, clusters=clusters, timelines=timelines, data_centers=data_centers, owners=owners
    )
    # 2. Every bound and rule of a scenario file, through the one validator.
    checked = check_scenario(mapped.scenario, source="Epoch AI import")
    assert checked == mapped.scenario, "the mapping writes what the validator reads back"
    # 3. One unit of work.
    return EpochResult(mapped.report, ledger.import_scenario(checked, actor=actor))
