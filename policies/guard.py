"""The one guard: field permissions for every Query and Mutation field, and the object check.

``Can(resource, action)`` on a field refuses anonymous viewers (``UNAUTHENTICATED``) and
viewers whose roles never allow the action anywhere (``FORBIDDEN``). ``require`` decides for
one object: allowed, ``FORBIDDEN`` when the viewer may see the object but not act on it, or
``NOT_FOUND`` when the object is outside the viewer's scope. Every denial is logged, on the
``riverchief.access`` logger: by the guard and ``require`` where they refuse, and by the
guard's ``DenialLog`` for whatever else a root field refused (an object asked for by id that
reads as null, a payload error ``NOT_FOUND`` or ``FORBIDDEN``). Each logged denial is counted
too (``riverchief_authz_denials_total``), and ``DenialLog``, which sees every root field's
result, counts the payload errors it carries by code.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from core import telemetry
from core.context import RequestContext, Viewer
from core.errors import DomainError, ErrorCode

log = logging.getLogger("riverchief.access")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
DENIAL_CODES = frozenset({ErrorCode.NOT_FOUND.value, ErrorCode.FORBIDDEN.value, UNAUTHENTICATED})
DENIALS = ("access", "denials")  # the per-request count of denials logged


def viewer_of(info: Info) -> Viewer | None:
    context: RequestContext = info.context
    return context.viewer


def log_denial(context: RequestContext, resource: str, action: str, target: str) -> None:
    """One line per refusal: who, what, on which object (a path, an id, or ``*``)."""
    context.cache[DENIALS] = context.cache.get(DENIALS, 0) + 1
    telemetry.denied(resource, action)
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
            log_denial(context, self.resource, self.action, "*")
            raise GraphQLError(
                "Authentication required: log in and send the token as a bearer token.",
                extensions={"code": UNAUTHENTICATED},
            )
        if holds_anywhere(context, *self.pairs):
            return True
        log_denial(context, self.resource, self.action, "*")
        return False


def holds_anywhere(context: RequestContext, *pairs: tuple[str, str]) -> bool:
    """Some grant of the viewer's allows one of the (resource, action) pairs at some unit.

    For shared objects that belong to no unit (water bodies, the metric catalogue).
    """
    if context.viewer is None:
        return False
    held = {g.role for g in context.policy.grants_of(context.viewer.subject)}
    return any(held & set(context.policy.roles_with(r, a)) for r, a in pairs)


def guard(*permissions: BasePermission) -> list[FieldExtension]:
    """The extension list for a field: ``extensions=guard(Can("task", "read"))``."""
    named = next((p for p in permissions if isinstance(p, Can)), None)
    return [
        PermissionExtension(permissions=list(permissions)),
        DenialLog(named.resource, named.action) if named else DenialLog("node", "read"),
    ]


class DenialLog(FieldExtension):
    """Logs what a root field refused that its resolver did not log already.

    An object asked for by id (any ``id`` / ``…_id`` argument) that comes back null is not
    found or out of scope; a payload whose ``errors`` hold ``NOT_FOUND`` or ``FORBIDDEN`` and a
    top-level error with one of those codes are refusals too. Nested fields are left alone:
    a list narrowed by scope is the viewer's view, not a refusal.
    """

    def __init__(self, resource: str, action: str) -> None:
        self.resource = resource
        self.action = action

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        before = info.context.cache.get(DENIALS, 0)
        try:
            result = next_(source, info, **kwargs)
        except GraphQLError as error:
            self._refused_with(info, before, error)
            raise
        self._check(info, before, kwargs, result)
        return result

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        before = info.context.cache.get(DENIALS, 0)
        try:
            pending = next_(source, info, **kwargs)
            if inspect.isasyncgen(pending):  # a subscription: its events are scoped rows
                return pending
            result = await pending
        except GraphQLError as error:
            self._refused_with(info, before, error)
            raise
        self._check(info, before, kwargs, result)
        return result

    def _refused_with(self, info: Info, before: int, error: GraphQLError) -> None:
        code = (error.extensions or {}).get("code")
        if code in DENIAL_CODES and info.context.cache.get(DENIALS, 0) == before:
            log_denial(info.context, self.resource, self.action, f"{info.field_name}: {code}")

    def _check(self, info: Info, before: int, kwargs: dict[str, Any], result: Any) -> None:
        context: RequestContext = info.context
        for error in getattr(result, "errors", None) or ():
            telemetry.error(getattr(error, "code", None))
        if context.cache.get(DENIALS, 0) != before:
            return  # the resolver logged it where it decided
        if result is None:
            asked = {k: v for k, v in kwargs.items() if k == "id" or k.endswith("_id")}
            if asked:
                target = ",".join(f"{k}={v}" for k, v in sorted(asked.items()))
                log_denial(context, self.resource, self.action, f"{info.field_name}({target})")
            return
        for error in getattr(result, "errors", None) or ():
            code = getattr(error, "code", None)
            if code is not None and str(getattr(code, "value", code)) in DENIAL_CODES:
                field = getattr(error, "field", None) or ""
                log_denial(context, self.resource, self.action, f"{info.field_name}.{field}")
                return


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
            log_denial(info.context, "node", "read", "*")
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
