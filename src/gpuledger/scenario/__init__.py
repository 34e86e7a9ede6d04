"""Scenario files: read, validate and write a whole fleet as YAML (DESIGN section 3).

A scenario file holds SKUs, vendors with their lead times, groups, orgs,
clusters, orders, lots, targets, claims and the events that already happened
(diversions, deploy/fail/return movements). Every number may carry ``source``
and ``assumed: true``. Reading refuses the whole file at its first problem, with
the file, line, record, field and reason in a :class:`~gpuledger.domain.ScenarioError`.
Writing gives the same format back: ``parse_scenario(dump_scenario(s)) == s``.

    >>> from gpuledger.scenario import demo_scenario_path, load_scenario
    >>> load_scenario(demo_scenario_path()).name
    'founding-story'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gpuledger.domain import Scenario, ScenarioError
from gpuledger.scenario._dump import dump_scenario_text
from gpuledger.scenario._validate import validate
from gpuledger.scenario._yaml import YamlProblem, parse_yaml

__all__ = [
    "demo_scenario_path",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "write_scenario",
]

_DEMO_FILE = "founding_story.yaml"


def parse_scenario(text: str, *, filename: str = "<string>") -> Scenario:
    """Validate scenario YAML text and build the :class:`Scenario` it describes.

    ``filename`` only names the source in errors and gives the default ``name``
    (its stem) when the file has none. Exact duplicate records (same id, same
    content) are kept once; events without an ``id`` get one derived from their
    content, so the same event written twice is one event.

    Raises:
        ScenarioError: the text is not YAML or breaks a rule of the format; the
            first problem in file order, with its 1-based line, record and field.
    """
    try:
        parsed = parse_yaml(text)
    except YamlProblem as exc:
        raise ScenarioError(exc.reason, file=filename, line=exc.line) from exc
    stem = Path(filename).stem if filename != "<string>" else "scenario"
    return validate(parsed, filename=filename, default_name=stem or "scenario")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (UTF-8).

    Raises:
        ScenarioError: the file cannot be read, is not YAML, or is not a valid
            scenario (see :func:`parse_scenario`).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(path)) from exc
    return parse_scenario(text, filename=str(path))


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text in the scenario-file format.

    Keys come in a fixed order, dates in ISO form, block style; fields left at
    their empty default (None, ``assumed: false``, no schedule) are omitted.
    Events are diversions and movements merged by date, each kind in its order.
    The scenario is not validated: dumping an invalid one gives a file that
    :func:`parse_scenario` refuses.
    """
    return dump_scenario_text(scenario)


def write_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write :func:`dump_scenario` of the scenario to ``path`` (UTF-8), replacing it."""
    Path(path).write_text(dump_scenario(scenario), encoding="utf-8")


def demo_scenario_path() -> Path:
    """The shipped founding-story scenario (``gpuledger/scenarios/founding_story.yaml``).

    The package must be installed as files (a normal or editable install), not
    imported from a zip archive.
    """
    return Path(str(resources.files("gpuledger.scenarios").joinpath(_DEMO_FILE)))
