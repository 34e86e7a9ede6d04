"""The YAML format: a safe dialect, a reader to raw records, and the text writer.

The dialect is YAML 1.1 as PyYAML's safe loader has it, with changes that a
scenario file needs:

- only ``true``/``false`` are booleans, so the keys ``on`` (a delivery's or an
  event's date) and ``yes``/``no``/``off`` stay strings, as in YAML 1.2;
- base-60 numbers (``1:30``) are text, as in YAML 1.2: YAML 1.1 reads them at a
  cost quadratic in their length;
- a date-shaped value that is not a real date (``2023-02-30``) stays a string,
  so validation can report it with its line instead of PyYAML raising.

Hostile text is refused before it costs (issue: a 1 KB "billion laughs" file took
a server down): anchors, aliases and merge keys are refused at the first one;
nesting deeper than ``limits.NESTING_MAX`` is refused while composing, so no
recursion runs deep; a number longer than 64 characters is refused before Python
converts it (decimal conversion is quadratic and capped at 4,300 digits); keys
must be text and unique. The caller checks the size (``limits.FILE_MAX_BYTES``)
before parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gpuledger.domain import InputTooLarge, Scenario, ScenarioError, limits
from gpuledger.scenario._data import scenario_as_data
from gpuledger.scenario._raw import (
    COLLECTIONS,
    HEADER_KEYS,
    FieldPath,
    Origin,
    RawDocument,
    RawProblem,
    RawRecord,
    RecordBudget,
    field_name,
    shown,
)

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
#: The longest number the reader converts: 2**64 has 20 digits, a float 24 characters.
NUMBER_MAX_CHARS = 64

Resolvers = dict[Any, list[tuple[str, re.Pattern[str]]]]


def _dialect_resolvers(base: Resolvers) -> Resolvers:
    table: Resolvers = {}
    for first, rows in base.items():
        kept: list[tuple[str, re.Pattern[str]]] = []
        for tag, regexp in rows:
            if tag == _BOOL_TAG:
                continue
            if tag in (_INT_TAG, _FLOAT_TAG):
                # No base-60: a number has no colon (YAML 1.2).
                regexp = re.compile(r"(?!.*:)" + regexp.pattern, regexp.flags)
            kept.append((tag, regexp))
        table[first] = kept
    for first in "tTfF":
        table.setdefault(first, []).insert(0, (_BOOL_TAG, _BOOL_RE))
    return table


class YamlProblem(Exception):
    """The text is not YAML, or breaks a rule of the dialect; ``too_large`` for a limit."""

    def __init__(self, reason: str, line: int | None, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.too_large = too_large


def _line(node_or_event: Any) -> int:
    return int(node_or_event.start_mark.line) + 1


class ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader in the scenario dialect (see the module docstring)."""

    yaml_implicit_resolvers = _dialect_resolvers(yaml.SafeLoader.yaml_implicit_resolvers)

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node; refuse anchors, aliases and nesting beyond the limit."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlProblem(
                "YAML anchors and aliases (&name, *name) are not allowed in a scenario file",
                _line(event),
            )
        self._depth += 1
        try:
            if self._depth > limits.NESTING_MAX and isinstance(
                event, yaml.SequenceStartEvent | yaml.MappingStartEvent
            ):
                raise YamlProblem(
                    f"nested deeper than {limits.NESTING_MAX} levels", _line(event), too_large=True
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date or timestamp; the raw text when it is date-shaped but not a date."""
        try:
            return self.construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)

    def construct_short_int(self, node: yaml.ScalarNode) -> Any:
        """An int, refused before conversion when it is too long to be a quantity."""
        _refuse_long_number(node)
        return self.construct_yaml_int(node)

    def construct_short_float(self, node: yaml.ScalarNode) -> Any:
        """A float, refused before conversion when it is too long to be a number we use."""
        _refuse_long_number(node)
        return self.construct_yaml_float(node)


def _refuse_long_number(node: yaml.ScalarNode) -> None:
    if len(node.value) > NUMBER_MAX_CHARS:
        raise YamlProblem(
            f"a number of {len(node.value):,} characters (at most {NUMBER_MAX_CHARS})",
            _line(node),
        )


ScenarioLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", ScenarioLoader.construct_lenient_timestamp
)
ScenarioLoader.add_constructor(_INT_TAG, ScenarioLoader.construct_short_int)
ScenarioLoader.add_constructor(_FLOAT_TAG, ScenarioLoader.construct_short_float)


class ScenarioDumper(yaml.SafeDumper):
    """PyYAML's safe dumper in the scenario dialect, block style, lists indented."""

    yaml_implicit_resolvers = _dialect_resolvers(yaml.SafeDumper.yaml_implicit_resolvers)

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key ("skus:\n  - id: ..."), as people write them.
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # The reader refuses aliases, so the writer never makes one (equal dates would).
        return True


_FOLD_BEYOND = 80
_ODD_BREAKS = "\x85\u2028\u2029"


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Multi-line text (descriptions) reads best as a literal block and a long
    # source as a folded one; the emitter falls back to quoting when a block
    # cannot hold the text exactly.
    # PyYAML folds the YAML 1.1 line breaks NEL, LS and PS to spaces unless the
    # scalar is double-quoted (where they are escaped); control characters too.
    if any(ch in _ODD_BREAKS or (not ch.isprintable() and ch != "\n") for ch in text):
        style: str | None = '"'
    elif "\n" in text:
        style = "|"
    else:
        style = ">" if len(text) > _FOLD_BEYOND else None
    return dumper.represent_scalar(_STR_TAG, text, style=style)


ScenarioDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """YAML text of plain data in the scenario dialect, keys in the given order."""
    text: str = yaml.dump(
        data,
        Dumper=ScenarioDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text


@dataclass(frozen=True)
class Parsed:
    """A YAML document: the constructed data and its node tree (for line numbers)."""

    data: Any
    root: yaml.Node | None


def parse_yaml(text: str) -> Parsed:
    """Compose and construct one YAML document in the scenario dialect.

    Raises:
        YamlProblem: a syntax error, several documents, an anchor or alias, a merge
            key, a key that is not text or is repeated, nesting beyond the limit, or a
            number too long to convert; with the 1-based line where it is.
    """
    try:
        # The reader checks the characters as soon as the loader is built.
        loader = ScenarioLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(
            f"not valid YAML: {exc.reason} (character #x{exc.character:04x})"
            if isinstance(exc.character, int)
            else f"not valid YAML: {exc.reason}",
            line,
        ) from exc
    try:
        root = loader.get_single_node()
        if root is None:
            return Parsed(None, None)
        _check_keys(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        raise YamlProblem(f"not valid YAML: {reason}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {shown(str(exc))}", None) from exc
    finally:
        loader.dispose()
    return Parsed(data, root)


def _check_keys(root: yaml.Node) -> None:
    # Iterative: the tree is at most NESTING_MAX deep, but walk it without recursion anyway.
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    raise YamlProblem(
                        "YAML merge keys (<<) are not allowed in a scenario file", _line(key)
                    )
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                    raise YamlProblem(
                        "field names are text; this key is "
                        + (
                            f"the value {shown(key.value)}"
                            if isinstance(key, yaml.ScalarNode)
                            else "a list or a mapping"
                        ),
                        _line(key),
                    )
                if key.value in keys:
                    raise YamlProblem(
                        f"duplicate key {field_name(key.value)!r} in one mapping", _line(key)
                    )
                keys.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


class Locator:
    """Finds the 1-based line of a data path (``("lots", 3, "qty")``) in a node tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest node on ``path``; a mapping key's own line for a field.

        A path that runs past the tree (a missing field) gives the line of the
        last node found, i.e. the record that lacks the field.
        """
        node = self._root
        if node is None:
            return None
        line = _line(node)
        for step in path:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == str(step):
                        found, line = value, _line(key)
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                found = node.value[step]
                line = _line(found)
            if found is None:
                break
            node = found
        return line


# --------------------------------------------------------------------------- reader


def read_yaml(text: str, *, source: str, default_name: str) -> RawDocument:
    """Read scenario YAML text into raw records with their lines.

    The caller has checked the size. Problems of shape (an unknown top-level key, a
    collection that is not a list, a record that is not a mapping) travel with the
    document; problems of the text itself raise at once.

    Raises:
        ScenarioError: the text is not YAML in the dialect, is empty or not a mapping.
        InputTooLarge: nesting beyond ``limits.NESTING_MAX`` or more records than
            ``limits.RECORDS_MAX``.
    """
    try:
        parsed = parse_yaml(text)
    except YamlProblem as exc:
        if exc.too_large:
            where = f"{source}:{exc.line}" if exc.line else source
            raise InputTooLarge(f"{where}: {exc.reason}") from exc
        raise ScenarioError(exc.reason, file=source, line=exc.line) from exc
    data, locator = parsed.data, Locator(parsed.root)
    if data is None:
        raise ScenarioError("the file is empty: a scenario needs at least as_of", file=source)
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario file must be a mapping of name, as_of, skus, orgs, ...",
            file=source,
            line=locator.line(()),
        )

    def at(path: FieldPath) -> Origin:
        return Origin(source, locator.line(path))

    problems: list[RawProblem] = []
    for key in data:
        if key not in HEADER_KEYS and key not in COLLECTIONS:
            problems.append(
                RawProblem(
                    at((key,)),
                    f"unknown top-level field (allowed: {', '.join((*HEADER_KEYS, *COLLECTIONS))})",
                    field=field_name(key),
                )
            )
    header = RawRecord(
        0, {k: data[k] for k in HEADER_KEYS if k in data}, at(()), lambda path: at(path)
    )
    budget = RecordBudget(source)
    collections = {key: _records(key, data.get(key), at, budget, problems) for key in COLLECTIONS}
    return RawDocument(source, default_name, header, collections, problems)


def _records(
    key: str,
    value: object,
    at: Callable[[FieldPath], Origin],
    budget: RecordBudget,
    problems: list[RawProblem],
) -> list[RawRecord]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(
            RawProblem(at((key,)), f"must be a list of records, got {shown(value)}", field=key)
        )
        return []
    budget.take(len(value))
    out: list[RawRecord] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(
                RawProblem(
                    at((key, index)),
                    f"a record must be a mapping, got {shown(item)}",
                    record=f"{key}[{index}]",
                )
            )
            continue
        budget.take(sum(len(v) for v in item.values() if isinstance(v, list)))
        out.append(RawRecord(index, item, at((key, index)), _prefixed(at, (key, index))))
    return out


def _prefixed(
    at: Callable[[FieldPath], Origin], prefix: FieldPath
) -> Callable[[FieldPath], Origin]:
    return lambda path: at((*prefix, *path))


def read_yaml_text(text: str, *, source: str, default_name: str) -> RawDocument:
    """:func:`read_yaml` after checking the text's size in UTF-8 bytes.

    Raises:
        InputTooLarge: the text is over ``limits.FILE_MAX_BYTES``.
    """
    size = len(text)
    if size <= limits.FILE_MAX_BYTES and not text.isascii():
        size = len(text.encode("utf-8", "surrogatepass"))
    limits.check_size(size, source)
    return read_yaml(text, source=source, default_name=default_name)


def read_yaml_file(path: Path, *, default_name: str) -> RawDocument:
    """Read a scenario YAML file, its size checked before it is read.

    Raises:
        InputTooLarge: the file is over ``limits.FILE_MAX_BYTES``.
        ScenarioError: the file cannot be read, is not UTF-8, or is not valid.
    """
    source = str(path)
    try:
        limits.check_size(path.stat().st_size, source)
        with path.open("rb") as stream:
            # Bounded even when the size lied (a pipe, a device, a growing file).
            data = stream.read(limits.FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=source) from exc
    limits.check_size(len(data), source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"cannot read the file: not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=source,
            line=line,
        ) from exc
    return read_yaml(text, source=source, default_name=default_name)


def dump_scenario_text(scenario: Scenario) -> str:
    """YAML text of a scenario in the scenario-file format."""
    return dump_yaml(scenario_as_data(scenario))
