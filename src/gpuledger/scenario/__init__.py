"""Fleets in and out: scenario files as YAML, XLSX workbooks and folders of CSV files.

A scenario holds SKUs, vendors with their lead times, groups, orgs, sites with
their power over time, clusters, orders, lots, targets, claims and the events
that already happened (diversions, deploy/fail/return movements). Every number
may carry ``source`` and ``assumed: true``. The formats are described in docs/scenario-format.md.

Reading is three steps, and only the first knows the format: a reader turns the
file into raw records with their origins (``file:line``, ``file:row``,
``sheet!row``); validation checks each record against its model (the bounds of
:mod:`gpuledger.domain.limits`) and the records against each other (the rules of
:mod:`gpuledger.domain.rules`); the records become a :class:`~gpuledger.domain.Scenario`.
A source with any problem is refused whole with a
:class:`~gpuledger.domain.ScenarioError` naming the first one (the others are its
notes), or :class:`~gpuledger.domain.InputTooLarge` past a stated limit. Writing
gives the same format back: ``load_scenario(p)`` after ``write_scenario(s, p)``
equals ``s``, for every format.

    >>> from gpuledger.scenario import demo_scenario_path, load_scenario
    >>> load_scenario(demo_scenario_path()).name
    'founding-story'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gpuledger.domain import Scenario
from gpuledger.scenario._data import scenario_as_data
from gpuledger.scenario._formats import (
    FORMATS,
    Format,
    format_of,
    name_from_stem,
    read_source,
    write_source,
)
from gpuledger.scenario._raw import COLLECTIONS, HEADER_KEYS, Origin, RawDocument, RawRecord
from gpuledger.scenario._validate import validate
from gpuledger.scenario._yaml import dump_scenario_text, read_yaml_text

__all__ = [
    "FORMATS",
    "Format",
    "check_scenario",
    "demo_scenario_path",
    "dump_scenario",
    "format_of",
    "load_scenario",
    "parse_scenario",
    "parse_workbook",
    "write_scenario",
]

_DEMO_FILE = "founding_story.yaml"


def parse_scenario(text: str, *, filename: str = "<string>") -> Scenario:
    """Validate scenario YAML text and build the :class:`Scenario` it describes.

    ``filename`` only names the source in errors and gives the default ``name``
    (its stem, made an id) when the text has none. Exact duplicate records (same
    id, same content) are kept once; events without an ``id`` get one derived from
    their content, so the same event written twice is one event.

    Raises:
        InputTooLarge: the text is over ``limits.FILE_MAX_BYTES`` (checked before
            parsing), nests deeper than ``limits.NESTING_MAX`` or holds more than
            ``limits.RECORDS_MAX`` records.
        ScenarioError: the text is not YAML in the scenario dialect (anchors and
            aliases are refused) or breaks a rule of the format; the first problem
            in file order, with its 1-based line, record and field.
    """
    stem = Path(filename).stem if filename != "<string>" else ""
    return validate(read_yaml_text(text, source=filename, default_name=name_from_stem(stem)))


def parse_workbook(data: bytes, *, filename: str = "<workbook>") -> Scenario:
    """Validate an XLSX workbook given as bytes (an upload) and build its :class:`Scenario`.

    Raises:
        InputTooLarge: the workbook or its expanded content is over
            ``limits.FILE_MAX_BYTES``, or it holds more than ``limits.RECORDS_MAX`` rows.
        ScenarioError: not a readable workbook, or a rule of the format is broken;
            errors name ``workbook sheet!row``, the record and the field.
    """
    from gpuledger.scenario._xlsx import read_workbook_bytes

    stem = Path(filename).stem if filename != "<workbook>" else ""
    return validate(read_workbook_bytes(data, source=filename, default_name=name_from_stem(stem)))


def load_scenario(path: str | Path, *, format: Format | None = None) -> Scenario:
    """Read and validate a scenario: a YAML file, an XLSX workbook or a folder of CSV files.

    The format is ``format`` when given, else :func:`format_of` the path: a folder is
    CSV, ``.xlsx`` is a workbook, anything else YAML (UTF-8).

    Raises:
        InputTooLarge: over a limit of :mod:`gpuledger.domain.limits` (size, checked
            before reading; nesting; records).
        ScenarioError: the source cannot be read, or is not a valid scenario (see
            :func:`parse_scenario`).
    """
    path = Path(path)
    return validate(read_source(path, format or format_of(path, writing=False)))


def check_scenario(scenario: Scenario, *, source: str) -> Scenario:
    """Check a scenario built in code with every bound and rule of a scenario file.

    The same validation as :func:`load_scenario`, on the records' plain data
    (no text is written or parsed); problems name ``source`` and the record
    (``clusters[3] X field 'org': ...``). Returns the scenario as read back,
    equal to ``scenario`` when it is valid.

    Raises:
        ScenarioError: the first problem, the others as notes.
    """
    data = scenario_as_data(scenario)
    origin = Origin(source, unit="record")
    header = RawRecord(0, {k: data[k] for k in HEADER_KEYS if k in data}, origin)
    collections = {
        key: [RawRecord(i, rec, origin) for i, rec in enumerate(data.get(key, []))]
        for key in COLLECTIONS
    }
    return validate(RawDocument(source, scenario.name, header, collections, []))


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text in the scenario-file format.

    Keys come in a fixed order, dates in ISO form, block style; fields left at
    their empty default (None, ``assumed: false``, no schedule) are omitted.
    Events are diversions and movements merged by date, each kind in its order.
    The scenario is not validated: dumping an invalid one gives a file that
    :func:`parse_scenario` refuses.
    """
    return dump_scenario_text(scenario)


def write_scenario(scenario: Scenario, path: str | Path, *, format: Format | None = None) -> None:
    """Write a scenario to ``path`` in ``format`` (default: :func:`format_of` the path).

    YAML and XLSX replace the file; CSV writes one file per sheet into the folder
    (created when missing), replacing those files only.
    """
    path_text = str(path)
    path = Path(path)
    write_source(scenario, path, format or format_of(path, writing=True, text=path_text))


def demo_scenario_path() -> Path:
    """The shipped founding-story scenario (``gpuledger/scenarios/founding_story.yaml``).

    The package must be installed as files (a normal or editable install), not
    imported from a zip archive.
    """
    return Path(str(resources.files("gpuledger.scenarios").joinpath(_DEMO_FILE)))
