"""Scenarios as XLSX workbooks and CSV folders: same records, same checks, exact round trips.

Errors name ``workbook sheet!row`` (XLSX) or ``file:row`` (CSV), the record and the
field, as YAML errors name ``file:line``.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings

from gpuledger.domain import InvalidInput, Scenario, ScenarioError
from gpuledger.scenario import (
    dump_scenario,
    format_of,
    load_scenario,
    parse_scenario,
    parse_workbook,
    write_scenario,
)
from tests.scenario.fleet import BASE
from tests.scenario.strategies import scenarios

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _base() -> Scenario:
    return parse_scenario(BASE, filename="base.yaml")


# --------------------------------------------------------------------------- round trips


@SLOW
@given(scenarios())
def test_yaml_to_xlsx_to_yaml_is_exact(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.xlsx"
        write_scenario(scenario, path)
        again = load_scenario(path)
    assert again == scenario
    assert dump_scenario(again) == dump_scenario(scenario)


@SLOW
@given(scenarios())
def test_yaml_to_csv_to_yaml_is_exact(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "fleet"
        write_scenario(scenario, folder)
        again = load_scenario(folder)
    assert again == scenario
    assert dump_scenario(again) == dump_scenario(scenario)


def test_the_example_workbook_imports_as_the_example_yaml() -> None:
    assert load_scenario(EXAMPLES / "small.xlsx") == load_scenario(EXAMPLES / "small.yaml")


def test_the_example_workbook_is_what_the_writer_gives(tmp_path: Path) -> None:
    # examples/small.xlsx is generated from small.yaml; regenerate it when either changes.
    fresh = tmp_path / "small.xlsx"
    write_scenario(load_scenario(EXAMPLES / "small.yaml"), fresh)
    assert _cells(fresh) == _cells(EXAMPLES / "small.xlsx")


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path)
    return {s.title: [tuple(row) for row in s.iter_rows(values_only=True)] for s in book}


def test_the_demo_round_trips_through_both(tmp_path: Path) -> None:
    from gpuledger.scenario import demo_scenario_path

    demo = load_scenario(demo_scenario_path())
    write_scenario(demo, tmp_path / "demo.xlsx")
    write_scenario(demo, tmp_path / "demo", format="csv")
    assert load_scenario(tmp_path / "demo.xlsx") == demo
    assert load_scenario(tmp_path / "demo") == demo


def test_a_workbook_in_memory_reads_as_its_file(tmp_path: Path) -> None:
    path = tmp_path / "fleet.xlsx"
    write_scenario(_base(), path)
    assert parse_workbook(path.read_bytes(), filename="fleet.xlsx") == load_scenario(path)


def test_every_sheet_is_written_even_empty_so_the_workbook_is_a_template(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_scenario(Scenario(name="empty", as_of=date(2024, 1, 1)), path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:4] == ["scenario", "parameters", "skus", "vendors"]
    assert [c.value for c in book["lots"][1]][:3] == ["id", "order", "qty"]
    assert book["lots"].max_row == 1


@pytest.mark.parametrize(
    ("path", "writing", "expected"),
    [
        ("fleet.xlsx", False, "xlsx"),
        ("fleet.XLSX", True, "xlsx"),
        ("fleet.yaml", False, "yaml"),
        ("fleet.yml", True, "yaml"),
        ("fleet.txt", True, "yaml"),
        ("fleet", True, "csv"),
    ],
)
def test_the_format_follows_the_path(path: str, writing: bool, expected: str) -> None:
    assert format_of(Path(path), writing=writing) == expected


def test_a_folder_is_csv_and_a_trailing_slash_makes_one(tmp_path: Path) -> None:
    assert format_of(tmp_path, writing=False) == "csv"
    write_scenario(_base(), f"{tmp_path}/out.d/")
    assert (tmp_path / "out.d" / "lots.csv").is_file()
    assert load_scenario(tmp_path / "out.d") == _base()


def test_a_single_csv_file_is_refused_naming_the_folder_layout(tmp_path: Path) -> None:
    (tmp_path / "lots.csv").write_text("id\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="a CSV scenario is a folder"):
        load_scenario(tmp_path / "lots.csv")


# --------------------------------------------------------------------------- XLSX errors


def _workbook(tmp_path: Path, edits: dict[tuple[str, int, str], Any]) -> Path:
    """The base fleet as a workbook, with cells edited: (sheet, row, column) -> value."""
    path = tmp_path / "fleet.xlsx"
    write_scenario(_base(), path)
    book = openpyxl.load_workbook(path)
    for (sheet, row, column), value in edits.items():
        ws = book[sheet]
        header = [c.value for c in ws[1]]
        ws.cell(row=row, column=header.index(column) + 1, value=value)
    book.save(path)
    return path


XLSX_CASES: dict[str, tuple[dict[tuple[str, int, str], Any], str, str | None, str | None, str]] = {
    "unknown-org": (
        {("lots", 4, "consignee"): "tezla"},
        "lots!4",
        "lots[2] LOT-X1",
        "consignee",
        "unknown org 'tezla' (known: tesla, x)",
    ),
    "qty-text": (
        {("lots", 3, "qty"): "lots"},
        "lots!3",
        "lots[1] LOT-T2",
        "qty",
        "valid integer, got 'lots'",
    ),
    "qty-fraction": (
        {("lots", 3, "qty"): 8000.5},
        "lots!3",
        "lots[1] LOT-T2",
        "qty",
        "valid integer, got 8000.5",
    ),
    "qty-too-large": (
        {("orders", 2, "qty"): 2**64},
        "orders!2",
        "orders[0] PO-T",
        "qty",
        "outside 1..1000000000",
    ),
    "date-9999": (
        {("targets", 2, "by"): datetime(9999, 12, 31)},
        "targets!2",
        "targets[0] tesla-eoy",
        "by",
        "outside 1900-01-01..2999-12-31",
    ),
    "timestamp": (
        {("lots", 3, "ships_on"): datetime(2024, 2, 5, 10, 30)},
        "lots!3",
        "lots[1] LOT-T2",
        "ships_on",
        "got a timestamp",
    ),
    "nested-row": (
        {("lead_time", 2, "p50_days"): 0},
        "lead_time!2",
        "vendors[0] nvidia",
        "lead_time[0].p50_days",
        "p50_days 0 is outside",
    ),
    "nested-cross-record": (
        {("payback", 2, "qty"): 6001},
        "payback!2",
        "events[0] DIV-1",
        "payback[0].qty",
        "beyond lot LOT-X1's qty 6000",
    ),
    "nested-unknown-key": (
        {("lead_time", 2, "vendor"): "amd"},
        "lead_time!2",
        "lead_time[0]",
        "vendor",
        "unknown vendor 'amd'",
    ),
    "payback-of-a-deploy": (
        {("payback", 2, "diversion"): "DEP-1"},
        "payback!2",
        "payback[0]",
        "diversion",
        "no row of the events sheet has this id and op divert",
    ),
    "header-row": (
        {("scenario", 2, "as_of"): "2024-06-31"},
        "scenario!2",
        None,
        "as_of",
        "not a valid date (YYYY-MM-DD): '2024-06-31'",
    ),
    "parameters-row": (
        {("parameters", 2, "claim_tolerance"): 1},
        "parameters!2",
        "parameters",
        "claim_tolerance",
        "less than 1",
    ),
    "id-with-bidi": (
        {("groups", 2, "id"): "g\u202e"},
        "groups!2",
        "groups[0]",
        "id",
        "is not an id",
    ),
    "unknown-op": (
        {("events", 3, "op"): "teleport"},
        "events!3",
        "events[1] DEP-1",
        "op",
        "unknown op 'teleport'",
    ),
    "field-of-another-op": (
        {("events", 3, "to"): "x"},
        "events!3",
        "events[1] DEP-1",
        "to",
        "unknown field (allowed: op, id, qty, on, org",
    ),
}


@pytest.mark.parametrize("case", XLSX_CASES.values(), ids=XLSX_CASES.keys())
def test_a_bad_cell_refuses_the_workbook_naming_sheet_row_record_and_field(
    tmp_path: Path, case: tuple[dict[tuple[str, int, str], Any], str, str | None, str | None, str]
) -> None:
    edits, place, record, field, reason = case
    path = _workbook(tmp_path, edits)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert reason in error.reason
    assert (error.file, error.line, error.record, error.field) == (
        f"{path} {place}",
        None,
        record,
        field,
    )
    assert str(error).startswith(f"{path} {place}: ")


def test_an_unknown_sheet_and_column_are_refused(tmp_path: Path) -> None:
    path = _workbook(tmp_path, {})
    book = openpyxl.load_workbook(path)
    book.create_sheet("Notes").append(["anything"])
    book["lots"].cell(row=1, column=12, value="colour")
    book.save(path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.file, caught.value.field) == (f"{path} lots!1", "colour")
    assert "unknown column (allowed: id, order, qty" in caught.value.reason
    notes = getattr(caught.value, "__notes__", [])
    assert any("Notes: unknown sheet 'Notes' (allowed: scenario, parameters" in n for n in notes)


def test_dates_may_be_date_cells_or_iso_text(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path,
        {("lots", 3, "ships_on"): "2024-02-05", ("lots", 3, "arrives_on"): datetime(2024, 2, 19)},
    )
    assert load_scenario(path) == _base()


def test_numbers_and_dates_typed_into_text_columns_read_as_their_text(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path, {("groups", 2, "name"): 2023, ("groups", 2, "source"): datetime(2024, 1, 5)}
    )
    (group,) = load_scenario(path).groups
    assert (group.name, group.source) == ("2023", "2024-01-05")


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    path = _workbook(tmp_path, {})
    book = openpyxl.load_workbook(path)
    book["lots"].insert_rows(3, amount=2)
    book.save(path)
    assert load_scenario(path) == _base()
    book["lots"].cell(row=6, column=6, value="tezla")  # LOT-X1, two rows further down
    book.save(path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.file, caught.value.record) == (f"{path} lots!6", "lots[2] LOT-X1")


def test_text_that_looks_like_a_formula_is_written_and_read_as_text(tmp_path: Path) -> None:
    base = _base()
    risky = '=HYPERLINK("http://example.invalid","x")'
    group = base.groups[0].__class__(id="g", name=risky, source="+1 555")
    scenario = Scenario(**{**base.__dict__, "groups": (group,)})
    path = tmp_path / "risky.xlsx"
    write_scenario(scenario, path)
    assert load_scenario(path).groups == (group,)
    cell = openpyxl.load_workbook(path)["groups"]["B2"]
    assert (cell.value, cell.data_type) == (risky, "s")


def _with_formula(path: Path, cell: str, formula: str, cached: str | None) -> None:
    """Put a formula (with or without a saved value) into a cell of the lots sheet."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    names = openpyxl.load_workbook(path).sheetnames
    part = f"xl/worksheets/sheet{names.index('lots') + 1}.xml"
    xml = parts[part].decode()
    value = f"<v>{cached}</v>" if cached is not None else ""
    xml, n = re.subn(
        rf'<c r="{cell}"( [^>]*)?>.*?</c>', f'<c r="{cell}"><f>{formula}</f>{value}</c>', xml
    )
    assert n == 1
    parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_a_formula_reads_as_its_saved_value_and_is_never_evaluated(tmp_path: Path) -> None:
    path = _workbook(tmp_path, {})
    _with_formula(path, "C3", "1/0", "8000")  # lots[1].qty: the saved value, not #DIV/0!
    assert load_scenario(path) == _base()


