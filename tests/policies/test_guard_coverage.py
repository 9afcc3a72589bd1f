"""Every root field of the graph carries the one guard: nothing is open by omission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from policies.engine import read_role_policy
from policies.guard import Anyone, Can, LoggedIn, guard
from policies.rights import TASK_READ
from schema.build import schema as riverchief_schema

GUARDS = (Anyone, LoggedIn, Can)
# Open to anonymous callers on purpose; anything else open must be added here knowingly. The
# public complains about a river and follows its complaint by the receipt, without an account.
OPEN_ON_PURPOSE = {
    "Query.me",
    "Mutation.login",
    "Mutation.submitComplaint",
    "Query.complaintStatus",
}


def root_fields(schema: strawberry.Schema) -> Iterator[tuple[str, Any]]:
    """(``Type.field``, the Strawberry field) for every Query, Mutation and Subscription field,
    read from the executable schema so that no field added any other way is missed."""
    built = schema._schema
    for root in (built.query_type, built.mutation_type, built.subscription_type):
        if root is None:
            continue
        for name in root.fields:
            yield f"{root.name}.{name}", schema.get_field_for_type(name, root.name)


def guard_permissions(field: Any) -> list[BasePermission] | None:
    """The field's guard permissions, or None when it has no proper guard."""
    extensions = [e for e in field.extensions if isinstance(e, PermissionExtension)]
    if len(extensions) != 1:
        return None
    extension = extensions[0]
    if extension.fail_silently or not extension.permissions:
        return None
    if not all(isinstance(p, GUARDS) for p in extension.permissions):
        return None
    return list(extension.permissions)


def unguarded(schema: strawberry.Schema) -> list[str]:
    return [name for name, field in root_fields(schema) if guard_permissions(field) is None]


def test_every_query_mutation_and_subscription_field_is_guarded() -> None:
    names = [name for name, _ in root_fields(riverchief_schema)]
    missing = unguarded(riverchief_schema)
    print("root fields:", ", ".join(names))
    print("unguarded fields:", ", ".join(missing) or "none")

    assert {"Query.tasks", "Mutation.grantRole", "Query.explainAccess"} <= set(names)
    assert missing == [], f"fields without the guard from policies.guard: {missing}"


def test_only_the_fields_meant_to_be_open_are_open() -> None:
    open_fields = {
        name
        for name, field in root_fields(riverchief_schema)
        if any(isinstance(p, Anyone) for p in guard_permissions(field) or [])
    }

    assert open_fields == OPEN_ON_PURPOSE


def test_every_can_names_a_right_some_role_holds() -> None:
    """A guard asking for a right no role has would close the field to everybody."""
    held = {(r.resource, r.action) for r in read_role_policy()}
    unheld = [
        (name, str(right))
        for name, field in root_fields(riverchief_schema)
        for permission in guard_permissions(field) or []
        if isinstance(permission, Can)
        for right in permission.rights
        if (right.resource, right.action) not in held
    ]

    assert unheld == []


class Unrelated(BasePermission):
    message = "not ours"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


def test_the_walk_reports_fields_without_the_guard() -> None:
    """The check itself: a field with no guard, a foreign permission or a silent one fails."""

    @strawberry.type
    class Query:
        @strawberry.field(extensions=guard(TASK_READ))
        def guarded(self) -> int:
            return 1

        @strawberry.field
        def forgotten(self) -> int:
            return 1

        @strawberry.field(extensions=[PermissionExtension(permissions=[Unrelated()])])
        def foreign(self) -> int:
            return 1

        @strawberry.field(
            extensions=[PermissionExtension(permissions=[LoggedIn()], fail_silently=True)]
        )
        def silent(self) -> int | None:
            return 1

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def unguarded_change(self) -> int:
            return 1

    probe = strawberry.Schema(query=Query, mutation=Mutation)

    assert unguarded(probe) == [
        "Query.forgotten",
        "Query.foreign",
        "Query.silent",
        "Mutation.unguardedChange",
    ]
