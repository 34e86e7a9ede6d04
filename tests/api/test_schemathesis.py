"""Property tests of the live OpenAPI: no 5xx, every response matches its declared schema."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from tests.api.conftest import World, make_world

_state: dict[str, World] = {}


def _world() -> World:
    if "world" not in _state:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="gpuledger-schemathesis-")) / "books.db"
        _state["world"] = make_world(f"sqlite:///{path}")
    return _state["world"]


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    world = _state.pop("world", None)
    if world is not None:
        world.client.close()
        world.app.state.backend.ledger.close()
        url = world.app.state.backend.ledger.engine.url.database
        shutil.rmtree(Path(url).parent, ignore_errors=True)


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _world().app)


CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_honours_its_openapi(case: Any) -> None:
    world = _world()
    headers = {"Authorization": f"Bearer {world.tokens['root']}"}
    # A forecast of up to 20,000 samples may take longer than schemathesis's 10 s
    # default on a loaded 2-core machine; a slow answer is not a failure here.
    response = case.call(headers=headers, timeout=300)
    case.validate_response(response, checks=CHECKS)


def test_the_schema_has_every_planning_operation() -> None:
    paths = set(_world().client.get("/api/v1/openapi.json").json()["paths"])
    assert {"/impact", "/forecast", "/claims", "/plan"} <= {
        p.removeprefix("/api/v1") for p in paths
    }


# Random strings rarely name a lot or an org of the fleet, so /impact would mostly
# answer 422 or 404 above; here the changes are drawn over the fleet's own ids.
_IDS = st.sampled_from(["LOT-T1", "LOT-A1", "PO-T", "NOPE"])
_ORGS = st.sampled_from(["tesla", "x", "acme", "nowhere"])
_DAYS = st.dates(min_value=date(1899, 6, 1), max_value=date(3000, 6, 1)).map(date.isoformat)
_QTY = st.integers(0, 13_000) | st.integers(0, 10**12 - 1)  # LOT-T1 holds 12,000
_CHANGES = st.one_of(
    st.fixed_dictionaries(
        {"divert": st.tuples(_IDS, _QTY, _ORGS, _ORGS).map(lambda t: ":".join(map(str, t)))},
        optional={
            "on": _DAYS,
            "payback": st.lists(st.tuples(_IDS, _QTY).map(lambda t: f"{t[0]}:{t[1]}"), max_size=2),
        },
    ),
    st.fixed_dictionaries(
        {"slip": st.tuples(_IDS, st.integers(-99999, 99999)).map(lambda t: f"{t[0]}:{t[1]}")},
        optional={"as_of": _DAYS},
    ),
    st.fixed_dictionaries(
        {
            "new_order": st.tuples(
                _ORGS, st.sampled_from(["nvidia", "amd"]), st.just("H100"), _QTY
            ).map(lambda t: ":".join(map(str, t)))
        },
        optional={"on": _DAYS},
    ),
    st.fixed_dictionaries(
        {
            "priority": st.tuples(
                st.sampled_from(["tesla-h1", "acme-h1", "none"]), st.integers(1, 999999)
            ).map(lambda t: f"{t[0]}:{t[1]}")
        }
    ),
)


@given(query=_CHANGES, policy=st.sampled_from(["consigned", "priority", "fair-share"]))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_impact_of_changes_over_the_fleet_honours_the_openapi(
    query: dict[str, Any], policy: str
) -> None:
    world = _world()
    case = schema["/api/v1/impact"]["GET"].Case(query={**query, "policy": policy})
    response = case.call(headers={"Authorization": f"Bearer {world.tokens['root']}"})
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (200, 404, 409, 422), response.text


# Negative data: every operation with values its schema forbids (wrong types, out of
# bounds, malformed ids and dates, NUL characters). No 5xx, and each is refused.
negative = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _world().app)
negative.config.generation.update(modes=[GenerationMode.NEGATIVE], allow_x00=True)


@negative.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_refuses_negative_data_without_a_server_error(case: Any) -> None:
    world = _world()
    headers = {"Authorization": f"Bearer {world.tokens['root']}"}
    response = case.call(headers=headers, timeout=300)
    case.validate_response(
        response, checks=[checks.not_a_server_error, checks.negative_data_rejection]
    )


# Stateful: sequences of calls chained by the OpenAPI's links (``api.links``:
# POST /diversions -> GET, approve, reject, void, impact of that id; POST /lots ->
# receive and trace that lot) and those schemathesis infers. No 5xx and every answer as declared,
# whatever came before; short, bounded runs.
stateful = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _world().app)


_PROPOSED = itertools.count()


class _Sequences(stateful.as_state_machine()):  # type: ignore[misc]
    def before_call(self, case: Any) -> None:
        # Random bodies rarely name a lot of the fleet: every other proposal is a real
        # one (1 unit of LOT-T1 from tesla to x), so its links lead to a real record.
        if case.operation.label == "POST /api/v1/diversions" and next(_PROPOSED) % 2 == 0:
            case.body = {
                "id": f"D-SEQ-{next(_PROPOSED)}",
                "lot": "LOT-T1",
                "qty": 1,
                "from_org": "tesla",
                "to_org": "x",
                "on": "2024-02-01",
            }

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {_world().tokens['root']}"}, "timeout": 300}

    def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


def test_the_openapi_links_each_write_to_the_operations_on_its_record() -> None:
    paths = _world().client.get("/api/v1/openapi.json").json()["paths"]
    ids = {op["operationId"] for ops in paths.values() for op in ops.values()}
    diversion = paths["/api/v1/diversions"]["post"]["responses"]["200"]["links"]
    assert set(diversion) == {
        "GetDiversion",
        "ApproveDiversion",
        "RejectDiversion",
        "VoidDiversion",
        "ImpactOfDiversion",
    }
    lot = paths["/api/v1/lots"]["post"]["responses"]["200"]["links"]
    assert set(lot) == {"ReceiveLot", "TraceLot"}
    for link in [*diversion.values(), *lot.values()]:
        assert link["operationId"] in ids  # each names an operation of this schema
    assert diversion["ApproveDiversion"]["parameters"] == {
        "diversion_id": "$response.body#/diversion/id"
    }
    assert lot["ReceiveLot"]["parameters"] == {"lot": "$request.body#/id"}


def _linked(source: str, target: str) -> bool:
    """Whether the state machine chains ``source`` (e.g. ``POST /diversions``) to ``target``."""

    def name(operation: str) -> str:
        method, path = operation.split(" ")
        return method + "_api_v1" + re.sub(r"[^A-Za-z0-9]+", "_", path)

    return any(
        rule.startswith(name(source) + "___") and rule.endswith("__" + name(target))
        for rule in dir(_Sequences)
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("POST /diversions", "GET /diversions/{diversion_id}"),
        ("POST /diversions", "POST /diversions/{diversion_id}/approve"),
        ("POST /diversions", "POST /diversions/{diversion_id}/reject"),
        ("POST /diversions", "GET /diversions/{diversion_id}/impact"),
        ("POST /lots", "POST /lots/{lot}/receive"),
        ("POST /lots", "GET /lots/{lot}/trace"),
    ],
    ids=lambda s: s.replace(" ", ""),
)
def test_the_schema_links_writes_to_the_reads_and_decisions_of_their_records(
    source: str, target: str
) -> None:
    assert _linked(source, target)
    assert not _linked("GET /balances", target)  # balances name no record to follow


def test_sequences_of_linked_calls_never_answer_a_server_error() -> None:
    _Sequences.run(
        settings=settings(
            max_examples=10,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
