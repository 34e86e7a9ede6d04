"""The CSV format: a folder with one UTF-8 CSV file per sheet of the spreadsheet layout.

``fleet/skus.csv``, ``fleet/lots.csv``... each with a header row of column names
(see ``_tables``). Files other than ``*.csv`` are ignored; an unknown ``.csv``
file is refused (a typo would otherwise drop its records). Errors name
``file:row``, the row as a spreadsheet program numbers it (the header is row 1).

Writing quotes what needs quoting and starts the file with a byte-order mark, so
spreadsheet programs read it as UTF-8. A text cell that a spreadsheet program
would run as a formula (starting with ``= + - @``, after any quotes) is written
with one more leading ``'``, and reading removes it again: a CSV export opened in
a spreadsheet never runs what a user typed into a source or a reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from gpuledger.domain import Scenario, ScenarioError, limits
from gpuledger.scenario._raw import Origin, RawDocument
from gpuledger.scenario._tables import (
    SHEET_BY_NAME,
    SHEETS,
    SheetRows,
    TableReader,
    tables_of,
    text_cell,
)

SUFFIX = ".csv"
_FORMULA_START = ("=", "+", "-", "@")
#: Files looked at in a folder: beyond this, the folder is not a scenario.
_ENTRIES_MAX = 1_000


def _runs_as_formula(text: str) -> bool:
    return text.lstrip("'").startswith(_FORMULA_START)


def escape_text(text: str) -> str:
    """Text for a CSV cell: one more leading ``'`` if a spreadsheet would run it."""
    return "'" + text if _runs_as_formula(text) else text


def unescape_text(text: str) -> str:
    """The inverse of :func:`escape_text`."""
    return text[1:] if text.startswith("'") and _runs_as_formula(text[1:]) else text


def _cell(value: object, kind: str) -> object:
    if not isinstance(value, str):  # the header is read as text too
        return None if value is None else text_cell(str(value), kind)
    return text_cell(unescape_text(value) if kind == "text" else value, kind)


def read_csv_folder(folder: Path, *, default_name: str) -> RawDocument:
    """Read a folder of CSV files into raw records with their ``file:row``.

    Raises:
        InputTooLarge: the CSV files total over ``limits.FILE_MAX_BYTES`` (checked
            before reading) or hold more than ``limits.RECORDS_MAX`` rows.
        ScenarioError: the folder or a file cannot be read, or is not UTF-8 CSV.
    """
    files = _csv_files(folder)
    limits.check_size(sum(size for _, size in files), f"the CSV files of {folder}")
    order = {s.name: rank for rank, s in enumerate(SHEETS)}

    def rank_of(path: Path) -> int:
        return order.get(path.stem, len(order))

    def origin(name: str, rank: int, row: int | None) -> Origin:
        return Origin(str(folder / (name + SUFFIX)), row, rank=rank, unit="row")

    reader = TableReader(str(folder), default_name, origin, _cell, what="file", suffix=SUFFIX)
    sheets: list[SheetRows] = []
    for path in sorted((path for path, _ in files), key=lambda p: (rank_of(p), p.name)):
        if path.stem not in SHEET_BY_NAME:
            sheets.append(SheetRows(path.stem, rank_of(path), [], []))
            continue
        rows = _rows(path, _text_of(path))
        header = next(rows, (1, []))[1]
        sheets.append(SheetRows(path.stem, rank_of(path), header, rows))
    return reader.read(sheets)


def _text_of(path: Path) -> str:
    # Read whole (the folder's size is bounded) so a decoding error has its line.
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"cannot read the file: not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=str(path),
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from exc


def _csv_files(folder: Path) -> list[tuple[Path, int]]:
    try:
        entries = []
        for n, path in enumerate(folder.iterdir()):
            if n >= _ENTRIES_MAX:
                raise ScenarioError(
                    f"the folder holds more than {_ENTRIES_MAX:,} entries; a scenario folder "
                    "holds one CSV file per sheet",
                    file=str(folder),
                )
            if path.suffix.lower() == SUFFIX and path.is_file():
                entries.append((path, path.stat().st_size))
    except OSError as exc:
        raise ScenarioError(
            f"cannot read the folder: {exc.strerror or exc}", file=str(folder)
        ) from exc
    return entries


def _rows(path: Path, text: str) -> Iterator[tuple[int, Sequence[str]]]:
    # Rows are numbered as a spreadsheet program shows them (a quoted cell may span lines).
    number = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), 1):
            yield number, row
    except csv.Error as exc:
        raise ScenarioError(f"not valid CSV: {exc}", file=str(path), line=number + 1) from exc


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return escape_text(value)
    return str(value)


def write_csv_folder(scenario: Scenario, folder: Path) -> None:
    """Write one CSV file per sheet into ``folder`` (created when missing).

    Every sheet is written, empty ones as a header row, so the folder is also a
    template. Other files in the folder are left alone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tables = tables_of(scenario)
    for sheet in SHEETS:
        with (folder / (sheet.name + SUFFIX)).open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(sheet.columns)
            for row in tables[sheet.name]:
                writer.writerow([_text(row.get(column)) for column in sheet.columns])
