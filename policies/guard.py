"""The one guard on every Query and Mutation field.

Field-level permission classes decide whether an operation may run at all; object-level
decisions (``authorize``) and list narrowing (``policies.scope``) come from the same policy.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from resolvers.context import RequestContext, Viewer


class Anyone(BasePermission):
    """Open on purpose (``login``, ``me``): marks a field as reviewed, not forgotten."""

    message = "never refused"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


class Authenticated(BasePermission):
    """Any logged-in account. Anonymous requests get ``UNAUTHENTICATED``."""

    message = "Authentication required: log in and send the token as a bearer token."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return viewer_of(info) is not None


def viewer_of(info: Info) -> Viewer | None:
    context: RequestContext = info.context
    return context.viewer
