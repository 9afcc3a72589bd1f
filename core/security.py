"""Password hashing (argon2id) and signed, expiring bearer tokens (HS256 JWT)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_ALGORITHM = "HS256"  # noqa: S105
TOKEN_ISSUER = "riverchief"  # noqa: S105
# Verifying against this keeps a login for an unknown user as slow as one for a known user.
_DUMMY_HASH = _hasher.hash("riverchief-timing-equaliser")


MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "1234567890",
        "qwertyuiop",
        "123456789a",
        "iloveyou123",
        "admin12345",
        "welcome123",
        "riverchief",
    }
)


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused, or None. Applies to passwords set from now on."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "a password has at most 256 characters"
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 2:
        return "a password mixes at least two of: lower case, upper case, digits, symbols"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "that password is too easy to guess"
    if username and username.lower() in password.lower():
        return "a password must not contain the username"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class TokenError(Exception):
    """The bearer token is malformed, tampered, expired, not yet valid or unsigned."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int
    expires_at: int
    # The later of ``nbf`` and ``iat``: before it the token is not valid yet.
    valid_from: int = 0

    def current(self, now: float) -> bool:
        """Whether the token is valid at ``now``, as PyJWT judges ``exp``, ``nbf``, ``iat``."""
        return self.valid_from <= now < self.expires_at


def issue_token(user_id: int, token_version: int, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "iss": TOKEN_ISSUER,
    }
    return jwt.encode(payload, secret, algorithm=TOKEN_ALGORITHM)


class TokenSigner:
    """Issues bearer tokens and keyed digests with a key it never hands out.

    What the request context carries instead of the secret itself, so nothing that reads
    the context (a resolver, a log line, a debugger's repr) can see it.
    """

    __slots__ = ("_secret", "_ttl_seconds")

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl_seconds = ttl_seconds

    def __repr__(self) -> str:
        return "TokenSigner(<hidden>)"

    def issue(self, user_id: int, token_version: int) -> str:
        return issue_token(user_id, token_version, self._secret, self._ttl_seconds)

    def digest(self, text: str) -> str:
        """A keyed digest (HMAC-SHA256, hex) that ties equal texts together, revealing none."""
        return hmac.new(self._secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def decode_token(token: str, secret: str) -> TokenClaims:
    """Only HS256 is accepted: ``alg: none`` and algorithm confusion fail here."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"require": ["sub", "exp", "iat", "nbf", "iss"]},
        )
        found = TokenClaims(
            user_id=int(payload["sub"]),
            token_version=int(payload.get("ver", 0)),
            expires_at=int(payload["exp"]),
            valid_from=max(int(payload["nbf"]), int(payload["iat"])),
        )
        if not 0 < found.user_id < 2**31:
            # No account has it (ids are 32-bit), and PostgreSQL would refuse the lookup.
            raise ValueError("subject out of range")
        return found
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError(str(exc)) from exc


VERIFIED_TOKENS = 4096  # distinct tokens remembered per secret: a few per active account


class VerifiedTokens:
    """The claims of tokens whose signature has been checked, so a token seen again is not
    decoded and its HMAC not recomputed on every request.

    A token is a fixed string: once its signature verified under this secret it always will.
    What changes with time is re-checked on every hit (``exp``, ``nbf``, ``iat``), so a
    remembered token expires exactly when a decoded one would. Only tokens that verified are
    remembered; a bad one is decoded (and refused) every time. Whether the account still
    holds (sign-out, deactivation) is not a property of the token and is never cached here.
    """

    __slots__ = ("_claims", "_limit", "_secret")

    def __init__(self, secret: str, limit: int = VERIFIED_TOKENS) -> None:
        self._secret = secret
        self._claims: dict[str, TokenClaims] = {}
        self._limit = limit

    def __repr__(self) -> str:
        return f"VerifiedTokens(<hidden>, {len(self._claims)} remembered)"

    def claims(self, token: str) -> TokenClaims:
        """Like ``decode_token``; raises ``TokenError`` for a token that does not hold now."""
        found = self._claims.get(token)
        if found is None:
            found = decode_token(token, self._secret)
            if len(self._claims) >= self._limit:
                del self._claims[next(iter(self._claims))]  # the oldest remembered
            self._claims[token] = found
        elif not found.current(time.time()):
            raise TokenError("the token is expired or not valid yet")
        return found


@functools.cache
def verified_tokens(secret: str) -> VerifiedTokens:
    """The process's memory of verified tokens for ``secret``."""
    return VerifiedTokens(secret)
