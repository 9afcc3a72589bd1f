"""Typed access to the request context from a resolver's ``info``."""

from strawberry.types import Info

from core.context import RequestContext


def ctx(info: Info) -> RequestContext:
    context: RequestContext = info.context
    return context
