"""The flat layout of a scenario for spreadsheets, shared by the XLSX and CSV formats.

One sheet (or CSV file) per record kind, with the YAML fields as columns and one
record per row. The header's scalars are the one row of ``scenario``; the
parameters, the one row of ``parameters``. Nested lists get their own sheet with a
key column naming the record they belong to: ``lead_time`` (``vendor``),
``schedule`` (``order``) and ``payback`` (``diversion``, the id of a divert event).
``events`` holds every op; the columns an op does not use stay blank.

Reading: a row's blank cells are absent fields, blank rows are skipped, and each
cell is typed by its column (``field_kinds``): a CSV cell is always text, so
``8000`` in a ``qty`` column is the number 8000, while ``8000.0``, ``abc`` or
``true`` stay text and are refused by validation as not whole numbers.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any, Final

from pydantic import BaseModel

from gpuledger.domain import Scenario
from gpuledger.scenario._data import scenario_as_data
from gpuledger.scenario._models import (
    ClaimModel,
    ClusterModel,
    DeliveryModel,
    DivertModel,
    GroupModel,
    HeaderModel,
    LeadTimeModel,
    LotModel,
    MovementModel,
    OrderModel,
    OrgModel,
    ParametersModel,
    PaybackModel,
    PowerStepModel,
    SiteModel,
    SkuModel,
    TargetModel,
    VendorModel,
)
from gpuledger.scenario._raw import (
    COLLECTIONS,
    FieldPath,
    Origin,
    RawDocument,
    RawProblem,
    RawRecord,
    RecordBudget,
    field_name,
    shown,
)


def field_kinds(*models: type[BaseModel]) -> dict[str, str]:
    """The kind of each field, by its file name: ``int``, ``float``, ``date``, ``bool``,
    ``text`` or ``ids`` (a list of ids, one cell: ``H200 B200``).

    Nested lists of records and models are left out: they have their own sheets.
    """
    kinds: dict[str, str] = {}
    for model in models:
        for name, info in model.model_fields.items():
            kind = _kind(info.annotation)
            if kind is not None:
                kinds[info.alias or name] = kind
    return kinds


def _kind(annotation: Any) -> str | None:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin is list:
        (item,) = typing.get_args(annotation)
        return "ids" if _kind(item) == "text" else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return None
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(inner)
    for kind, python_type in (("bool", bool), ("int", int), ("float", float), ("date", date)):
        if annotation is python_type:
            return kind
    return "text"


@dataclass(frozen=True)
class Sheet:
    """One sheet of the layout: its columns (in order) and their kinds.

    ``parent`` and ``key`` make a nested sheet: each row extends the record of
    ``parent`` whose id is in column ``key``, in the parent's field ``nested``.
    ``single`` sheets hold one row (the header, the parameters).
    """

    name: str
    columns: tuple[str, ...]
    kinds: dict[str, str]
    parent: str | None = None
    key: str | None = None
    nested: str | None = None
    single: bool = False


def _sheet(name: str, columns: str, *models: type[BaseModel], **extra: Any) -> Sheet:
    kinds = field_kinds(*models)
    if extra.get("key"):
        kinds[extra["key"]] = "text"
    cols = tuple(columns.split())
    assert set(cols) == set(kinds), (name, set(cols) ^ set(kinds))
    return Sheet(name, cols, kinds, **extra)


#: The sheets, in the order they are written and their problems reported.
SHEETS: Final = (
    _sheet("scenario", "name description as_of", HeaderModel, single=True),
    _sheet(
        "parameters",
        "gpu_hour_price_usd gpu_hour_price_source claim_tolerance horizon_days "
        "system_overhead system_overhead_source pue pue_source "
        "interruptions_per_failure repair_days rma_days replace_failed",
        ParametersModel,
        single=True,
    ),
    _sheet("skus", "id name annual_failure_rate tdp_w h100e source assumed", SkuModel),
    _sheet("vendors", "id name transit_slip_p50_days transit_slip_p90_days source", VendorModel),
    _sheet(
        "lead_time",
        "vendor sku from p50_days p90_days source assumed",
        LeadTimeModel,
        parent="vendors",
        key="vendor",
        nested="lead_time",
    ),
    _sheet("groups", "id name source", GroupModel),
    _sheet("orgs", "id name group source", OrgModel),
    _sheet("sites", "id org name pue source assumed", SiteModel),
    _sheet(
        "power",
        "site from mw source assumed",
        PowerStepModel,
        parent="sites",
        key="site",
        nested="power",
    ),
    _sheet("clusters", "id org site name source", ClusterModel),
    _sheet("orders", "id org vendor sku qty ordered_on source assumed", OrderModel),
    _sheet(
        "schedule", "order on qty", DeliveryModel, parent="orders", key="order", nested="schedule"
    ),
    _sheet("lots", "id order qty ships_on arrives_on consignee source assumed", LotModel),
    _sheet("targets", "id consumer sku accepts qty by priority weight source assumed", TargetModel),
    _sheet("claims", "id org sku qty by stated_on kind source", ClaimModel),
    _sheet(
        "events",
        "op id lot qty from to org cluster on known_on status proposed_by reason source",
        DivertModel,
        MovementModel,
    ),
    _sheet(
        "payback",
        "diversion lot qty",
        PaybackModel,
        parent="events",
        key="diversion",
        nested="payback",
    ),
)
SHEET_BY_NAME: Final = {s.name: s for s in SHEETS}
_PARENT_KIND = {"vendors": "vendor", "sites": "site", "orders": "order", "events": "diversion"}

# --------------------------------------------------------------------------- writing


def tables_of(scenario: Scenario) -> dict[str, list[dict[str, Any]]]:
    """The rows of every sheet (a mapping of column -> value per row; absent is blank)."""
    data = scenario_as_data(scenario)
    out: dict[str, list[dict[str, Any]]] = {
        "scenario": [{k: data[k] for k in ("name", "description", "as_of") if k in data}],
        "parameters": [dict(data.get("parameters", {}))],
    }
    for sheet in SHEETS:
        if sheet.single:
            continue
        if sheet.parent is None:
            out[sheet.name] = [
                {k: _cell(v, sheet.kinds[k]) for k, v in rec.items() if k in sheet.kinds}
                for rec in data.get(sheet.name, [])
            ]
        else:
            assert sheet.key is not None and sheet.nested is not None
            out[sheet.name] = [
                {sheet.key: rec["id"], **row}
                for rec in data.get(sheet.parent, [])
                for row in rec.get(sheet.nested, [])
            ]
    return out


def _cell(value: Any, kind: str) -> Any:
    """A value as one cell: a list of ids is its ids joined by spaces."""
    return " ".join(value) if kind == "ids" else value


# --------------------------------------------------------------------------- reading

_IDS_SEPARATOR = re.compile(r"[\s,]+")

_INT_RE = re.compile(r"[+-]?[0-9]{1,20}")
_FLOAT_RE = re.compile(
    r"[+-]?(?:[0-9]{1,40}(?:\.[0-9]{0,40})?|\.[0-9]{1,40})(?:[eE][+-]?[0-9]{1,4})?"
)
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_EXACT_INT = 2**53


def text_cell(text: str, kind: str) -> object:
    """A cell's text as a value of its column's kind; None when blank.

    Text that does not read as the kind is kept, so validation refuses it with the
    text shown (``qty: '8000.0'`` is not a whole number). Text columns keep their
    text exactly; other kinds ignore surrounding spaces.
    """
    if kind == "text":
        return text or None
    stripped = text.strip()
    if kind == "ids":
        # Ids hold neither spaces nor commas: either separates them.
        return [part for part in _IDS_SEPARATOR.split(stripped) if part] or None
    if not stripped:
        return None
    if kind == "int" and _INT_RE.fullmatch(stripped):
        return int(stripped)
    if kind == "float" and _FLOAT_RE.fullmatch(stripped):
        return float(stripped)
    if kind == "bool" and stripped in _TRUE | _FALSE:
        return stripped in _TRUE
    return stripped if kind == "date" else text


def typed_cell(value: object, kind: str) -> object:
    """A typed spreadsheet cell (XLSX) as a value of its column's kind; None when blank.

    A spreadsheet has no integers: a whole number in an ``int`` column is one. A
    date cell (midnight) is a date. Numbers and dates in a text column read as
    their text. Anything else is kept for validation to refuse.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return text_cell(value, kind)
    if kind == "ids":  # an id typed as a number or a date reads as its text
        text = typed_cell(value, "text")
        return text_cell(text, kind) if isinstance(text, str) else text
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if kind == "float" else str(value) if kind == "text" else value
    if isinstance(value, float):
        if kind == "int" and value.is_integer():
            return int(value)  # beyond 2**53 it is out of every bound anyway
        if kind == "text":
            exact = value.is_integer() and abs(value) <= _EXACT_INT
            return str(int(value)) if exact else repr(value)
        return value
    if isinstance(value, datetime) and value.time() == time(0) and value.tzinfo is None:
        day = value.date()
        return day.isoformat() if kind == "text" else day if kind == "date" else value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat() if kind == "text" else value
    return value


