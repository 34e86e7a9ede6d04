"""The XLSX format: a workbook with one sheet per record kind (the layout of ``_tables``).

Read with openpyxl in read-only mode, writes with openpyxl in write-only mode (one
library both ways, streaming, with type stubs; defusedxml guards its XML parsing).
Errors name ``workbook sheet!row``.

Hostile workbooks: the file's size is checked before it is read, and the sizes
its zip archive declares, summed, are checked before anything is expanded
(Python's zipfile never expands an entry beyond its declared size), both against
``limits.FILE_MAX_BYTES``; rows past ``limits.RECORDS_MAX`` stop the reader; only
the first ``COLUMNS_MAX`` columns are read. Formulas are never evaluated: a
formula cell reads as the value the spreadsheet program saved with it (a formula
saved without one reads as a blank cell). Links to other workbooks are not
followed. Dates may be date cells or ISO text.

Writing: text is always written as text (never a formula, even when it starts
with ``=``), dates as date cells shown ``yyyy-mm-dd``, and a float that Excel's 16
significant digits would not keep exactly is written as its text, so that every
value reads back as it was.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, cast

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from gpuledger.domain import InputTooLarge, InvalidInput, Scenario, ScenarioError, limits
from gpuledger.scenario._raw import Origin, RawDocument, shown
from gpuledger.scenario._tables import SHEETS, SheetRows, TableReader, tables_of, typed_cell

#: Columns read per row: the widest sheet has 14; cells beyond are never looked at.
COLUMNS_MAX = 64
#: Entries of the zip archive: a workbook of this layout has a few dozen.
ENTRIES_MAX = 10_000
DATE_FORMAT = "yyyy-mm-dd"


def read_workbook(path: Path, *, default_name: str) -> RawDocument:
    """Read an XLSX workbook file into raw records with their ``sheet!row``.

    Raises:
        InputTooLarge: the file, or its content once expanded, is over
            ``limits.FILE_MAX_BYTES``, or it holds more than ``limits.RECORDS_MAX`` rows.
        ScenarioError: the file cannot be read or is not a workbook.
    """
    source = str(path)
    try:
        limits.check_size(path.stat().st_size, source)
        with path.open("rb") as stream:
            data = stream.read(limits.FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=source) from exc
    return read_workbook_bytes(data, source=source, default_name=default_name)


def read_workbook_bytes(data: bytes, *, source: str, default_name: str) -> RawDocument:
    """Read an XLSX workbook held in memory (see :func:`read_workbook`)."""
    limits.check_size(len(data), source)
    _check_archive(data, source)
    reader = TableReader(
        source,
        default_name,
        lambda sheet, rank, row: Origin(source, row, sheet=sheet, rank=rank, unit="row"),
        typed_cell,
    )
    where = {"sheet": "", "row": 0}
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, styles): not ours.
            warnings.simplefilter("ignore")
            book = load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False, rich_text=False
            )
            try:
                return reader.read(_sheets(book.worksheets, where))
            finally:
                book.close()
    except InvalidInput:
        raise
    except Exception as exc:
        # openpyxl parses untrusted bytes and can fail in many ways (bad XML,
        # missing parts, a date past year 9999): any of them means the workbook
        # cannot be read, and says so with where it stopped.
        place = f"{source} {where['sheet']}!{where['row']}" if where["sheet"] else source
        raise ScenarioError(f"not a readable .xlsx workbook: {_why(exc)}", file=place) from exc


def _why(exc: BaseException) -> str:
    """The innermost cause of a failure, in one short line (openpyxl wraps its errors)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = (str(exc).splitlines() or [""])[0]
    text = ascii(text)[1:-1] if not text.isascii() or not text.isprintable() else text
    return f"{type(exc).__name__}: {text[:120]}" + ("..." if len(text) > 120 else "")


def _check_archive(data: bytes, source: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ScenarioError(
            f"not an .xlsx workbook (not a zip archive: {shown(str(exc))})", file=source
        ) from exc
    if len(entries) > ENTRIES_MAX:
        raise InputTooLarge(f"{source} holds {len(entries):,} parts (at most {ENTRIES_MAX:,})")
    expanded = sum(entry.file_size for entry in entries)
    if expanded > limits.FILE_MAX_BYTES:
        raise InputTooLarge(
            f"{source} expands to {expanded:,} bytes (at most {limits.FILE_MAX_BYTES:,})"
        )


def _sheets(worksheets: Sequence[Any], where: dict[str, Any]) -> Iterator[SheetRows]:
    for rank, sheet in enumerate(worksheets):
        where["sheet"], where["row"] = sheet.title, 1
        if not isinstance(sheet, ReadOnlyWorksheet):
            yield SheetRows(sheet.title, rank, [], [])  # a chart sheet: unknown, reported
            continue
        rows: Iterator[Sequence[object]] = cast(Any, sheet).iter_rows(
            max_col=COLUMNS_MAX, values_only=True
        )
        header = next(rows, ())
        yield SheetRows(sheet.title, rank, header, _numbered(rows, where))


def _numbered(
    rows: Iterator[Sequence[object]], where: dict[str, Any]
) -> Iterator[tuple[int, Sequence[object]]]:
    for number, row in enumerate(rows, start=2):
        where["row"] = number
        yield number, row


def _cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would make "=..." a formula
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=datetime.combine(value, time()))
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, float) and float(f"{value:.16g}") != value:
        # openpyxl (like Excel) writes 16 significant digits; keep the exact value as text.
        return _cell(sheet, repr(value))
    return value


def write_workbook(scenario: Scenario, path: Path) -> None:
    """Write the scenario as an XLSX workbook, one sheet per record kind, replacing ``path``.

    Every sheet is written, empty ones with their header row, so the workbook is
    also a template.
    """
    book = Workbook(write_only=True)
    tables = tables_of(scenario)
    bold = Font(bold=True)
    for sheet in SHEETS:
        out = book.create_sheet(sheet.name)
        out.freeze_panes = "A2"
        for letter, column in zip(_letters(len(sheet.columns)), sheet.columns, strict=True):
            out.column_dimensions[letter].width = max(12, len(column) + 4)
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(out, value=column)
            cell.font = bold
            header.append(cell)
        out.append(header)
        for row in tables[sheet.name]:
            out.append([_cell(out, row.get(column)) for column in sheet.columns])
    book.properties.creator = "gpuledger"
    book.save(str(path))


def _letters(n: int) -> list[str]:
    assert n <= 26, "every sheet of the layout fits in columns A..Z"
    return [chr(ord("A") + i) for i in range(n)]
