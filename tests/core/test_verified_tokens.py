"""A remembered token is judged exactly as a decoded one: expiry and not-before are checked
on every use, a bad token is never remembered, and the memory is bounded."""

from __future__ import annotations

import time

import jwt
import pytest

from core.security import (
    TOKEN_ALGORITHM,
    TOKEN_ISSUER,
    TokenError,
    VerifiedTokens,
    decode_token,
)

SECRET = "a-secret-for-these-tests-only-" + "x" * 20


def token(*, issued: int, ttl: int = 60, subject: int = 7, secret: str = SECRET) -> str:
    payload = {
        "sub": str(subject),
        "ver": 3,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "iss": TOKEN_ISSUER,
    }
    return jwt.encode(payload, secret, algorithm=TOKEN_ALGORITHM)


def test_a_remembered_token_gives_the_claims_a_decoded_one_does() -> None:
    now = int(time.time())
    given = token(issued=now)
    tokens = VerifiedTokens(SECRET)

    first, again = tokens.claims(given), tokens.claims(given)

    assert first == again == decode_token(given, SECRET)
    assert (again.user_id, again.token_version, again.expires_at) == (7, 3, now + 60)


def test_a_remembered_token_is_refused_once_it_has_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = int(time.time())
    given = token(issued=now, ttl=30)
    tokens = VerifiedTokens(SECRET)
    tokens.claims(given)

    monkeypatch.setattr(time, "time", lambda: now + 30)  # PyJWT: expired when exp <= now

    with pytest.raises(TokenError):
        tokens.claims(given)


def test_a_remembered_token_is_refused_before_it_is_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = int(time.time())
    given = token(issued=now)
    tokens = VerifiedTokens(SECRET)
    tokens.claims(given)

    monkeypatch.setattr(time, "time", lambda: now - 5)  # the clock stepped back

    with pytest.raises(TokenError):
        tokens.claims(given)


def test_a_token_signed_with_another_secret_is_refused_every_time() -> None:
    forged = token(issued=int(time.time()), secret="another-secret-" + "y" * 30)
    tokens = VerifiedTokens(SECRET)

    for _ in range(2):
        with pytest.raises(TokenError):
            tokens.claims(forged)
    assert "0 remembered" in repr(tokens)


def test_the_memory_keeps_the_newest_tokens_up_to_its_limit() -> None:
    now = int(time.time())
    tokens = VerifiedTokens(SECRET, limit=2)
    given = [token(issued=now, subject=n) for n in (1, 2, 3)]

    claims = [tokens.claims(t).user_id for t in given]

    assert claims == [1, 2, 3]
    assert "2 remembered" in repr(tokens)
    assert SECRET not in repr(tokens)
