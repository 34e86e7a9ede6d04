"""Issue 10: property-based fuzzing of the scenario reader over YAML structure.

Hypothesis builds YAML documents: random nesting of mappings and lists (some
deeper than the limit), anchors and aliases, merge keys, huge and odd numbers,
unicode with control, bidi and zero-width characters, and the test fleet with
one value replaced by such a thing. The reader either returns a scenario or
raises a domain error with one line; it never crashes. Through the API, a
refused import writes nothing.
"""

from __future__ import annotations

import string
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuledger.domain import GpuledgerError, Scenario
from gpuledger.domain.limits import NESTING_MAX
from gpuledger.services.books import read_scenario_text
from tests.api.conftest import FLEET
from tests.security.conftest import fingerprint

FLEET_TEXT = FLEET.read_text()

_HOSTILE_CHARS = "\x00\x01\x1b\x7f\u200b\u202e\u2066\ufeff\ud7ff\U0001f600é"
_ALPHABET = string.ascii_letters + string.digits + "-_ " + _HOSTILE_CHARS
_TEXT = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=30)
_NUMBERS = st.sampled_from(
    ["2**64", "18446744073709551616", "9223372036854775808", "1e309", "-1e309", ".nan", ".inf",
     "0x7fffffffffffffff", "0o777", "1_000_000", "1:30:00", "1" * 70, "-0", "1000.0", "1e10",
     "9999-12-31", "0001-01-01", "2023-02-30", "true", "yes", "on", "null", "~"]
)  # fmt: skip
_FLEET_FIELDS = ["qty: 1000", "qty: 12000", "p50_days: 300", "priority: 1", "by: 2024-06-30",
                 "ordered_on: 2023-01-10", "id: PO-T"]  # fmt: skip
_SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.booleans(),
    st.none(),
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _dumped(tree: Any) -> str:
    return yaml.safe_dump(
        {"name": "fuzz", "as_of": "2024-01-31", "orders": tree}, allow_unicode=True
    )


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A YAML text: a random tree, then maybe aliases, deep nesting or a hostile value."""
    kind = draw(st.sampled_from(["tree", "alias", "merge", "deep", "fleet", "raw"]))
    if kind == "tree":
        return _dumped(draw(_TREES))
    if kind == "alias":
        fan = draw(st.integers(2, 9))
        levels = draw(st.integers(1, 9))
        lines = ['a0: &a0 ["x"]'] + [
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)
        ]
        return "\n".join(lines) + "\n"
    if kind == "merge":
        return "base: &b {qty: 5}\norders:\n  - <<: *b\n    id: PO-M\n"
    if kind == "deep":
        depth = draw(st.integers(NESTING_MAX - 2, NESTING_MAX * 40))
        flow = draw(st.booleans())
        if flow:
            return "orders: " + "[" * depth + "]" * depth + "\n"
        return (
            "orders:\n"
            + "".join("  " * i + "- \n" for i in range(1, depth))
            + "  " * depth
            + "- 1\n"
        )
    if kind == "fleet":
        value = draw(
            _NUMBERS | _TEXT.map(lambda t: '"' + t.encode("unicode_escape").decode() + '"')
        )
        field = draw(st.sampled_from(_FLEET_FIELDS))
        return FLEET_TEXT.replace(field, f"{field.split(':')[0]}: {value}", 1)
    return draw(st.text(max_size=200))


@given(text=documents())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_reader_answers_every_document_or_refuses_in_one_line(text: str) -> None:
    try:
        scenario = read_scenario_text(text, "fuzz.yaml")
    except GpuledgerError as exc:
        message = " ".join(str(exc).split())
        assert message and len(message) < 2_000, message[:300]
        return
    assert isinstance(scenario, Scenario)


@given(text=documents())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_a_refused_import_writes_nothing(shared_sqlite: Any, text: str) -> None:
    world = shared_sqlite
    before = fingerprint(world)
    r = world.call("root", "POST", "/scenario", {"yaml": text, "filename": "fuzz.yaml"})
    assert r.status_code < 500, r.text[:300]
    if r.status_code != 200:
        assert r.json()["error"]["message"]
        assert fingerprint(world) == before
