"""API tokens: ``gpl_<id>_<secret>``, shown once, stored as an argon2 hash.

The ``id`` is not secret: the server finds the token's row by it, then verifies
the whole token against the stored argon2 hash. A verified token is remembered
in memory by its SHA-256 so that argon2 (deliberately slow) runs once per token
and process, not once per request; revocation is still read on every request.

A web session id (``gls_<random>``) is what the dashboard's cookie holds instead
of a token: random, stored only as its SHA-256 (a fast hash suffices for 256
random bits), ended at sign-out and expiring.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gpuledger.domain import Unauthenticated

PREFIX = "gpl"
SESSION_PREFIX = "gls"
_TOKEN = re.compile(r"^gpl_([0-9a-f]{16})_([A-Za-z0-9_-]{32,128})$")
_SESSION = re.compile(r"^gls_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``token`` is the only time the secret is seen."""

    id: str
    user: str
    token: str
    hash: str


def parse(token: str) -> str:
    """The token's id; raise :class:`Unauthenticated` when the text is not a gpuledger token."""
    m = _TOKEN.match(token.strip())
    if m is None:
        raise Unauthenticated("the bearer token is malformed: expected gpl_<id>_<secret>")
    return m.group(1)


def new_session_id() -> str:
    """A new random session id: 256 bits, URL-safe."""
    session_id = f"{SESSION_PREFIX}_{secrets.token_urlsafe(32)}"
    assert _SESSION.match(session_id)
    return session_id


def session_hash(session_id: str) -> str:
    """What is stored of a session id: its SHA-256; Unauthenticated when malformed."""
    if len(session_id) > 64 or not _SESSION.match(session_id):
        raise Unauthenticated("the session is unknown, ended or expired: sign in again")
    return hashlib.sha256(session_id.encode()).hexdigest()


class TokenHasher:
    """Issues and verifies tokens with argon2id.

    Args:
        time_cost, memory_cost: argon2 parameters; the defaults are argon2-cffi's
            (RFC 9106 low-memory profile). Tests may pass cheaper ones: the hash
            records its parameters, so verification works either way.
    """

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        default = PasswordHasher()
        self._hasher = PasswordHasher(
            time_cost=default.time_cost if time_cost is None else time_cost,
            memory_cost=default.memory_cost if memory_cost is None else memory_cost,
        )
        self._verified: dict[str, str] = {}  # token id -> sha256 of the verified token

    def issue(self, user: str) -> IssuedToken:
        """A new random token for ``user`` and its argon2 hash."""
        token_id = secrets.token_hex(8)
        token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        return IssuedToken(token_id, user, token, self._hasher.hash(token))

    def verify(self, token: str, stored_hash: str) -> bool:
        """True when ``token`` matches ``stored_hash`` (a malformed hash never matches)."""
        token_id = parse(token)
        digest = hashlib.sha256(token.encode()).hexdigest()
        if secrets.compare_digest(self._verified.get(token_id, ""), digest):
            return True
        try:
            self._hasher.verify(stored_hash, token)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        self._verified[token_id] = digest
        return True
