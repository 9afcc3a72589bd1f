"""The error contract: user-fixable errors travel in a payload's ``errors`` list."""

from __future__ import annotations

import strawberry

from core.errors import DomainError
from schema.enums import ErrorCode


@strawberry.type(description="A problem the client can fix: bad input, workflow, conflict.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str = strawberry.field(description="A sentence a person can read.")
    code: ErrorCode = strawberry.field(description="What a client program can act on.")

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(field=error.field, message=error.message, code=error.code)
