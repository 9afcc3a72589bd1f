"""The one guard: field permissions for every Query and Mutation field, and the object check.

``Can(resource, action)`` on a field refuses anonymous viewers (``UNAUTHENTICATED``) and
viewers whose roles never allow the action anywhere (``FORBIDDEN``). ``require`` decides for
one object: allowed, ``FORBIDDEN`` when the viewer may see the object but not act on it, or
``NOT_FOUND`` when the object is outside the viewer's scope. Every denial is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from resolvers.context import RequestContext, Viewer
from resolvers.errors import DomainError, ErrorCode

log = logging.getLogger("riverchief.access")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"


def viewer_of(info: Info) -> Viewer | None:
    context: RequestContext = info.context
    return context.viewer


def log_denial(context: RequestContext, resource: str, action: str, target: str) -> None:
    viewer = context.viewer.id if context.viewer else None
    log.warning(
        "access denied viewer=%s resource=%s action=%s target=%s request=%s",
        viewer,
        resource,
        action,
        target,
        context.request_id,
    )


class Anyone(BasePermission):
    """Open on purpose (``login``, ``me``): marks a field as reviewed, not forgotten."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


class Can(BasePermission):
    """The viewer holds some role that allows ``action`` on ``resource`` somewhere.

    ``alternatives`` are other (resource, action) pairs that also open the field, e.g. an
    inspector files findings through the same mutation others use for records.
    """

    def __init__(self, resource: str, action: str, *alternatives: tuple[str, str]) -> None:
        self.resource = resource
        self.action = action
        self.pairs = ((resource, action), *alternatives)
        self.message = f"You may not {action} {resource}."
        self.error_extensions = {"code": FORBIDDEN}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context: RequestContext = info.context
        if context.viewer is None:
            raise GraphQLError(
                "Authentication required: log in and send the token as a bearer token.",
                extensions={"code": UNAUTHENTICATED},
            )
        held = {g.role for g in context.policy.grants_of(context.viewer.subject)}
        for resource, action in self.pairs:
            if held & set(context.policy.roles_with(resource, action)):
                return True
        log_denial(context, self.resource, self.action, "*")
        return False


def guard(*permissions: BasePermission) -> list[FieldExtension]:
    """The extension list for a field: ``extensions=guard(Can("task", "read"))``."""
    return [PermissionExtension(permissions=list(permissions))]


def allowed(context: RequestContext, resource: str, action: str, path: str, level: str) -> bool:
    """The authoritative single-object decision (``enforce``), memoised per request."""
    if context.viewer is None or not path:
        return False
    key = ("enforce", resource, action, path, level)
    decision = context.cache.get(key)
    if decision is None:
        decision = context.cache[key] = context.policy.enforce(
            context.viewer.subject, path, level, resource, action
        )
    return bool(decision)


def require(
    context: RequestContext,
    resource: str,
    action: str,
    path: str,
    level: str,
    *,
    field: str | None = None,
    read_resource: str | None = None,
) -> None:
    """Raise ``NOT_FOUND`` outside the viewer's scope, ``FORBIDDEN`` inside it."""
    if allowed(context, resource, action, path, level):
        return
    log_denial(context, resource, action, path)
    if action != "read" and allowed(context, read_resource or resource, "read", path, level):
        raise DomainError(ErrorCode.FORBIDDEN, f"You may not {action} this {resource}.", field)
    raise DomainError(ErrorCode.NOT_FOUND, f"No such {read_resource or resource}.", field)


class LoggedIn(BasePermission):
    """Any authenticated account (``node``: the object's own check follows)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if viewer_of(info) is None:
            raise GraphQLError(
                "Authentication required: log in and send the token as a bearer token.",
                extensions={"code": UNAUTHENTICATED},
            )
        return True


def require_action(
    context: RequestContext,
    resource: str,
    action: str,
    path: str,
    level: str,
    *,
    field: str | None = None,
) -> None:
    """For an object the viewer already sees: ``FORBIDDEN`` unless the action is allowed."""
    if allowed(context, resource, action, path, level):
        return
    log_denial(context, resource, action, path)
    raise DomainError(ErrorCode.FORBIDDEN, f"You may not {action} this {resource}.", field)