@dataclass
class SheetRows:
    """One sheet (or CSV file) as read: its name, position, header row and data rows.

    ``rows`` yields (row number, cells) from row 2 on, lazily: the reader stops it
    at the record limit.
    """

    name: str
    rank: int
    header: Sequence[object]
    rows: Iterable[tuple[int, Sequence[object]]]


@dataclass
class _Read:
    origin: Origin
    values: dict[str, object]
    children: dict[str, list[_Read]] = field(default_factory=dict)


@dataclass
class TableReader:
    """Reads the sheets of one source into a :class:`RawDocument`.

    ``origin(sheet, rank, row)`` says where a row is (``row`` None: the sheet
    itself); ``convert`` types a cell by its column's kind; ``what`` and
    ``suffix`` name a sheet in messages (``sheet``, or ``file`` and ``.csv``).
    """

    source: str
    default_name: str
    origin: Callable[[str, int, int | None], Origin]
    convert: Callable[[object, str], object]
    what: str = "sheet"
    suffix: str = ""
    problems: list[RawProblem] = field(default_factory=list)

    def read(self, sheets: Iterable[SheetRows]) -> RawDocument:
        """Every sheet's rows, the nested ones attached to their records."""
        budget = RecordBudget(self.source)
        read: dict[str, list[_Read]] = {}
        for sheet in sheets:
            spec = SHEET_BY_NAME.get(sheet.name)
            if spec is None:
                allowed = ", ".join(s.name + self.suffix for s in SHEETS)
                name = shown(sheet.name + self.suffix)
                self.problems.append(
                    RawProblem(
                        self.origin(sheet.name, sheet.rank, None),
                        f"unknown {self.what} {name} (allowed: {allowed})",
                    )
                )
                continue
            read[spec.name] = self._rows(spec, sheet, budget)
        header = self._header(read)
        collections = {key: self._records(key, read) for key in COLLECTIONS}
        return RawDocument(self.source, self.default_name, header, collections, self.problems)

    def _columns(self, spec: Sheet, sheet: SheetRows) -> list[str | None]:
        at = self.origin(spec.name, sheet.rank, 1)
        columns: list[str | None] = []
        for cell in sheet.header:
            name = self.convert(cell, "text")
            if name is None:
                columns.append(None)
                continue
            name = str(name).strip()
            if name not in spec.kinds:
                self.problems.append(
                    RawProblem(
                        at,
                        f"unknown column (allowed: {', '.join(spec.columns)})",
                        field=field_name(name),
                    )
                )
                name = None
            elif name in columns:
                self.problems.append(RawProblem(at, "a second column of this name", field=name))
                name = None
            columns.append(name)
        return columns

    def _rows(self, spec: Sheet, sheet: SheetRows, budget: RecordBudget) -> list[_Read]:
        columns = self._columns(spec, sheet)
        out: list[_Read] = []
        for number, cells in sheet.rows:
            values: dict[str, object] = {}
            stray = False
            for position, cell in enumerate(cells):
                column = columns[position] if position < len(columns) else None
                if column is None:
                    stray = stray or self.convert(cell, "text") is not None
                    continue
                value = self.convert(cell, spec.kinds[column])
                if value is not None:
                    values[column] = value
            if not values and not stray:
                continue  # a blank row
            budget.take()
            at = self.origin(spec.name, sheet.rank, number)
            if stray:
                self.problems.append(RawProblem(at, "a value in a column without a header"))
            out.append(_Read(at, values))
        return out

    def _header(self, read: dict[str, list[_Read]]) -> RawRecord:
        fields: dict[str, object] = {}
        origins: dict[str, Origin] = {}
        for name in ("scenario", "parameters"):
            rows = read.get(name, [])
            for extra in rows[1:]:
                self.problems.append(
                    RawProblem(extra.origin, f"the {name} {self.what} holds one row, not several")
                )
            if rows:
                origins[name] = rows[0].origin
                if name == "scenario":
                    fields.update(rows[0].values)
                else:
                    fields["parameters"] = rows[0].values
        whole = origins.get("scenario", Origin(self.source, unit="row"))
        params = origins.get("parameters", whole)
        return RawRecord(
            0, fields, whole, lambda path: params if path[:1] == ("parameters",) else whole
        )

    def _records(self, key: str, read: dict[str, list[_Read]]) -> list[RawRecord]:
        rows = read.get(key, [])
        for spec in SHEETS:
            if spec.parent == key:
                self._attach(spec, rows, read.get(spec.name, []))
        out: list[RawRecord] = []
        for index, row in enumerate(rows):
            fields = dict(row.values)
            for nested, children in row.children.items():
                fields[nested] = [child.values for child in children]
            out.append(RawRecord(index, fields, row.origin, _locate(row)))
        return out

    def _attach(self, spec: Sheet, parents: list[_Read], children: list[_Read]) -> None:
        assert spec.key is not None and spec.nested is not None and spec.parent is not None
        by_id: dict[str, list[_Read]] = {}
        for parent in parents:
            ident = parent.values.get("id")
            if isinstance(ident, str) and (
                spec.parent != "events" or parent.values.get("op") == "divert"
            ):
                by_id.setdefault(ident, []).append(parent)
        kind = _PARENT_KIND[spec.parent]
        for index, child in enumerate(children):
            label = f"{spec.name}[{index}]"
            ident = child.values.pop(spec.key, None)
            if ident is None:
                self.problems.append(
                    RawProblem(child.origin, "missing required field", label, spec.key)
                )
                continue
            found = by_id.get(str(ident))
            if not found:
                self.problems.append(
                    RawProblem(
                        child.origin,
                        f"unknown {kind} {shown(ident)}: no row of the {spec.parent} "
                        f"{self.what} has this id"
                        + (" and op divert" if spec.parent == "events" else ""),
                        label,
                        spec.key,
                    )
                )
                continue
            # Exact duplicates of a record (kept once by validation) get the same rows.
            for parent in found:
                parent.children.setdefault(spec.nested, []).append(child)


def _locate(row: _Read) -> Callable[[FieldPath], Origin]:
    def locate(path: FieldPath) -> Origin:
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            children = row.children.get(path[0], [])
            if 0 <= path[1] < len(children):
                return children[path[1]].origin
        return row.origin

    return locate
