"""Epoch AI's public data (GPU clusters, data centers and their timelines) as a Scenario.

Epoch AI publishes its "Data on GPU Clusters" and "Frontier Data Centers" under
CC BY 4.0; anything that shows these rows carries :data:`CREDIT`. This module is
pure: rows in, a :class:`~gpuledger.domain.Scenario` and an :class:`EpochReport`
out (reading the CSV files is :func:`read_csv`). Every row gets a decision: it
becomes records, or the report lists it (file, line, name) with the reason it was
skipped, never a silent drop.

The mapping, row by row:

- **Owners** (``Owner``, a comma-separated list such as ``OpenAI,Microsoft``) become
  orgs, one per listed owner (id: the name made an id); a cluster belongs to the
  first owner listed, the others are named in its ``source``. A data center's
  owner drops Epoch's confidence tag (``Amazon #confident`` is ``Amazon``).
- **Data centers** (``data_centers.csv``) become sites of their owner, with one
  power step per timeline row (``Date``, ``Power (MW)``), sourced to the row's
  construction status; a step whose status says it is Epoch's estimate
  ("based on default roof-to-operational time", "assumed") is ``assumed``.
- **Clusters** (``gpu_clusters.csv``) become clusters of their first owner (id:
  the name made an id; a second row of one name gets ``-<line>``, a cluster named
  as an org gets ``-cluster``); their status, certainty, chips (quantity and
  type), other owners and first-operational note go into ``source``. A cluster
  is at the site of the data center whose street address is its own
  (``Location`` = ``Address``, case, punctuation and spacing aside) when that
  data center is its org's; every other cluster is at no site and listed in the
  report's ``unplaced`` with the reason.
- **Chip types** become SKUs (id: the name made an id). ``h100e`` is Epoch's own
  ``H100 equivalents`` / ``Chip quantity (primary)``, the median over the rows of
  that chip alone, to 4 decimals, except where those rows contradict themselves
  (:data:`H100E`: the GB300); ``tdp_w`` comes from the vendor's datasheet
  (:data:`TDP_W`, each value checked against Epoch's own calculated power) where
  known, else it is left unstated.
- **Existing** rows become ``actual`` claims of their chip quantity, stated and
  dated on the first operational date, with Epoch's sources as ``source``.
  Planned and decommissioned rows, rows without a date, chip type or quantity,
  keep their cluster and are listed in the report as claims not made.
- Quantities with float noise (``30000.000000000004``) are the nearest whole
  number when within 0.001 of it.

Over 500 lines: the whole mapping of Epoch AI's three files, with the decision
taken on each quirk of theirs, reads best as one module.
"""

from __future__ import annotations

import csv
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Final

from gpuledger.domain import (
    Claim,
    ClaimKind,
    Cluster,
    Org,
    PowerStep,
    Scenario,
    ScenarioError,
    Site,
    Sku,
    limits,
)

#: The credit CC BY 4.0 asks of anything that ships or shows these rows.
CREDIT: Final = (
    'Epoch AI, "Data on GPU Clusters" and "Frontier Data Centers", published online at '
    "epoch.ai (CC BY 4.0)"
)
CLUSTERS_FILE: Final = "gpu_clusters.csv"
TIMELINES_FILE: Final = "data_center_timelines.csv"
DATA_CENTERS_FILE: Final = "data_centers.csv"

