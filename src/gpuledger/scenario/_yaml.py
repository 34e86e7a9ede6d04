"""YAML reading and writing with line numbers, in the scenario format's dialect.

The dialect is YAML 1.1 as PyYAML's safe loader has it, with two changes that a
scenario file needs:

- only ``true``/``false`` are booleans, so the keys ``on`` (a delivery's or an
  event's date) and ``yes``/``no``/``off`` stay strings, as in YAML 1.2;
- a date-shaped value that is not a real date (``2023-02-30``) stays a string,
  so validation can report it with its line instead of PyYAML raising.

Reading composes the node tree (which keeps every node's line) and constructs
the plain data from it; :class:`Locator` walks the tree along a data path to
find the line of a record or a field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_BOOL_TAG = "tag:yaml.org,2002:bool"
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _resolvers_without_yaml11_bools(
    base: dict[Any, list[tuple[str, re.Pattern[str]]]],
) -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table = {first: [(t, r) for t, r in rows if t != _BOOL_TAG] for first, rows in base.items()}
    for first in "tTfF":
        table.setdefault(first, []).insert(0, (_BOOL_TAG, _BOOL_RE))
    return table


class ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader in the scenario dialect (see the module docstring)."""

    yaml_implicit_resolvers = _resolvers_without_yaml11_bools(
        yaml.SafeLoader.yaml_implicit_resolvers
    )

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date or timestamp; the raw text when it is date-shaped but not a date."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


ScenarioLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", ScenarioLoader.construct_lenient_timestamp
)


class ScenarioDumper(yaml.SafeDumper):
    """PyYAML's safe dumper in the scenario dialect, block style, lists indented."""

    yaml_implicit_resolvers = _resolvers_without_yaml11_bools(
        yaml.SafeDumper.yaml_implicit_resolvers
    )

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key ("skus:\n  - id: ..."), as people write them.
        super().increase_indent(flow, False)


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
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


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


class YamlProblem(Exception):
    """The text is not YAML, or breaks a rule of the dialect (e.g. a duplicate key)."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def parse_yaml(text: str) -> Parsed:
    """Compose and construct one YAML document.

    Raises:
        YamlProblem: a syntax error, several documents, or a duplicate mapping key,
            with the 1-based line where the problem is.
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
        _refuse_duplicate_keys(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        raise YamlProblem(f"not valid YAML: {reason}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}", None) from exc
    finally:
        loader.dispose()
    return Parsed(data, root)


def _refuse_duplicate_keys(root: yaml.Node) -> None:
    seen_nodes: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # aliases point at the same node
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        raise YamlProblem(
                            f"duplicate key {key.value!r} in one mapping", key.start_mark.line + 1
                        )
                    keys.add(key.value)
                stack.extend((key, value))
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
        line = node.start_mark.line + 1
        for step in path:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                        found, line = value, key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                found = node.value[step]
                line = found.start_mark.line + 1
            if found is None:
                break
            node = found
        return line
