"""The context of a plain HTTP route that needs a signed-in viewer (an evidence file, a
report download): the one place such a route learns its viewer, or answers 401."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.authentication import UNAUTHENTICATED_BODY
from app.request_log import request_id_from
from core import telemetry
from core.context import RequestContext


def signed_in_context(request: Request) -> RequestContext | Response:
    """The request's context, or the 401 for a request the token check left anonymous."""
    state = request.scope.get("state", {})
    viewer = state.get("viewer")
    if viewer is None:
        telemetry.error("UNAUTHENTICATED")
        return Response(
            UNAUTHENTICATED_BODY,
            status_code=401,
            media_type="application/json",
            headers={"www-authenticate": "Bearer"},
        )
    return RequestContext(
        viewer=viewer,
        policy=request.app.state.policy,
        request_id=str(state.get("request_id") or request_id_from(request.scope["headers"])),
    )