#: Chip power draw (TDP, W) from the vendors' datasheets, by Epoch's chip name. Each
#: value agrees with Epoch's own "Calculated Power Capacity (MW)" (chips x TDP x 1.82
#: x PUE) at the PUEs of its rows (tests/scenario/test_epoch.py checks every one).
TDP_W: Final[Mapping[str, tuple[float, str]]] = {
    "NVIDIA H100 SXM5 80GB": (700.0, "NVIDIA H100 Tensor Core GPU datasheet (SXM: 700 W)"),
    "NVIDIA H200 SXM": (700.0, "NVIDIA H200 Tensor Core GPU datasheet (SXM: 700 W)"),
    "NVIDIA B200": (1000.0, "NVIDIA HGX B200 specifications (1,000 W per GPU)"),
    "NVIDIA GB200": (
        1200.0,
        "NVIDIA GB200 NVL72: 1,200 W per Blackwell GPU, the figure Epoch's calculated "
        "power for its GB200 rows implies (1,200 W x 1.82 x PUE 1.1)",
    ),
    "NVIDIA GB300 (Blackwell Ultra)": (
        1400.0,
        "NVIDIA GB300 NVL72: 1,400 W per Blackwell Ultra GPU, the figure Epoch's "
        "calculated power for its GB300 rows implies (1,400 W x 1.82 x PUE 1.1)",
    ),
    "NVIDIA A100": (400.0, "NVIDIA A100 Tensor Core GPU datasheet (SXM: 400 W)"),
    "NVIDIA A100 SXM4 40 GB": (400.0, "NVIDIA A100 Tensor Core GPU datasheet (SXM: 400 W)"),
    "NVIDIA A100 SXM4 80 GB": (400.0, "NVIDIA A100 Tensor Core GPU datasheet (SXM: 400 W)"),
    "NVIDIA A100 PCIe": (
        300.0,
        "NVIDIA A100 Tensor Core GPU datasheet (80GB PCIe: 300 W; the 40GB card, 250 W), "
        "the figure Epoch's calculated power for its A100 PCIe rows implies",
    ),
    "NVIDIA V100": (300.0, "NVIDIA V100 Tensor Core GPU datasheet (SXM2: 300 W)"),
    "NVIDIA Tesla V100 SXM2": (300.0, "NVIDIA V100 Tensor Core GPU datasheet (SXM2: 300 W)"),
    "NVIDIA Tesla V100 SXM2 32 GB": (
        300.0,
        "NVIDIA V100 Tensor Core GPU datasheet (SXM2: 300 W)",
    ),
    "AMD Instinct MI300X": (750.0, "AMD Instinct MI300X datasheet (750 W)"),
    "AMD Radeon Instinct MI250X": (
        500.0,
        "AMD Instinct MI250X datasheet (500 W board power, 560 W peak), the figure "
        "Epoch's calculated power for its MI250X rows implies",
    ),
}

#: H100-equivalents stated here instead of Epoch's rows, where those rows contradict
#: themselves. Epoch's factor is a chip's peak OP/s over the H100's (1.979e15, FP8
#: dense); its GB300 rows give the GB300's INT8 figure (1.65e14) as the peak, below
#: their own 16-bit figure (2.5e15).
H100E: Final[Mapping[str, tuple[float, str]]] = {
    "NVIDIA GB300 (Blackwell Ultra)": (
        round(5e15 / 1.979e15, 4),
        "FP8 dense 5 PFLOPS per Blackwell Ultra GPU (NVIDIA GB300 NVL72 specifications) "
        "over the H100's 1.979 PFLOPS, Epoch's method; Epoch's rows give 0.0834 from the "
        "GB300's INT8 figure, below their own 16-bit OP/s",
    ),
}


class Reason:
    """Why a row (or the claim of a row) was skipped: the report's stable wording."""

    NO_OWNER = "no owner"
    NO_DATA_CENTER_OWNER = "data center with no owner"
    DATA_CENTER_SKIPPED = "its data center was skipped"
    UNKNOWN_DATA_CENTER = "data center not in data_centers.csv"
    NOT_A_DATE = "date is not YYYY-MM-DD"
    NO_POWER = "no power (MW)"
    PLANNED = "planned: no actual claim"
    DECOMMISSIONED = "decommissioned: no actual claim"
    NO_DATE = "no first operational date: no actual claim"
    NO_CHIP = "no chip type: no actual claim"
    NO_QTY = "no whole chip quantity: no actual claim"
    # Why a cluster (a record all the same) is at no site:
    NO_LOCATION = "no location: at no site"
    NO_CENTER_THERE = "no data center at its location: at no site"
    CENTER_OF_OTHER_ORG = "its data center belongs to another org: at no site"
    CENTER_SKIPPED = "its data center was skipped: at no site"
    CENTER_FILTERED = "its data center was left out by the owner filter: at no site"


@dataclass(frozen=True)
class Skipped:
    """One row (or one row's claim, or one cluster's site) not turned into records, and why.

    ``detail`` names the record the reason is about (a data center and its owner).
    """

    file: str
    line: int
    name: str
    reason: str
    detail: str | None = None

    def __str__(self) -> str:
        tail = f" ({self.detail})" if self.detail else ""
        return f"{self.file}:{self.line}: {self.name}: {self.reason}{tail}"


