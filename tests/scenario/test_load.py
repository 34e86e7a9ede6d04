"""Reading scenario files from disk: paths, names and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuledger.domain import ScenarioError
from gpuledger.scenario import demo_scenario_path, load_scenario, parse_scenario

MINIMAL = "as_of: 2024-06-30\n"


def test_the_demo_ships_inside_the_package() -> None:
    path = demo_scenario_path()
    assert path.is_file()
    assert path.parent.name == "scenarios" and path.parent.parent.name == "gpuledger"


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError, match="cannot read the file") as caught:
        load_scenario(missing)
    assert caught.value.file == str(missing)


def test_errors_name_the_file_that_was_loaded(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(MINIMAL + "skus:\n  - {id: H100, annual_failure_rate: 2}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.file, caught.value.line) == (str(path), 3)
    assert caught.value.record == "skus[0] H100"
    assert caught.value.field == "annual_failure_rate"


@pytest.mark.parametrize(
    ("filename", "name"),
    [("fleets/q3-plan.yaml", "q3-plan"), ("<string>", "scenario")],
    ids=["file-stem", "no-file"],
)
def test_a_scenario_without_a_name_takes_the_file_stem(filename: str, name: str) -> None:
    assert parse_scenario(MINIMAL, filename=filename).name == name


def test_a_minimal_file_gives_the_defaults() -> None:
    scenario = parse_scenario(MINIMAL)
    assert scenario.orgs == () and scenario.lots == ()
    assert (scenario.parameters.claim_tolerance, scenario.parameters.horizon_days) == (0.05, 730)


def test_a_quoted_iso_date_is_a_date() -> None:
    assert parse_scenario("as_of: '2024-06-30'\n").as_of.isoformat() == "2024-06-30"


def test_a_control_character_is_a_scenario_error_with_its_line() -> None:
    from gpuledger.domain import ScenarioError
    from gpuledger.scenario import parse_scenario

    with pytest.raises(ScenarioError) as exc:
        parse_scenario('as_of: 2024-01-01\nname: "a\x07b"\n', filename="bell.yaml")
    assert exc.value.line == 2
    assert "bell.yaml:2" in str(exc.value) and "not valid YAML" in str(exc.value)
