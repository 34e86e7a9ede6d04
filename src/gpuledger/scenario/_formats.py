"""Which format a path is, and the reader and writer of each.

Adding a format is one reader (a file -> :class:`~gpuledger.scenario._raw.RawDocument`)
and one writer (a Scenario -> a file), registered here; validation and the
domain know nothing of formats. Readers of heavy formats are imported when used,
so the command line starts fast.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final, Literal, get_args

from gpuledger.domain import Scenario, ScenarioError, limits
from gpuledger.scenario._raw import RawDocument

Format = Literal["yaml", "xlsx", "csv"]
#: Every format, by the name ``load_scenario`` and ``write_scenario`` take.
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

_NOT_ID = re.compile(r"[^A-Za-z0-9._:+@#-]+")


def name_from_stem(stem: str) -> str:
    """A scenario name (an id) from a file's stem: ``my fleet (v2)`` -> ``my-fleet-v2``.

    Edge cases: characters outside ids become ``-``; a stem with nothing left, or
    none, gives ``scenario``; the name is cut to ``limits.ID_MAX_LEN``.
    """
    name = _NOT_ID.sub("-", stem).strip("-._:+@#")[: limits.ID_MAX_LEN].rstrip("-._:+@#")
    return name if name and limits.ID_PATTERN.fullmatch(name) else "scenario"


def format_of(path: Path, *, writing: bool, text: str | None = None) -> Format:
    """The format a path names.

    Reading: an existing folder is CSV, ``.xlsx`` a workbook, anything else YAML.
    Writing: ``.xlsx`` is a workbook; an existing folder, a path written with a
    trailing ``/`` (``text``) or without a suffix is a CSV folder; anything else YAML.

    Raises:
        ScenarioError: reading a single ``.csv`` file (a CSV scenario is a folder).
    """
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if writing:
        trailing = text is not None and text.endswith(("/", os.sep))
        return "csv" if path.is_dir() or trailing or not suffix else "yaml"
    if path.is_dir():
        return "csv"
    if suffix == ".csv":
        raise ScenarioError(
            "a CSV scenario is a folder of CSV files, one per sheet (skus.csv, lots.csv, ...): "
            "give the folder",
            file=str(path),
        )
    return "yaml"


def read_source(path: Path, fmt: Format) -> RawDocument:
    """Read ``path`` in format ``fmt`` into raw records (not yet validated)."""
    default_name = name_from_stem(path.stem if fmt != "csv" else path.name)
    if fmt == "xlsx":
        from gpuledger.scenario._xlsx import read_workbook

        return read_workbook(path, default_name=default_name)
    if fmt == "csv":
        from gpuledger.scenario._csv import read_csv_folder

        return read_csv_folder(path, default_name=default_name)
    from gpuledger.scenario._yaml import read_yaml_file

    return read_yaml_file(path, default_name=default_name)


def write_source(scenario: Scenario, path: Path, fmt: Format) -> None:
    """Write ``scenario`` to ``path`` in format ``fmt``."""
    if fmt == "xlsx":
        from gpuledger.scenario._xlsx import write_workbook

        write_workbook(scenario, path)
    elif fmt == "csv":
        from gpuledger.scenario._csv import write_csv_folder

        write_csv_folder(scenario, path)
    else:
        from gpuledger.scenario._yaml import dump_scenario_text

        path.write_text(dump_scenario_text(scenario), encoding="utf-8")
