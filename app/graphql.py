"""The GraphQL endpoint: Strawberry's ASGI view with our per-request context."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.authentication import AuthenticationError, parse_bearer, viewer_for_token
from app.settings import Settings
from resolvers.context import RequestContext

ACK: UnsetType = UNSET  # acknowledge the connection without a payload
REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_of(request: Request | WebSocket) -> str:
    """The client's request id if it is a sane token, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


class GraphQLApp(GraphQL[RequestContext, None]):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> RequestContext:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = request_id
        return RequestContext(
            viewer=request.scope.get("state", {}).get("viewer"),
            policy=request.app.state.policy,
            request_id=request_id,
            secret=self.settings.secret,
            token_ttl_seconds=self.settings.token_ttl_seconds,
            client_address=request.client.host if request.client else "",
            request=request,
            response=response,
            debug=self.settings.debug,
            task_events=getattr(request.app.state, "task_events", None),
        )

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Authenticate a subscription connection with the same bearer token as HTTP."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization") or ""
        if not isinstance(raw, str) or not raw:
            return ACK  # anonymous: the subscription's guard refuses it
        token = parse_bearer(raw) or raw.strip()  # "Bearer <token>", or the bare token
        try:
            context.viewer = await viewer_for_token(token, self.settings.secret)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from exc
        return ACK
