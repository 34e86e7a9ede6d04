"""Canonical JSON and the document codec."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gpuledger import domain as d
from gpuledger.ledger.codec import (
    canonical,
    event_hash,
    from_json,
    json_string,
    timestamp,
    to_json,
)

from .conftest import H100, base


def test_canonical_sorts_keys_without_whitespace() -> None:
    assert (
        canonical({"b": [1, {"d": None, "c": "é"}], "a": 1}) == '{"a":1,"b":[1,{"c":"é","d":null}]}'
    )


def test_timestamps_are_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert timestamp(datetime(2024, 6, 4, 1, 0, tzinfo=paris)) == "2024-06-04T00:00:00.000000+00:00"
    assert timestamp(datetime(2024, 6, 4, tzinfo=UTC)) == "2024-06-04T00:00:00.000000+00:00"


RECORDS = [
    *base().vendors,
    *base().orders,
    *base().lots,
    *base().claims,
    *base().diversions,
    *base().movements,
    d.Order("PO", "a", "v", H100, 5, date(2024, 1, 1), schedule=(d.Delivery(date(2024, 2, 1), 5),)),
    d.Target("t", "a", H100, 5, date(2024, 1, 1), priority=2, weight=0.5, assumed=True),
]


@pytest.mark.parametrize("record", RECORDS, ids=[f"{type(r).__name__}-{r.id}" for r in RECORDS])
def test_records_round_trip(record: object) -> None:
    data = to_json(record)
    assert from_json(type(record), data) == record
    assert canonical(data) == canonical(to_json(from_json(type(record), data)))


def test_to_json_shapes() -> None:
    lot = base().lots[0]
    assert to_json(lot)["ships_on"] == "2023-12-04"
    assert to_json(base().movements[0])["op"] == "deploy"


@pytest.mark.parametrize("actor", ["alice", 'quo"te', "back\\slash", "é", "new\nline", "😀"])
def test_event_hash_equals_the_generic_canonical_form(actor: str) -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    body = {"z": [1, "é"], "a": None}
    event = {
        "seq": 7,
        "id": f"id-{actor}",
        "kind": "document",
        "body": body,
        "actor": actor,
        "effective_at": timestamp(at),
        "recorded_at": timestamp(at),
    }
    want = hashlib.sha256(("p" * 64 + canonical(event)).encode()).hexdigest()
    got = event_hash("p" * 64, seq=7, id=f"id-{actor}", kind="document", body=canonical(body),
                     actor=actor, effective_at=at, recorded_at=at)  # fmt: skip
    assert got == want


def test_json_string_is_jsons_for_every_character() -> None:
    """The fast test for plain text gives what ``json.dumps(ensure_ascii=False)`` gives."""
    chars = [chr(c) for c in range(0x800)] + ["\u2028", "\ud7ff", "\ufeff", "\U0001f600"]
    for c in chars:
        for text in (c, f"a{c}b", c * 3):
            assert json_string(text) == json.dumps(text, ensure_ascii=False), repr(text)
