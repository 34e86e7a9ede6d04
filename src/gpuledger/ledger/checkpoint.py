"""Signed checkpoints: the chain heads at a moment, signed with ed25519, kept off the database.

The hash chain shows any change *inside* the log, but not the last events
deleted with the head moved back, nor every hash recomputed after a rewrite:
someone holding the database can make both consistent. A checkpoint holds the
event chain's head (seq and hash) and the record digests' last link
(``ledger.record_digests``), signed by a key the database never sees. Checked
later, it proves the books still begin with exactly what was signed: the
signed event is still at its seq with the same hash (and so, the chain being
intact, every event before it). Books that only grew since check out.

A checkpoint proves nothing about what was written after it (anyone holding
the database can still append), nor about the books before the first one
taken; it is only as safe as its private key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from gpuledger.domain import InvalidInput
from gpuledger.ledger import record_digests, schema
from gpuledger.ledger.chain import read_head
from gpuledger.ledger.codec import canonical, timestamp

FORMAT = "gpuledger-checkpoint/1"
_FIELDS = ("events", "head_hash", "records", "records_hash", "recorded_at", "public_key")


@dataclass(frozen=True)
class Checkpoint:
    """The heads at ``recorded_at`` and the signature of everything else.

    ``events`` and ``head_hash``: the event chain head; ``records`` and
    ``records_hash``: the last record digest; ``public_key``: the signer's raw
    ed25519 key in hex (which key to check it with; never trusted alone).
    """

    events: int
    head_hash: str
    records: int
    records_hash: str
    recorded_at: datetime
    public_key: str
    signature: str = ""

    def payload(self) -> bytes:
        """What is signed: the canonical JSON of every field but the signature."""
        body: dict[str, Any] = {f: getattr(self, f) for f in _FIELDS}
        body["recorded_at"] = timestamp(self.recorded_at)
        return canonical({"format": FORMAT, **body}).encode()

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object."""
        data = asdict(self)
        data["recorded_at"] = timestamp(self.recorded_at)
        return {"format": FORMAT, **data}

    @classmethod
    def from_json(cls, data: Any, source: str = "checkpoint") -> Checkpoint:
        """A checkpoint read from a file's JSON; InvalidInput naming ``source`` when malformed."""
        try:
            assert isinstance(data, dict) and data.get("format") == FORMAT
            point = cls(
                events=int(data["events"]),
                head_hash=str(data["head_hash"]),
                records=int(data["records"]),
                records_hash=str(data["records_hash"]),
                recorded_at=datetime.fromisoformat(str(data["recorded_at"])),
                public_key=str(data["public_key"]),
                signature=str(data["signature"]),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                f"{source} is not a gpuledger checkpoint ({FORMAT}): {exc or 'wrong format'}",
                field="--checkpoint",
            ) from None
        if point.events < 0 or point.records < 0 or point.recorded_at.tzinfo is None:
            raise InvalidInput(f"{source}: counts must be >= 0, times zoned", field="--checkpoint")
        return point


@dataclass(frozen=True)
class CheckpointReport:
    """A checkpoint against the books now: ok, or the first reason it fails."""

    ok: bool
    events_then: int
    events_now: int
    records_then: int
    records_now: int
    recorded_at: datetime
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The CLI/API JSON shape."""
        data = asdict(self)
        data["recorded_at"] = timestamp(self.recorded_at)
        return data


# --------------------------------------------------------------------------- keys


def new_key() -> tuple[bytes, bytes]:
    """A new ed25519 key pair: (private key PEM, PKCS#8 unencrypted; public key PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, _public_pem(key.public_key())


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _raw_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def private_key(pem: bytes, source: str = "key") -> Ed25519PrivateKey:
    """An ed25519 private key from PEM; InvalidInput naming ``source`` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InvalidInput(f"{source} is not a PEM private key", field="--key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{source} is not an ed25519 private key", field="--key")
    return key


def public_key(pem: bytes, source: str = "public key") -> Ed25519PublicKey:
    """An ed25519 public key from PEM; InvalidInput naming ``source`` otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InvalidInput(f"{source} is not a PEM public key", field="--public-key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{source} is not an ed25519 public key", field="--public-key")
    return key


# --------------------------------------------------------------------------- take and check


def take(engine: Engine, private_pem: bytes, recorded_at: datetime) -> Checkpoint:
    """Sign the books' heads as they are now (one read transaction)."""
    assert recorded_at.tzinfo is not None, "recorded_at must be timezone-aware"
    key = private_key(private_pem)
    with engine.connect() as conn, conn.begin():
        events, head = read_head(conn)
        records, records_hash = record_digests.read_head(conn)
    unsigned = Checkpoint(
        events, head, records, records_hash, recorded_at, _raw_hex(key.public_key())
    )
    signed = Checkpoint(**{**asdict(unsigned), "signature": key.sign(unsigned.payload()).hex()})
    assert signed.payload() == unsigned.payload()
    return signed


def check(engine: Engine, point: Checkpoint, public_pem: bytes) -> CheckpointReport:
    """The books against ``point``: ok when they still begin with what was signed.

    Phases: 1. the signature, by ``public_pem`` (not the key the file names);
    2. the event chain: the head not behind the signed seq (else truncated),
    the event at that seq with the signed hash (else rewritten); 3. the same
    for the record digests. The chain's own consistency is ``verify``'s part.
    """
    key = public_key(public_pem)
    with engine.connect() as conn, conn.begin():
        events_now, _ = read_head(conn)
        records_now, _ = record_digests.read_head(conn)
        reason = _signature_problem(point, key) or _heads_problem(
            conn, point, events_now, records_now
        )
    return CheckpointReport(
        ok=reason is None,
        events_then=point.events,
        events_now=events_now,
        records_then=point.records,
        records_now=records_now,
        recorded_at=point.recorded_at,
        reason=reason,
    )


def _signature_problem(point: Checkpoint, key: Ed25519PublicKey) -> str | None:
    if point.public_key != _raw_hex(key):
        return "the checkpoint's signature is by another key than the public key given"
    try:
        key.verify(bytes.fromhex(point.signature), point.payload())
    except (InvalidSignature, ValueError):
        return "the checkpoint's signature does not verify: the file was altered or forged"
    return None


def _heads_problem(
    conn: Connection, point: Checkpoint, events_now: int, records_now: int
) -> str | None:
    when = timestamp(point.recorded_at)
    if events_now < point.events:
        return (
            f"books truncated: the checkpoint of {when} saw {point.events:,} events, "
            f"the books now end at #{events_now:,}"
        )
    if _event_hash(conn, point.events) != point.head_hash:
        return (
            f"history rewritten: event #{point.events:,} is not the one signed at {when} "
            "(it and what came before were changed and re-hashed)"
        )
    if records_now < point.records:
        return (
            f"record digests truncated: the checkpoint of {when} saw {point.records:,}, "
            f"the books now hold {records_now:,} (governance rows or API responses deleted)"
        )
    if record_digests.link_at(conn, point.records) != point.records_hash:
        return (
            f"record digests rewritten: digest #{point.records:,} is not the one signed at "
            f"{when} (governance rows or API responses changed and re-digested)"
        )
    return None


def _event_hash(conn: Connection, seq: int) -> str | None:
    if seq == 0:
        return schema.GENESIS_HASH
    e = schema.events.c
    found = conn.execute(select(e.hash).where(e.seq == seq)).scalar_one_or_none()
    return None if found is None else str(found)


def dumps(point: Checkpoint) -> str:
    """The checkpoint as the file holds it (indented JSON, a final new line)."""
    return json.dumps(point.to_json(), indent=2, sort_keys=True) + "\n"