def test_a_formula_without_a_saved_value_is_a_blank_cell(tmp_path: Path) -> None:
    path = _workbook(tmp_path, {})
    _with_formula(path, "C3", 'WEBSERVICE("http://example.invalid")', None)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.file, caught.value.field) == (f"{path} lots!3", "qty")
    assert caught.value.reason == "missing required field"


# --------------------------------------------------------------------------- CSV


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    write_scenario(_base(), folder)
    return folder


def _rewrite(path: Path, edit: Any) -> None:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)


def test_a_bad_csv_cell_names_file_row_record_and_field(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _rewrite(folder / "lots.csv", lambda rows: rows[3].__setitem__(5, "tezla"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    error = caught.value
    assert (error.file, error.line, error.record, error.field) == (
        str(folder / "lots.csv"),
        4,
        "lots[2] LOT-X1",
        "consignee",
    )
    assert str(error).startswith(f"{folder / 'lots.csv'}:4: lots[2] LOT-X1 field 'consignee': ")


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("8000.0", "valid integer, got '8000.0'"),
        ("1e3", "valid integer, got '1e3'"),
        ("true", "valid integer, got 'true'"),
        ("=4000*2", "valid integer, got '=4000*2'"),
        (str(2**64), "outside 1..1000000000"),
        ("1" * 5000, "valid integer, got '1111"),
    ],
    ids=["float", "exponent", "boolean", "formula", "2**64", "5000-digits"],
)
def test_a_csv_quantity_must_be_a_whole_number_in_bounds(
    tmp_path: Path, cell: str, reason: str
) -> None:
    folder = _folder(tmp_path)
    _rewrite(folder / "lots.csv", lambda rows: rows[2].__setitem__(2, cell))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    assert reason in caught.value.reason
    assert (caught.value.line, caught.value.field) == (3, "qty")


def test_csv_rows_are_counted_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    folder = _folder(tmp_path)

    def edit(rows: list[list[str]]) -> None:
        rows[1][6] = "two\nlines"  # LOT-T1's source spans two lines of the file
        rows[3][5] = "tezla"

    _rewrite(folder / "lots.csv", edit)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    assert caught.value.line == 4


def test_formula_looking_text_is_escaped_in_csv_and_read_back_exactly(tmp_path: Path) -> None:
    base = _base()
    texts = ["=1+1", "+1 555", "-5% yoy", "@SUM(A1)", "'=quoted", "'plain", "a=b"]
    groups = tuple(base.groups[0].__class__(id=f"g{i}", name=t) for i, t in enumerate(texts))
    scenario = Scenario(**{**base.__dict__, "groups": base.groups + groups})
    write_scenario(scenario, tmp_path / "out", format="csv")
    with (tmp_path / "out" / "groups.csv").open(encoding="utf-8-sig", newline="") as stream:
        written = [row[1] for row in csv.reader(stream)][2:]
    assert written == ["'=1+1", "'+1 555", "'-5% yoy", "'@SUM(A1)", "''=quoted", "'plain", "a=b"]
    assert load_scenario(tmp_path / "out") == scenario


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"id,name\ng,a\x00b\n", "U\\+0000, which is not printable"),
        (b"id,name\ng,\xff\xfe\n", "not UTF-8"),
        (b'id,name\ng,"unclosed\n', "not valid CSV"),
        (b"id,name\ng," + b"x" * 200_000 + b"\n", "not valid CSV"),
    ],
    ids=["nul", "not-utf8", "unclosed-quote", "huge-field"],
)
def test_a_broken_csv_file_is_one_error_with_its_row(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    folder = _folder(tmp_path)
    (folder / "groups.csv").write_bytes(content)
    with pytest.raises(ScenarioError, match=reason) as caught:
        load_scenario(folder)
    assert caught.value.file == str(folder / "groups.csv") and caught.value.line == 2


def test_an_unknown_csv_file_is_refused_and_other_files_ignored(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "README.md").write_text("notes", encoding="utf-8")
    assert load_scenario(folder) == _base()
    (folder / "lot.csv").write_text("id\nL\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"unknown file 'lot\.csv' \(allowed: scenario\.csv"):
        load_scenario(folder)


def test_a_csv_written_by_a_spreadsheet_program_reads(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8": a byte-order mark, CRLF, TRUE/FALSE, padded numbers.
    folder = _folder(tmp_path)
    (folder / "skus.csv").write_bytes(
        "\ufeffid,name,annual_failure_rate,source,assumed\r\n".encode()
        + b'H100,Hopper," 0.09 ",,TRUE\r\n'
    )
    (sku,) = load_scenario(folder).skus
    assert (sku.name, sku.annual_failure_rate, sku.assumed) == ("Hopper", 0.09, True)


def test_errors_are_invalid_input_for_every_interface(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        load_scenario(tmp_path / "missing.xlsx")
    with pytest.raises(InvalidInput):
        load_scenario(tmp_path / "no-such-folder" / "")
