"""What a format's reader hands to validation: raw records, each with where it came from.

A reader (YAML, CSV, XLSX) turns a file into a :class:`RawDocument`: the header
(``name``, ``description``, ``as_of``, ``parameters``) and, per collection (``skus``
... ``events``), the records as mappings of field -> value. Values are what the
format holds: typed scalars in YAML, cells typed by their column in a spreadsheet.
Nested lists (a vendor's ``lead_time``, an order's ``schedule``, a diversion's
``payback``) are lists of mappings inside their record, whatever the format.

Every record knows its :class:`Origin` (``file:line``, ``file:row`` or
``sheet!row``) and can name the origin of any of its fields, so validation, which
knows no format, reports each problem where the user can find it. Problems only a
reader can see (an unknown sheet, a record that is not a mapping) travel with the
document and are reported with the others, in the order of the source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from gpuledger.domain import InputTooLarge, limits

FieldPath = tuple[str | int, ...]

#: Collections of records, in file order (the header's keys come before them).
COLLECTIONS: Final = (
    "skus",
    "vendors",
    "groups",
    "orgs",
    "sites",
    "clusters",
    "orders",
    "lots",
    "targets",
    "claims",
    "events",
)
#: The header's keys: scalars and the ``parameters`` mapping.
HEADER_KEYS: Final = ("name", "description", "as_of", "parameters")

_SHOWN_MAX = 40
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


@dataclass(frozen=True)
class Origin:
    """Where a record or a value came from.

    ``source`` is the file (YAML, a CSV file) or the workbook (XLSX); ``row`` is the
    1-based line (YAML) or row (CSV, a sheet), None when unknown; ``sheet`` names a
    workbook's sheet; ``rank`` orders the files or sheets of one source, so that
    problems are reported in the source's order.
    """

    source: str
    row: int | None = None
    sheet: str | None = None
    rank: int = 0
    unit: str = "line"

    def sort_key(self) -> tuple[int, int]:
        """Orders origins as the source reads: by file or sheet, then row."""
        return (self.rank, self.row or 0)

    def place(self) -> tuple[str, int | None]:
        """The (file, line) a ScenarioError carries: ``fleet.xlsx lots!5`` has no line."""
        if self.sheet is None:
            return self.source, self.row
        cell = f"{self.sheet}!{self.row}" if self.row else self.sheet
        return f"{self.source} {cell}", None

    def short(self) -> str:
        """The origin within its source, for a message: ``line 12``, ``row 3``, ``lots!5``."""
        if self.sheet is not None:
            return f"{self.sheet}!{self.row}" if self.row else self.sheet
        return f"{self.unit} {self.row}" if self.row else self.source


@dataclass(frozen=True)
class RawRecord:
    """One record as read: its position in its collection, its fields, its origin.

    ``locate`` gives the origin of a field path (``("lead_time", 0, "p50_days")``);
    without it every field is at the record's origin.
    """

    index: int
    fields: Mapping[str, object]
    origin: Origin
    locate: Callable[[FieldPath], Origin] | None = None

    def origin_of(self, path: FieldPath) -> Origin:
        """The origin of a field path; the record's own for a missing field."""
        return self.locate(path) if self.locate is not None and path else self.origin


@dataclass(frozen=True)
class RawProblem:
    """A problem found by a reader: where, why, and the record and field when known."""

    origin: Origin
    reason: str
    record: str | None = None
    field: str | None = None


@dataclass
class RawDocument:
    """A whole source as read: the header, the records per collection, the readers' problems.

    ``default_name`` is the scenario's name when the header gives none (a file's stem).
    """

    source: str
    default_name: str
    header: RawRecord
    collections: dict[str, list[RawRecord]] = field(default_factory=dict)
    problems: list[RawProblem] = field(default_factory=list)


class RecordBudget:
    """Counts records as a reader meets them and stops it past ``limits.RECORDS_MAX``.

    Nested rows (lead times, schedule steps, paybacks) count as records: in a
    spreadsheet they are rows like any other.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._limit = limits.RECORDS_MAX
        self.count = 0

    def take(self, n: int = 1) -> None:
        """Count ``n`` more records.

        Raises:
            InputTooLarge: the source holds more than ``limits.RECORDS_MAX`` records.
        """
        assert n >= 0
        self.count += n
        if self.count > self._limit:
            raise InputTooLarge(f"{self._source} holds more than {self._limit:,} records")


def shown(value: object) -> str:
    """``value`` for a message: repr cut to a few dozen characters, unprintables escaped.

    Edge cases: a number too large to print in decimal is described by its size;
    a hostile ``__repr__`` cannot reach here (values are plain data).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of {value.bit_length()} bits"
    if isinstance(value, str) and len(value) > _SHOWN_MAX:
        return ascii(value[:_SHOWN_MAX]) + f"... ({len(value):,} characters)"
    text = ascii(value) if isinstance(value, str) else repr(_cut(value))
    return text if len(text) <= 2 * _SHOWN_MAX else text[: 2 * _SHOWN_MAX] + "..."


def _cut(value: object) -> object:
    # Containers are shown by their first items only: a repr of a large (or
    # self-similar) structure costs as much as the structure.
    if isinstance(value, list | tuple):
        return [_cut(v) for v in value[:3]] + (["..."] if len(value) > 3 else [])
    if isinstance(value, dict):
        return {field_name(k): "..." for k in list(value)[:3]}
    if isinstance(value, str):
        return value[:_SHOWN_MAX]
    return value


def field_name(key: object) -> str:
    """A key for a message: itself when it reads as a field name, else :func:`shown`."""
    if isinstance(key, str) and _PLAIN_NAME.fullmatch(key):
        return key
    return shown(key)
