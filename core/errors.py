"""Domain errors: what a client did wrong, with a code it can act on."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONFLICT = "CONFLICT"
    VALIDATION = "VALIDATION"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


class DomainError(Exception):
    """What resolvers raise for anything a client can fix or must be told.

    One channel: a mutation's ``attempt`` turns it into the payload's ``errors``, except
    ``FORBIDDEN``; anywhere else, and ``FORBIDDEN`` always, it reaches the client as a
    top-level error whose ``extensions.code`` is ``code`` (``schema.observation``; README,
    "Errors")."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def bad_input(message: str) -> DomainError:
    """Malformed query arguments (bad cursor, page size, ID): raised from a query field it is
    a top-level error with code ``VALIDATION``, like every ``DomainError`` that is not caught
    into a mutation payload."""
    return DomainError(ErrorCode.VALIDATION, message)


UNAVAILABLE_MESSAGE = "The database is unavailable. Try again in a few seconds."


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) means the database cannot be reached right now."""
    import asyncpg
    from tortoise.exceptions import DBConnectionError

    transient = (
        OSError,
        DBConnectionError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
    )
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, transient):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
