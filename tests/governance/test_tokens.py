"""API tokens: random, argon2-hashed, verified by id then hash."""

from __future__ import annotations

import pytest

from gpuledger.domain import Unauthenticated
from gpuledger.governance.tokens import TokenHasher, parse

CHEAP = {"time_cost": 1, "memory_cost": 1024}


def test_an_issued_token_verifies_and_its_hash_is_argon2() -> None:
    hasher = TokenHasher(**CHEAP)
    issued = hasher.issue("alice")
    assert issued.hash.startswith("$argon2id$")
    assert issued.token not in issued.hash
    assert parse(issued.token) == issued.id
    assert hasher.verify(issued.token, issued.hash)


def test_a_token_does_not_verify_against_another_hash() -> None:
    hasher = TokenHasher(**CHEAP)
    a, b = hasher.issue("alice"), hasher.issue("alice")
    assert a.token != b.token and a.id != b.id
    assert not hasher.verify(a.token, b.hash)
    assert not TokenHasher(**CHEAP).verify(a.token, "not-a-hash")


def test_a_forged_secret_with_a_known_id_fails_even_after_the_real_one_verified() -> None:
    hasher = TokenHasher(**CHEAP)
    real = hasher.issue("alice")
    assert hasher.verify(real.token, real.hash)  # now cached
    forged = real.token[:-4] + ("AAAA" if not real.token.endswith("AAAA") else "BBBB")
    assert not hasher.verify(forged, real.hash)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bearer x",
        "gpl_123_abc",
        "gpl_zzzzzzzzzzzzzzzz_" + "a" * 40,
        "xyz_0123456789abcdef_" + "a" * 40,
    ],
    ids=["empty", "words", "short", "bad-id", "bad-prefix"],
)
def test_malformed_tokens_are_unauthenticated(text: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        parse(text)
