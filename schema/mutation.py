"""The write side of the graph. Each mutation returns its object and ``errors``."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from policies.guard import Anyone, Can, guard
from resolvers import accounts, grants
from resolvers.errors import DomainError
from schema.context import ctx
from schema.errors import UserError
from schema.node import pk_of
from schema.people import RoleGrant

T = TypeVar("T")


async def attempt(work: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work; a domain error becomes the payload's ``errors``."""
    try:
        return await work, []
    except DomainError as error:
        return None, [UserError.of(error)]


@strawberry.type(description="A bearer token on success, or why the login failed.")
class LoginPayload:
    token: str | None
    errors: list[UserError]


@strawberry.input(description="Who gets which role, at which unit (covering its subtree).")
class GrantRoleInput:
    user_id: strawberry.ID
    role: str = strawberry.field(
        description="county_admin, township_head, village_secretary, grid_leader, "
        "department_head, inspector or enterprise_chief."
    )
    org_unit_id: strawberry.ID


@strawberry.type(description="The grant made or removed, or why not.")
class RoleGrantPayload:
    grant: RoleGrant | None
    errors: list[UserError]


def _grant_args(input: GrantRoleInput) -> tuple[int, str, int]:
    return pk_of(input.user_id, "User") or -1, input.role, pk_of(input.org_unit_id, "OrgUnit") or -1


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=guard(Anyone()), description="Exchange a password for a token.")
    async def login(self, info: Info, username: str, password: str) -> LoginPayload:
        token, errors = await attempt(accounts.login(ctx(info), username, password))
        return LoginPayload(token=token, errors=errors)

    @strawberry.mutation(
        extensions=guard(Can("grant", "grant")),
        description="Grant a role at a unit: only inside your scope and only rights you hold.",
    )
    async def grant_role(self, info: Info, input: GrantRoleInput) -> RoleGrantPayload:
        row, errors = await attempt(grants.grant_role(ctx(info), *_grant_args(input)))
        return RoleGrantPayload(grant=RoleGrant.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        extensions=guard(Can("grant", "grant")),
        description="Revoke a role at a unit, under the same rules as granting it.",
    )
    async def revoke_role(self, info: Info, input: GrantRoleInput) -> RoleGrantPayload:
        row, errors = await attempt(grants.revoke_role(ctx(info), *_grant_args(input)))
        return RoleGrantPayload(grant=RoleGrant.of(row) if row else None, errors=errors)
