"""Property-based fuzzing of the readers: any input gives a Scenario or one short InvalidInput.

Hypothesis writes YAML (anchors, aliases, deep nesting, huge numbers, unicode,
wrong types), mutates a valid file, puts random values at random places of a valid
one, and flips bytes of a valid workbook and CSV folder. Whatever comes in, the
only outcomes are a Scenario (which then round-trips exactly: nothing partial) or
an InvalidInput subclass (ScenarioError, InputTooLarge...) whose message is one
line. Never another exception, a hang or a crash.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuledger.domain import InvalidInput, Scenario
from gpuledger.scenario import (
    dump_scenario,
    load_scenario,
    parse_scenario,
    parse_workbook,
    write_scenario,
)
from gpuledger.scenario._yaml import ScenarioDumper, ScenarioLoader
from tests.scenario.fleet import BASE

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))

FIELDS = [
    "name", "as_of", "parameters", "skus", "vendors", "groups", "orgs", "clusters", "orders",
    "lots", "targets", "claims", "events", "id", "qty", "on", "from", "to", "op", "lot",
    "lead_time", "payback", "schedule", "p50_days", "priority", "weight", "horizon_days",
]  # fmt: skip
HOSTILE = [
    "&a ", "*a", "<<: ", "\t", "\x00", "\x07", "\u202e", "\u200b", "\ufeff", "[[[[", "]]", "{",
    "9999-12-31", "0001-01-01", "2024-02-30", "1" * 30, "0x" + "f" * 60, "1:2:3", "- ", ": ",
    "\n", "'", '"', "#", "!!binary ", "!!python/object:os.system ", "? ", "---\n", "...\n",
    ".inf", ".nan", "~", "true", "on", "1e400", "-0", "%YAML 1.2\n",
]  # fmt: skip


def _outcome(read: Any) -> Scenario | None:
    """Run a reader; assert the only outcomes are a Scenario or one short InvalidInput."""
    try:
        scenario = read()
    except InvalidInput as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 1_000, message[:2_000]
        return None
    assert isinstance(scenario, Scenario)
    # Nothing partial: what was accepted is a whole scenario that writes and reads back.
    assert parse_scenario(dump_scenario(scenario)) == scenario
    return scenario


# --------------------------------------------------------------------------- YAML text

WORDS = [
    "1", "-1", "0", "1.5", ".inf", ".nan", "~", "null", "true", "no", "on", "2024-01-01",
    "9999-12-31", "2024-02-30", "1:30", "0x1F", "0b101", "1e400", "''", "H100", "tesla",
    "!!str 1", "!!binary aGk=", "!!set {a}", "!!python/name:os.system", "*a", "*b",
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20).map(json.dumps),  # double-quoted, any code point as an escape
)
keys = st.sampled_from(FIELDS) | st.text(max_size=8).map(json.dumps)


def _collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    lists = st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
    maps = st.lists(st.tuples(keys, children), max_size=4).map(
        lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
    )
    anchored = st.tuples(st.sampled_from(["&a ", "&b "]), children).map("".join)
    return lists | maps | anchored


nodes = st.recursive(scalars, _collections, max_leaves=25) | st.integers(1, 300).map(
    lambda depth: "[" * depth + "]" * depth
)


@FAST
@given(st.lists(st.tuples(keys, nodes), max_size=6), st.booleans())
def test_any_yaml_structure_is_a_scenario_or_one_error(
    entries: list[tuple[str, str]], block: bool
) -> None:
    if block:
        text = "as_of: 2024-01-01\n" + "".join(f"{k}: {v}\n" for k, v in entries)
    else:
        text = "{as_of: 2024-01-01" + "".join(f", {k}: {v}" for k, v in entries) + "}"
    _outcome(lambda: parse_scenario(text, filename="fuzz.yaml"))


@st.composite
def mutations(draw: st.DrawFn, text: str = BASE) -> str:
    """A valid file with a few random edits: deletions, insertions, replaced values."""
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "value", "duplicate"]))
        if edit == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 40)) :]
        elif edit == "insert":
            piece = draw(st.sampled_from(HOSTILE) | st.text(max_size=6))
            text = text[:position] + piece + text[position:]
        else:
            lines = text.splitlines(keepends=True)
            if not lines:  # earlier deletions left nothing: no line to edit
                continue
            n = draw(st.integers(0, len(lines) - 1))
            if edit == "duplicate":
                lines.insert(n, lines[n])
            elif ": " in lines[n]:
                head = lines[n].split(": ", 1)[0]
                lines[n] = f"{head}: {draw(scalars | st.sampled_from(HOSTILE))}\n"
            text = "".join(lines)
    return text


@settings(FAST, max_examples=100)
@given(mutations())
def test_a_mutated_file_is_a_scenario_or_one_error(text: str) -> None:
    _outcome(lambda: parse_scenario(text, filename="fuzz.yaml"))


# --------------------------------------------------------------------------- values

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30)
    | st.dates()
    | st.datetimes(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)
BASE_DATA = yaml.load(BASE, Loader=ScenarioLoader)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(BASE_DATA)[1:]


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: _replace(v, rest, value) if k == head else v for k, v in data.items()}
    return [_replace(v, rest, value) if i == head else v for i, v in enumerate(data)]


@settings(FAST, max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_any_value_anywhere_is_a_scenario_or_one_error(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    data = BASE_DATA
    for path, value in changes:
        data = _replace(data, path, value)
    text = yaml.dump(data, Dumper=ScenarioDumper, allow_unicode=True)
    _outcome(lambda: parse_scenario(text, filename="fuzz.yaml"))


def test_the_value_fuzzer_starts_from_a_valid_file() -> None:
    assert isinstance(BASE_DATA["as_of"], date) and not isinstance(BASE_DATA["as_of"], datetime)
    assert parse_scenario(yaml.dump(BASE_DATA, Dumper=ScenarioDumper)).name == "base"
    assert len(PATHS) > 100


# --------------------------------------------------------------------------- spreadsheets


def _valid_files() -> tuple[bytes, dict[str, bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        write_scenario(parse_scenario(BASE), Path(tmp) / "fleet.xlsx")
        write_scenario(parse_scenario(BASE), Path(tmp) / "fleet")
        workbook = (Path(tmp) / "fleet.xlsx").read_bytes()
        folder = {p.name: p.read_bytes() for p in (Path(tmp) / "fleet").iterdir()}
    return workbook, folder


WORKBOOK, FOLDER = _valid_files()


@FEW
@given(
    st.lists(
        st.tuples(st.integers(0, len(WORKBOOK) - 1), st.binary(min_size=1, max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_a_workbook_with_flipped_bytes_is_a_scenario_or_one_error(
    flips: list[tuple[int, bytes]],
) -> None:
    data = bytearray(WORKBOOK)
    for position, replacement in flips:
        data[position : position + len(replacement)] = replacement
    _outcome(lambda: parse_workbook(bytes(data), filename="fuzz.xlsx"))


@FEW
@given(st.sampled_from(sorted(FOLDER)), st.data())
def test_a_csv_folder_with_a_mutated_file_is_a_scenario_or_one_error(
    name: str, data: st.DataObject
) -> None:
    text = FOLDER[name].decode("utf-8-sig")
    mutated = data.draw(mutations(text)) if text.strip() else text
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for other, content in FOLDER.items():
            (folder / other).write_bytes(content)
        (folder / name).write_text(mutated, encoding="utf-8", errors="surrogatepass")
        _outcome(lambda: load_scenario(folder))