@dataclass(frozen=True)
class EpochReport:
    """What the import made of the files: records created and rows skipped, per reason."""

    orgs: int
    sites: int
    power_steps: int
    clusters: int
    skus: int
    claims: int
    skipped: tuple[Skipped, ...]
    filtered_out: int = 0
    credit: str = CREDIT
    placed: int = 0
    unplaced: tuple[Skipped, ...] = ()

    def skipped_by_reason(self) -> dict[str, int]:
        """Rows skipped per reason, most frequent first."""
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def unplaced_by_reason(self) -> dict[str, int]:
        """Clusters at no site per reason, most frequent first."""
        return dict(Counter(s.reason for s in self.unplaced).most_common())


@dataclass(frozen=True)
class EpochImport:
    """The scenario built from Epoch AI's rows, and the report of what it holds and skipped."""

    scenario: Scenario
    report: EpochReport


Row = tuple[int, Mapping[str, str]]


def read_csv(path: Path) -> list[Row]:
    """The rows of a CSV file as (first line of the row, cells by header).

    Quoted cells may span lines: the line is where the row starts. The file's
    size is checked first (``limits.FILE_MAX_BYTES``).
    """
    try:
        limits.check_size(path.stat().st_size, str(path))
        return _read_rows(path)
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError(f"not a UTF-8 CSV file: {exc}", file=str(path)) from exc


def _read_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                return rows
            if any(cells):
                rows.append((start, dict(zip(header, cells, strict=False))))


# --------------------------------------------------------------------------- text


_NOT_ID = re.compile(r"[^A-Za-z0-9._+@#-]+")
_NOT_WORD = re.compile(r"[\W_]+")
_TAG = re.compile(r"\s*#\w+\s*$")
_BAD_TEXT = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ESTIMATE = re.compile(r"assum|default|estimat", re.IGNORECASE)
_ID_ROOM = 100  # an id made from a name leaves room for suffixes (":actual", "-<line>")


def make_id(name: str) -> str:
    """A name as an id: runs of other characters become ``-``, accents dropped.

    Edge cases: a name with no letter or digit gives ``"unnamed"``; a long name
    is cut to leave room for suffixes.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    made = _NOT_ID.sub("-", ascii_name).strip("-._+@#")[:_ID_ROOM].rstrip("-._+@#")
    return made or "unnamed"


def _text(value: str | None) -> str | None:
    """Cell text as scenario text: line breaks kept, unprintables dropped, cut to the limit."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Python's printable excludes every refused category (and a little more, such as
    # non-ASCII spaces): printable text skips the character-by-character filter.
    if value.replace("\n", " ").replace("\t", " ").isprintable():
        clean = value.strip()
    else:
        clean = "".join(
            ch for ch in value if ch in "\t\n" or unicodedata.category(ch) not in _BAD_TEXT
        ).strip()
    if len(clean) > limits.TEXT_MAX_LEN:
        clean = clean[: limits.TEXT_MAX_LEN - 3].rstrip() + "..."
    return clean or None


