"""Hostile scenario text: bombs, depth, size and record counts are refused before they cost.

A refusal is one line naming the problem (a ScenarioError, or InputTooLarge for a
stated limit), never a RecursionError, a hang or a gigabyte of memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuledger.domain import InputTooLarge, InvalidInput, ScenarioError, limits
from gpuledger.scenario import load_scenario, parse_scenario

# The classic "billion laughs": nine levels of ten aliases each, about 1 KB of text.
BILLION_LAUGHS = "\n".join(
    [
        "as_of: 2024-01-01",
        'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"a{n}: &a{n} [{','.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)),
        "name: *a9",
        "",
    ]
)


def test_the_billion_laughs_is_refused_at_once_in_one_line() -> None:
    assert len(BILLION_LAUGHS) < 1100
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BILLION_LAUGHS, filename="laughs.yaml")
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    assert message.startswith("laughs.yaml:2: ")
    assert "anchors and aliases" in message


@pytest.mark.parametrize(
    "text",
    [
        "as_of: 2024-01-01\nskus:\n  - &h {id: H100}\n",
        "as_of: &d 2024-01-01\n",
        "as_of: 2024-01-01\nskus: [{id: H100}]\norgs: [{id: a, name: *x}]\n",
        "as_of: 2024-01-01\ngroups:\n  - <<: {id: g}\n    name: merged\n",
    ],
    ids=["anchor", "anchor-on-a-scalar", "alias-alone", "merge-key"],
)
def test_anchors_aliases_and_merge_keys_are_refused(text: str) -> None:
    with pytest.raises(ScenarioError, match=r"anchors and aliases|merge key"):
        parse_scenario(text)


def _nested(depth: int, *, flow: bool) -> str:
    if flow:
        return "as_of: 2024-01-01\nskus: " + "[" * depth + "]" * depth + "\n"
    lines = ["as_of: 2024-01-01", "skus:"]
    lines += [" " * (2 * n) + "- " + "x:" for n in range(1, depth)]
    return "\n".join(lines) + " 1\n"


@pytest.mark.parametrize(
    "text",
    [
        _nested(100_000, flow=True),
        _nested(2_000, flow=False),
        '{"as_of": "2024-01-01", "skus": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"as_of": "2024-01-01", "skus": [' + '{"a": ' * 20_000 + "1" + "}" * 20_000 + "]}",
    ],
    ids=["flow-lists", "block-mappings", "json-lists", "json-objects"],
)
def test_deep_nesting_is_refused_not_a_recursion_error(text: str) -> None:
    with pytest.raises(InputTooLarge, match=f"nested deeper than {limits.NESTING_MAX}"):
        parse_scenario(text)


def test_nesting_within_the_limit_is_only_a_field_problem() -> None:
    text = _nested(limits.NESTING_MAX - 1, flow=True)
    with pytest.raises(ScenarioError, match="must be a mapping"):
        parse_scenario(text)


def test_text_beyond_the_size_limit_is_refused_before_parsing() -> None:
    # Two bytes per character: within the limit in characters, beyond it in bytes.
    text = "as_of: 2024-01-01\n#" + "é" * (limits.FILE_MAX_BYTES // 2)
    with pytest.raises(InputTooLarge, match="bytes"):
        parse_scenario(text, filename="big.yaml")


def test_a_file_beyond_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as out:
        out.truncate(limits.FILE_MAX_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(InputTooLarge, match=f"at most {limits.FILE_MAX_BYTES:,}"):
        load_scenario(path)


def test_more_records_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "RECORDS_MAX", 5)
    text = "as_of: 2024-01-01\ngroups:\n" + "".join(f"  - {{id: g{n}}}\n" for n in range(6))
    with pytest.raises(InputTooLarge, match="more than 5 records"):
        parse_scenario(text)
    assert len(parse_scenario(text.replace("  - {id: g5}\n", "")).groups) == 5


@pytest.mark.parametrize(
    "value",
    ["1" * 5_000, "1" + "_0" * 5_000, "0b" + "1" * 100_000, "-0x" + "f" * 100_000],
    ids=["5000-digits", "underscores", "binary", "negative-hex"],
)
def test_a_number_too_long_to_be_a_quantity_is_refused_on_its_line(value: str) -> None:
    # Python refuses to convert decimal numbers beyond 4,300 digits (and would take
    # quadratic time to): the reader refuses any number longer than a bound first.
    text = f"as_of: 2024-01-01\nparameters:\n  horizon_days: {value}\n"
    with pytest.raises(ScenarioError, match=r"a number of .* characters") as caught:
        parse_scenario(text, filename="n.yaml")
    assert caught.value.line == 3
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("field", "value"),
    [("horizon_days", str(2**200)), ("claim_tolerance", "1.0e+99999"), ("claim_tolerance", ".nan")],
    ids=["2**200", "float-overflow", "nan"],
)
def test_a_huge_or_undefined_number_is_a_field_problem(field: str, value: str) -> None:
    text = f"as_of: 2024-01-01\nparameters:\n  {field}: {value}\n"
    with pytest.raises(ScenarioError, match=r"outside|finite number") as caught:
        parse_scenario(text, filename="n.yaml")
    assert (caught.value.line, caught.value.record, caught.value.field) == (3, "parameters", field)
    assert len(str(caught.value)) < 300


def test_sexagesimal_numbers_are_text() -> None:
    # YAML 1.1 reads 1:30 as 90 and 1:2:3:...:59 as a huge base-60 number, at a cost
    # quadratic in its length; the scenario dialect reads them as text (YAML 1.2).
    text = "as_of: 2024-01-01\ngroups: [{id: g, name: 10:30}]\n"
    assert parse_scenario(text).groups[0].name == "10:30"
    long = ":".join(["59"] * 50_000)
    with pytest.raises(ScenarioError, match="valid integer"):
        parse_scenario(f"as_of: 2024-01-01\nparameters: {{horizon_days: {long}}}\n")


@pytest.mark.parametrize(
    "text",
    [
        "as_of: 2024-01-01\n1: one\n",
        "as_of: 2024-01-01\nskus: [{id: H100, ~: x}]\n",
        "as_of: 2024-01-01\nskus: [{id: H100, [a]: x}]\n",
        "as_of: 2024-01-01\nskus: [{id: H100, 2024-01-01: x}]\n",
    ],
    ids=["int-key", "null-key", "list-key", "date-key"],
)
def test_a_key_that_is_not_text_is_refused(text: str) -> None:
    with pytest.raises(ScenarioError, match="field names are text"):
        parse_scenario(text)


@pytest.mark.parametrize(
    "text",
    [
        "as_of: 2024-01-01\nskus: !!python/object:os.system [echo]\n",
        "as_of: 2024-01-01\nskus: !!binary aGVsbG8=\n",
        "as_of: 2024-01-01\nskus: !!set {a, b}\n",
        "as_of: 2024-01-01\nname: !!str\n",
        "as_of: 2024-01-01\nskus:\n  - {id: " + "\u202e" + "x}\n",
        "as_of: 2024-01-01\nskus: [" + "{id: a}, " * 3 + "]\n" + "x" * 200_000,
        "as_of: 2024-01-01\n" + "skus: [{id: '" + "'" * 100_001 + "}]\n",
        "as_of: 2024-01-01\nevents: [{op: " + "o" * 100_000 + "}]\n",
        "as_of: 2024-01-01\n" + "x" * 100_000 + ": 1\n",
        "\ufeffas_of: 2024-01-01\n",
        "as_of: 2024-01-01\n---\nas_of: 2024-01-02\n",
    ],
    ids=[
        "python-tag",
        "binary",
        "set",
        "empty-str-tag",
        "bidi-in-id",
        "trailing-garbage",
        "quotes",
        "long-op",
        "long-key",
        "bom",
        "two-documents",
    ],
)
def test_odd_yaml_is_a_scenario_or_one_short_error(text: str) -> None:
    try:
        parse_scenario(text, filename="odd.yaml")
    except InvalidInput as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600, str(exc)[:1000]


# --------------------------------------------------------------------------- workbooks


def _workbook_bytes(tmp_path: Path) -> bytes:
    from gpuledger.scenario import write_scenario
    from tests.scenario.fleet import BASE

    path = tmp_path / "fleet.xlsx"
    write_scenario(parse_scenario(BASE), path)
    return path.read_bytes()


def _rezip(data: bytes, change: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change.get(name, src.read(name)))
    return out.getvalue()


def test_a_file_that_is_not_a_workbook_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "fleet.xlsx"
    path.write_text("as_of: 2024-01-01\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"not an \.xlsx workbook"):
        load_scenario(path)


def test_a_zip_bomb_is_refused_before_anything_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from gpuledger.scenario import _xlsx

    path = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as entry,
    ):
        for _ in range(limits.FILE_MAX_BYTES // 2**20 + 1):
            entry.write(b"\0" * 2**20)
    assert path.stat().st_size < 200_000

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(_xlsx, "load_workbook", never)
    with pytest.raises(InputTooLarge, match="expands to"):
        load_scenario(path)


def test_a_zip_that_lies_about_its_sizes_is_one_error(tmp_path: Path) -> None:
    # A part that declares 10 bytes and holds a megabyte passes the size check;
    # Python's zipfile never expands it past 10 bytes, and its checksum then fails.
    import io
    import struct
    import zipfile

    part = "xl/worksheets/sheet11.xml"  # lots
    data = _rezip(_workbook_bytes(tmp_path), {part: b"<x>" + b" " * 1_000_000 + b"</x>"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(part).header_offset
    central = data.rindex(part.encode()) - 46  # the part's central directory entry
    lie = bytearray(data)
    for offset in (local + 22, central + 24):  # "uncompressed size" in both headers
        lie[offset : offset + 4] = struct.pack("<I", 10)
    path = tmp_path / "liar.xlsx"
    path.write_bytes(bytes(lie))
    with pytest.raises(
        ScenarioError, match=r"liar\.xlsx: not a readable \.xlsx workbook: BadZipFile"
    ):
        load_scenario(path)


def test_an_xml_entity_bomb_in_a_sheet_is_refused(tmp_path: Path) -> None:
    data = _workbook_bytes(tmp_path)
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    import zipfile
    from io import BytesIO

    part = "xl/worksheets/sheet3.xml"  # skus
    xml = zipfile.ZipFile(BytesIO(data)).read(part).decode()
    declaration, rest = xml.split("?>", 1) if xml.startswith("<?xml") else ("", xml)
    root = rest.lstrip().split(" ", 1)[0].lstrip("<")
    bomb = (declaration + "?>" if declaration else "") + f"<!DOCTYPE {root} [{entities}]>" + rest
    bomb = bomb.replace("<t>H100</t>", "<t>&l9;</t>")
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(_rezip(data, {part: bomb.encode()}))
    with pytest.raises(ScenarioError, match=r"not a readable \.xlsx workbook: EntitiesForbidden"):
        load_scenario(path)


def test_a_workbook_with_more_rows_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    path = tmp_path / "rows.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "groups"
    sheet.append(["id"])
    for n in range(10):
        sheet.append([f"g{n}"])
    book.save(path)
    monkeypatch.setattr(limits, "RECORDS_MAX", 5)
    with pytest.raises(InputTooLarge, match="more than 5 records"):
        load_scenario(path)


def test_a_workbook_file_beyond_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as out:
        out.truncate(limits.FILE_MAX_BYTES + 1)
    with pytest.raises(InputTooLarge, match="bytes"):
        load_scenario(path)
