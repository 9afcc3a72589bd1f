"""The one guard: each root field declares the rights it needs, once, and that declaration
gives the field's check, the object check's vocabulary and the sentence clients read.

``guard(TASK_VERIFY, …)`` on a field refuses anonymous viewers (``UNAUTHENTICATED``) and
viewers whose roles never allow any of the rights anywhere (``FORBIDDEN``), through
Strawberry's own permission classes, which only decide; the error comes from their
``message`` and ``error_extensions``. The field's description gains "Requires `task:verify`
at the issuing unit." and its SDL the ``@can(rights: …)`` directive.

``require`` decides for one object, at the unit the right names (``Site.unit_for``):
allowed, ``FORBIDDEN`` when the viewer may see the object but not act on it, or ``NOT_FOUND``
when the object is outside the viewer's sight. Every denial is logged on the
``riverchief.access`` logger and counted (``riverchief_authz_denials_total``): by the guard and
``require`` where they refuse, and by ``DenialLog`` for whatever else a root field refused (an
object asked for by id that reads as null, a payload error ``NOT_FOUND`` or ``FORBIDDEN``).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import strawberry
from graphql import GraphQLError
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from core import telemetry
from core.context import RequestContext, Viewer
from core.errors import DomainError, ErrorCode
from policies.rights import On, Right

log = logging.getLogger("riverchief.access")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
DENIAL_CODES = frozenset({ErrorCode.NOT_FOUND.value, ErrorCode.FORBIDDEN.value, UNAUTHENTICATED})
SIGN_IN = "Authentication required: log in and send the token as a bearer token."


class UnitLike(Protocol):
    """An org unit as the checks need it: where it sits in the tree and at which level."""

    @property
    def path(self) -> str: ...

    @property
    def level(self) -> Any: ...  # an ``OrgLevel`` (its ``value`` is the policy's level)


@dataclass(frozen=True)
class AtLevel:
    """A unit's place judged as if it were of another level (a role's level-bound rules)."""

    path: str
    level: str


@dataclass(frozen=True)
class Site:
    """Where an object sits: its own unit and, for a task, the unit that issued it."""

    unit: UnitLike
    issuer: UnitLike | None = None

    def unit_for(self, right: Right) -> UnitLike:
        if right.on is On.ISSUER and self.issuer is not None:
            return self.issuer
        return self.unit


def viewer_of(info: Info) -> Viewer | None:
    context: RequestContext = info.context
    return context.viewer


def log_denial(context: RequestContext, right: Right, target: str) -> None:
    """One line per refusal: who, what, on which object (a path, an id, or ``*``)."""
    context.denials += 1
    telemetry.denied(right.resource, right.action)
    viewer = context.viewer.id if context.viewer else None
    log.warning(
        "access denied viewer=%s resource=%s action=%s target=%s request=%s",
        viewer,
        right.resource,
        right.action,
        target,
        context.request_id,
    )


NODE_READ = Right("node", "read")  # the label of refusals by ``node`` before the object is known


# -- the schema directives clients see ---------------------------------------------------------


CAN_RIGHTS_DESCRIPTION = (
    "The rights, any one of which opens the field: `resource:action` pairs of the role policy "
    "(docs/permissions.md), e.g. `task:verify`."
)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="can",
    description="The field needs one of these rights (`resource:action`, from the role "
    "policy) somewhere in the viewer's scope, or it is refused with a top-level FORBIDDEN "
    "error; each object is then checked at its own unit, as the field's description says.",
)
class CanDirective:
    rights: list[str]


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="anyone",
    description="Open to anonymous callers on purpose (`login`, `me`, `submitComplaint`, "
    "`complaintStatus`); every other field "
    "needs a signed-in account.",
)
class AnyoneDirective:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="loggedIn",
    description="Needs a signed-in account (`Authorization: Bearer <token>`); what it returns "
    "is then checked object by object, and what you may not read is null.",
)
class LoggedInDirective:
    pass


# -- the permission classes: they decide, Strawberry raises ------------------------------------


class Anyone(BasePermission):
    """Open on purpose (``login``, ``me``, the public's complaints): marks a field as reviewed,
    not forgotten."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True

    @property
    def schema_directive(self) -> object:
        return AnyoneDirective()


class LoggedIn(BasePermission):
    """Any authenticated account."""

    message = SIGN_IN
    error_extensions = {"code": UNAUTHENTICATED}  # noqa: RUF012 (Strawberry's own attribute)

    def __init__(self, label: Right = NODE_READ, *, shown: bool = True) -> None:
        self.label = label
        self.shown = shown  # False beside ``Can``, whose directive already implies it

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if viewer_of(info) is not None:
            return True
        log_denial(info.context, self.label, "*")
        return False

    @property
    def schema_directive(self) -> object:
        return LoggedInDirective() if self.shown else None


class Can(BasePermission):
    """The viewer holds some role that allows one of ``rights`` at some unit."""

    error_extensions = {"code": FORBIDDEN}  # noqa: RUF012 (Strawberry's own attribute)

    def __init__(self, *rights: Right, sentence: str | None = None) -> None:
        if not rights:
            raise ValueError("Can needs at least one right")
        self.rights = rights
        self._sentence = sentence
        first = rights[0]
        self.message = f"You may not {first.action} {first.resource}."
        self._directive = CanDirective(rights=sorted({str(r) for r in rights}))

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context: RequestContext = info.context
        if holds_anywhere(context, *self.rights):
            return True
        log_denial(context, self.rights[0], "*")
        return False

    @property
    def schema_directive(self) -> object:
        return self._directive

    @property
    def sentence(self) -> str:
        """What the field's description tells clients."""
        if self._sentence is not None:
            return self._sentence
        unique = list(dict.fromkeys(r.sentence for r in self.rights))
        if len(unique) == 1:
            return f"Requires {unique[0]}."
        return f"Requires one of: {'; '.join(unique)}."


def holds_anywhere(context: RequestContext, *rights: Right) -> bool:
    """Some grant of the viewer's allows one of ``rights`` at some unit.

    For shared objects that belong to no unit (water bodies, the metric catalogue).
    """
    if context.viewer is None:
        return False
    held = {g.role for g in context.policy.grants_of(context.viewer.subject)}
    return any(held & set(context.policy.roles_with(r.resource, r.action)) for r in rights)


class Guard(PermissionExtension):
    """Strawberry's permission extension, which also writes the requirement into the field's
    description, so the SDL says what a client needs."""

    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        for permission in self.permissions:
            sentence = getattr(permission, "sentence", None)
            if sentence and sentence not in (field.description or ""):
                field.description = f"{field.description or ''} {sentence}".strip()


def guard(*rights: Right, sentence: str | None = None) -> list[FieldExtension]:
    """The extensions of a field that needs one of ``rights``: ``guard(TASK_READ)``.

    ``sentence`` replaces the generated "Requires …" where the rights depend on an argument
    (``transitionTask``: which right depends on the action)."""
    permissions = [LoggedIn(rights[0], shown=False), Can(*rights, sentence=sentence)]
    return [Guard(permissions=permissions), DenialLog(rights[0])]


def signed_in() -> list[FieldExtension]:
    """Any signed-in account (``node``: the object's own check follows)."""
    return [Guard(permissions=[LoggedIn()]), DenialLog(NODE_READ)]


def open_to_anyone() -> list[FieldExtension]:
    """Anonymous callers too, on purpose (``login``, ``me``, the public's complaints)."""
    return [Guard(permissions=[Anyone()]), DenialLog(NODE_READ)]


class DenialLog(FieldExtension):
    """Logs what a root field refused that its resolver did not log already.

    An object asked for by id (any ``id`` / ``…_id`` argument) that comes back null is not
    found or out of scope; a payload whose ``errors`` hold ``NOT_FOUND`` or ``FORBIDDEN`` and a
    top-level error with one of those codes are refusals too. Nested fields are left alone:
    a list narrowed by scope is the viewer's view, not a refusal.
    """

    def __init__(self, right: Right) -> None:
        self.right = right

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        before = info.context.denials
        try:
            result = next_(source, info, **kwargs)
        except (GraphQLError, DomainError) as error:
            self._refused_with(info, before, error)
            raise
        self._check(info, before, kwargs, result)
        return result

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        before = info.context.denials
        try:
            pending = next_(source, info, **kwargs)
            if inspect.isasyncgen(pending):  # a subscription: its events are scoped rows
                return pending
            result = await pending
        except (GraphQLError, DomainError) as error:
            self._refused_with(info, before, error)
            raise
        self._check(info, before, kwargs, result)
        return result

    def _refused_with(self, info: Info, before: int, error: GraphQLError | DomainError) -> None:
        if isinstance(error, DomainError):
            code: object = error.code.value
        else:
            code = (error.extensions or {}).get("code")
        if code in DENIAL_CODES and info.context.denials == before:
            log_denial(info.context, self.right, f"{info.field_name}: {code}")

    def _check(self, info: Info, before: int, kwargs: dict[str, Any], result: Any) -> None:
        context: RequestContext = info.context
        for error in getattr(result, "errors", None) or ():
            telemetry.error(getattr(error, "code", None))
        if context.denials != before:
            return  # the resolver logged it where it decided
        if result is None:
            asked = {k: v for k, v in kwargs.items() if k == "id" or k.endswith("_id")}
            if asked:
                target = ",".join(f"{k}={v}" for k, v in sorted(asked.items()))
                log_denial(context, self.right, f"{info.field_name}({target})")
            return
        for error in getattr(result, "errors", None) or ():
            code = getattr(error, "code", None)
            if code is not None and str(getattr(code, "value", code)) in DENIAL_CODES:
                field = getattr(error, "field", None) or ""
                log_denial(context, self.right, f"{info.field_name}.{field}")
                return


# -- the object checks ---------------------------------------------------------------------------


class Decisions(dict[tuple[str, str, str, str], bool]):
    """``enforce`` answers of one request, keyed by (right, path, level)."""


def allowed(context: RequestContext, right: Right, unit: UnitLike) -> bool:
    """The authoritative single-object decision (``enforce``), memoised per request."""
    if context.viewer is None or not unit.path:
        return False
    level = unit.level.value if hasattr(unit.level, "value") else str(unit.level)
    decisions = context.memo.get(Decisions, Decisions)
    key = (right.resource, right.action, unit.path, level)
    decision = decisions.get(key)
    if decision is None:
        decision = decisions[key] = context.policy.enforce(
            context.viewer.subject, unit.path, level, right.resource, right.action
        )
    return decision


def require(context: RequestContext, right: Right, site: Site, *, field: str | None = None) -> None:
    """For an object the viewer may not see yet: ``NOT_FOUND`` outside its sight (the
    right's read counterpart), ``FORBIDDEN`` inside it."""
    unit = site.unit_for(right)
    if allowed(context, right, unit):
        return
    log_denial(context, right, unit.path)
    if right.action != "read" and allowed(context, right.sight, unit):
        raise DomainError(
            ErrorCode.FORBIDDEN, f"You may not {right.action} this {right.resource}.", field
        )
    raise DomainError(ErrorCode.NOT_FOUND, f"No such {right.sight.resource}.", field)


def require_action(
    context: RequestContext, right: Right, site: Site, *, field: str | None = None
) -> None:
    """For an object the viewer already sees: ``FORBIDDEN`` unless the right is held."""
    unit = site.unit_for(right)
    if allowed(context, right, unit):
        return
    log_denial(context, right, unit.path)
    raise DomainError(
        ErrorCode.FORBIDDEN, f"You may not {right.action} this {right.resource}.", field
    )