def owners_of(cell: str) -> list[str]:
    """The owners a cell lists (``"OpenAI,Microsoft"``), confidence tags dropped, in order."""
    names = [_TAG.sub("", part).strip() for part in cell.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


def _whole(text: str) -> int | None:
    """A quantity cell as a whole number (float noise within 0.001 forgiven); None otherwise."""
    try:
        value = float(text)
    except ValueError:
        return None
    nearest = round(value)
    if abs(value - nearest) > 1e-3 or not 1 <= nearest <= limits.QTY_MAX:
        return None
    return int(nearest)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


# --------------------------------------------------------------------------- the mapping


@dataclass
class _Builder:
    """Records as they are made, keyed by id (first made wins; same id, same record)."""

    owners: Sequence[str]
    orgs: dict[str, Org] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    filtered_out: int = 0
    #: data centers by address (:func:`address_key`): handle, owner org (None: no
    #: owner), site id (None: no site made)
    centers: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    unplaced: list[Skipped] = field(default_factory=list)

    def wanted(self, owners: Sequence[str]) -> bool:
        """True when no owner filter is given or the row lists one of the owners asked for."""
        if not self.owners:
            return True
        asked = {o.casefold() for o in self.owners}
        return any(o.casefold() in asked or make_id(o).casefold() in asked for o in owners)

    def org(self, name: str) -> str:
        ident = make_id(name)
        self.orgs.setdefault(ident, Org(ident, _text(name), source=f"{CREDIT}: owner {name}"))
        return ident

    def skip(self, file: str, line: int, name: str, reason: str) -> None:
        self.skipped.append(Skipped(file, line, name or "(unnamed)", reason))


def _sites(b: _Builder, centers: Iterable[Row], timelines: Iterable[Row]) -> tuple[list[Site], int]:
    """Data centers with their owner as sites; their timeline rows as power steps."""
    steps: dict[str, list[tuple[int, Mapping[str, str]]]] = defaultdict(list)
    for line, row in timelines:
        steps[row.get("Data center", "")].append((line, row))
    sites: list[Site] = []
    known: set[str] = set()
    count = 0
    for line, row in centers:
        handle = row.get("Handle", "")
        known.add(handle)
        owners = owners_of(row.get("Owner", ""))
        where = address_key(row.get("Address", ""))
        if where:  # first data center at an address wins (none share one in Epoch's file)
            org = make_id(owners[0]) if owners else None
            b.centers.setdefault(where, (handle, org, None))
        if not owners and not b.owners:
            b.skip(DATA_CENTERS_FILE, line, handle, Reason.NO_DATA_CENTER_OWNER)
            for t_line, _ in steps.get(handle, []):
                b.skip(TIMELINES_FILE, t_line, handle, Reason.DATA_CENTER_SKIPPED)
            continue
        if not b.wanted(owners):
            b.filtered_out += 1 + len(steps.get(handle, []))
            continue
        power = _power(b, handle, steps.get(handle, []))
        count += len(power)
        if where and b.centers[where][0] == handle:
            b.centers[where] = (handle, make_id(owners[0]), make_id(handle))
        sites.append(
            Site(
                make_id(handle),
                b.org(owners[0]),
                name=_text(row.get("Title") or handle),
                power=tuple(power),
                source=_text(f"{CREDIT}: data center {handle}"),
            )
        )
    for handle, rows in steps.items():
        if handle not in known:
            for t_line, _ in rows:
                b.skip(TIMELINES_FILE, t_line, handle, Reason.UNKNOWN_DATA_CENTER)
    return sites, count


def _power(b: _Builder, handle: str, rows: Sequence[Row]) -> list[PowerStep]:
    by_day: dict[date, PowerStep] = {}
    for line, row in rows:
        day = _day(row.get("Date", ""))
        mw = _float(row.get("Power (MW)", ""))
        if day is None:
            b.skip(TIMELINES_FILE, line, handle, Reason.NOT_A_DATE)
            continue
        if mw is None or not 0 <= mw <= limits.MW_MAX:
            b.skip(TIMELINES_FILE, line, handle, Reason.NO_POWER)
            continue
        status = row.get("Construction status", "")
        # Epoch says where a step is its own estimate ("based on default
        # roof-to-operational time", "assumed based on ..."): such a step is assumed.
        assumed = bool(_ESTIMATE.search(status))
        source = _text(f"Epoch AI, {handle} on {day}: {status}")
        by_day[day] = PowerStep(day, mw, source, assumed)
    return [by_day[d] for d in sorted(by_day)]


def _skus(clusters: Iterable[Row]) -> dict[str, Sku]:
    """Every chip type named, with its H100-equivalent factor from Epoch's own figures."""
    factors: dict[str, list[float]] = defaultdict(list)
    names: list[str] = []
    for _, row in clusters:
        chip = row.get("Chip type (primary)", "").strip()
        if not chip:
            continue
        names.append(chip)
        qty = _float(row.get("Chip quantity (primary)", ""))
        h100e = _float(row.get("H100 equivalents", ""))
        alone = not row.get("Chip type (secondary)", "").strip()
        if alone and qty and qty > 0 and h100e and h100e > 0:
            factors[chip].append(h100e / qty)
    skus: dict[str, Sku] = {}
    for chip in dict.fromkeys(names):
        factor = round(statistics.median(factors[chip]), 4) if factors[chip] else None
        tdp, tdp_source = TDP_W.get(chip, (None, None))
        parts = [f"{CREDIT}: chip type {chip}"]
        if chip in H100E:
            factor, h100e_source = H100E[chip]
            parts.append(f"h100e: {h100e_source}")
        elif factor:
            parts.append("h100e: median of Epoch's H100 equivalents / chip quantity")
        if tdp_source:
            parts.append(f"tdp_w: {tdp_source}")
        skus[make_id(chip)] = Sku(
            make_id(chip),
            _text(chip),
            source=_text("; ".join(parts)),
            tdp_w=tdp,
            h100e=factor or None,
        )
    return skus


def _facts(row: Mapping[str, str], owners: Sequence[str]) -> str:
    """What a cluster row says that its records have no field for, for its ``source``."""
    facts = [f"status {row.get('Status', '').strip() or 'unknown'}"]
    if certainty := row.get("Certainty", "").strip():
        facts.append(f"certainty {certainty}")
    chip, qty = (
        row.get("Chip type (primary)", "").strip(),
        _whole(row.get("Chip quantity (primary)", "")),
    )
    if chip:
        facts.append(f"chips: {f'{qty:,} ' if qty else ''}{chip}")
    if owners[1:]:
        facts.append(f"also owned by {', '.join(owners[1:])}")
    if note := row.get("First Operational Date Note", "").strip():
        facts.append(f"first operational: {note}")
    return "; " + "; ".join(facts)


def _sources(row: Mapping[str, str]) -> str:
    links = [row.get(f"Source {i}", "").strip() for i in range(1, 6)]
    return " ".join(link for link in links if link)


def _clusters(
    b: _Builder, rows: Iterable[Row], skus: Mapping[str, Sku]
) -> tuple[list[Cluster], list[Claim]]:
    clusters: list[Cluster] = []
    claims: list[Claim] = []
    used: set[str] = set()
    for line, row in rows:
        name = row.get("Name", "").strip()
        owners = owners_of(row.get("Owner", ""))
        if not owners and not b.owners:
            b.skip(CLUSTERS_FILE, line, name, Reason.NO_OWNER)
            continue
        if not b.wanted(owners):
            b.filtered_out += 1
            continue
        ident = make_id(name)
        if ident in used:  # two rows of one name (or of names that make one id)
            ident = f"{ident}-{line}"
        used.add(ident)
        org = b.org(owners[0])
        for other in owners[1:]:
            b.org(other)
        source = _text(f"{CREDIT}: {name}{_facts(row, owners)}. {_sources(row)}")
        site = _site_of(b, line, name, row.get("Location", ""), org)
        clusters.append(Cluster(ident, org, _text(name), source, site))
        claim = _claim(b, line, name, row, ident, org, source)
        if claim is not None:
            assert claim.sku in skus, claim.sku
            claims.append(claim)
    return clusters, claims


def address_key(text: str) -> str:
    """An address as a key: case, punctuation and spacing aside (``"3231 riverport rd ..."``)."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def _site_of(b: _Builder, line: int, name: str, location: str, org: str) -> str | None:
    """The site of the data center at a cluster's address, if its org's; else None, reported.

    Epoch gives a street address for clusters (``Location``) and for data centers
    (``Address``); a cluster is at the data center whose address is the same
    (:func:`address_key`). A data center of another org (Epoch names some owners
    differently in the two files: "Google Cloud" and "Google", "Meta" and "Meta
    AI") is not the cluster's site: a cluster's site is its own org's.
    """
    where = address_key(location)
    center = b.centers.get(where) if where else None
    reason, detail = None, None
    if not where:
        reason = Reason.NO_LOCATION
    elif center is None:
        reason = Reason.NO_CENTER_THERE
    elif center[1] is None:
        reason, detail = Reason.CENTER_SKIPPED, center[0]
    elif center[1] != org:
        reason, detail = Reason.CENTER_OF_OTHER_ORG, f"{center[0]}, of {center[1]}"
    elif center[2] is None:
        reason, detail = Reason.CENTER_FILTERED, center[0]
    if reason is not None:
        b.unplaced.append(Skipped(CLUSTERS_FILE, line, name or "(unnamed)", reason, detail))
        return None
    assert center is not None and center[2] is not None
    return center[2]


def _claim(
    b: _Builder,
    line: int,
    name: str,
    row: Mapping[str, str],
    cluster: str,
    org: str,
    source: str | None,
) -> Claim | None:
    """An Existing row's actual claim, or None with the reason in the report."""
    status = row.get("Status", "").strip()
    chip = row.get("Chip type (primary)", "").strip()
    day = _day(row.get("First Operational Date", ""))
    qty = _whole(row.get("Chip quantity (primary)", ""))
    reason = (
        Reason.PLANNED
        if status == "Planned"
        else Reason.DECOMMISSIONED
        if status == "Decommissioned"
        else Reason.NO_DATE
        if day is None
        else Reason.NO_CHIP
        if not chip
        else Reason.NO_QTY
        if qty is None
        else None
    )
    if reason is not None or day is None or qty is None:
        b.skip(CLUSTERS_FILE, line, name, reason or Reason.NO_DATE)
        return None
    return Claim(f"{cluster}:actual", org, make_id(chip), qty, day, day, ClaimKind.ACTUAL, source)


def epoch_scenario(
    clusters: Sequence[Row],
    timelines: Sequence[Row] = (),
    data_centers: Sequence[Row] = (),
    *,
    owners: Sequence[str] = (),
    name: str = "epoch-ai",
    as_of: date | None = None,
) -> EpochImport:
    """Epoch AI's rows as a scenario, and the report of every row skipped and why.

    ``owners`` keeps only the rows that list one of them (by name or id, any
    case); rows left out by it (rows without an owner included) are counted, not
    listed. ``as_of`` defaults to the latest first operational date of a claim
    made (the latest fact the rows state; later power steps are expectations),
    else the latest power step: re-importing the same files gives the same
    scenario.
    """
    b = _Builder(owners)
    # 1. Sites and their power, 2. SKUs, 3. clusters and their claims.
    sites, steps = _sites(b, data_centers, timelines)
    skus = _skus(clusters)
    cluster_records, claims = _clusters(b, clusters, skus)
    # A cluster named as an org (SingularityNET owns "SingularityNET") would make a
    # target's consumer ambiguous: such a cluster's id gets "-cluster".
    cluster_records = [
        replace(c, id=f"{c.id}-cluster") if c.id in b.orgs else c for c in cluster_records
    ]
    used_skus = {c.sku for c in claims}
    kept_skus = tuple(s for s in skus.values() if s.id in used_skus or not owners)
    dates = [c.by for c in claims] or [p.from_date for s in sites for p in s.power]
    scenario = Scenario(
        name=name,
        as_of=as_of or (max(dates) if dates else date(2025, 1, 1)),
        description=f"Imported from {CREDIT}.",
        skus=kept_skus,
        orgs=tuple(b.orgs.values()),
        sites=tuple(sites),
        clusters=tuple(cluster_records),
        claims=tuple(claims),
    )
    report = EpochReport(
        orgs=len(scenario.orgs),
        sites=len(sites),
        power_steps=steps,
        clusters=len(cluster_records),
        skus=len(kept_skus),
        claims=len(claims),
        skipped=tuple(b.skipped),
        filtered_out=b.filtered_out,
        placed=sum(c.site is not None for c in cluster_records),
        unplaced=tuple(b.unplaced),
    )
    assert report.placed + len(report.unplaced) == report.clusters, "every cluster placed or not"
    return EpochImport(scenario, report)


def read_epoch(
    folder: Path | None = None,
    *,
    clusters: Path | None = None,
    timelines: Path | None = None,
    data_centers: Path | None = None,
    owners: Sequence[str] = (),
) -> EpochImport:
    """Read Epoch AI's CSV files (each from ``folder`` unless given) and map them.

    ``folder`` defaults to the copy shipped inside the package (``gpuledger/data/epoch``).
    """
    base = folder or shipped_folder()
    return epoch_scenario(
        read_csv(clusters or base / CLUSTERS_FILE),
        read_csv(timelines or base / TIMELINES_FILE),
        read_csv(data_centers or base / DATA_CENTERS_FILE),
        owners=owners,
    )


def shipped_folder() -> Path:
    """The folder of Epoch AI's files shipped with gpuledger (with their licence, README.md)."""
    from importlib import resources

    return Path(str(resources.files("gpuledger.data").joinpath("epoch")))
