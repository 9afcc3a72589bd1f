"""The GraphQL endpoint: Strawberry's ASGI view with our per-request context.

A request the view cannot take (not JSON, not an object, a method or media type it does not
serve) gets a GraphQL-shaped error with a code, like every other refusal, not plain text.
Over a WebSocket only graphql-transport-ws is spoken, and each operation gets a context of
its own, authenticated anew (``app.websocket``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.authentication import AuthenticationError, authenticate, parse_bearer
from app.cleared_operations import ClearedOperations, plain_query
from app.explorer import Explorer
from app.request_log import REQUEST_ID_HEADER, request_id_from
from app.websocket import AuthorityTransportWS, LimitedWebSocketAdapter, connection_token
from compiled.response import encode_response
from core import telemetry
from core.checkpoint import log_keys
from core.context import RequestContext, Viewer
from core.evidence_files import EvidenceStore
from core.instrumentation import StatementCount
from core.json_text import dumps
from core.security import TokenClaims, TokenSigner
from core.settings import Settings

ACK: UnsetType = UNSET  # acknowledge the connection without a payload
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def http_refusal(error: HTTPException) -> JSONResponse:
    """A refusal before any GraphQL ran, in the same shape as the errors after it."""
    code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
    telemetry.error(code)
    body = {"data": None, "errors": [{"message": error.reason, "extensions": {"code": code}}]}
    headers = {"allow": "GET, POST"} if error.status_code == 405 else None
    if error.status_code == 401:
        headers = {"www-authenticate": "Bearer"}
    return JSONResponse(body, status_code=error.status_code, headers=headers)


# Two operations need two keywords: a shorthand `{ … }` beside anything else fails validation.
OPERATION_KEYWORD = re.compile(r"\b(?:query|mutation|subscription)\b")


def refuse_unnamed_choice(query: str | None) -> None:
    """A document of several operations must say which to run (GraphQL's GetOperation).

    Without this the first one would run: a client that meant another, or a document
    assembled from parts, would get an answer to a question it did not ask.
    """
    if not query or len(OPERATION_KEYWORD.findall(query)) < 2:
        return  # one operation at most, the common case: not parsed twice
    try:
        document = parse(query)
    except GraphQLError:
        return  # the view reports the syntax error itself
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > 1:
        raise HTTPException(
            400, "The document holds several operations: name the one to run in operationName."
        )


def request_id_of(request: Request | WebSocket) -> str:
    """The id the request middleware gave the request; for a WebSocket, the client's if it
    is a sane token, else a new one."""
    given = request.scope.get("state", {}).get("request_id")
    return str(given) if given else request_id_from(request.scope.get("headers", []))


TRACE_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}


def trace_headers_of(request: Request | WebSocket) -> dict[str, str]:
    """The caller's W3C trace context headers (the first of each, if not empty), read in one
    pass over the raw headers."""
    found: dict[str, str] = {}
    for name, value in request.scope.get("headers", ()):
        key = TRACE_HEADERS.get(name.lower())
        if key is not None and key not in found:
            found[key] = value.decode("latin-1")
    return {key: value for key, value in found.items() if value}


class GraphQLApp(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = AuthorityTransportWS
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(
        self, schema: Any, settings: Settings, evidence: EvidenceStore | None = None
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            # Not the legacy graphql-ws: it authenticates a connection once, for its life.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # `uploadEvidence` (the GraphQL multipart request spec); see `parse_http_body`.
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.evidence = evidence
        self.explorer = Explorer.in_checkout(settings.explorer_dir)
        self.signer = TokenSigner(settings.secret, settings.token_ttl_seconds)
        self.log_keys = log_keys(settings.audit_key, settings.audit_old_keys)
        # Repeated compiled operations skip the pipeline (``app.cleared_operations``): not
        # with tracing (each operation is a span), debugging (the response reports the
        # pipeline) or an operations file (an allow-list is checked against every request).
        shortcut = settings.compiled_reads and not (
            settings.tracing or settings.debug or settings.operations_file
        )
        self.cleared = ClearedOperations() if shortcut else None

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            return http_refusal(error)
        finally:
            if isinstance(request, Request):
                await request.close()  # an upload's spooled files, if a form was read

    async def execute_operation(
        self,
        request: Any,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """A query the compiled path answered before (same text and name, no variables) is
        answered from its plan; everything else, and anything the plan cannot answer, runs
        through the whole operation pipeline."""
        plain = plain_query(request_data, context) if self.cleared is not None else None
        if plain is not None and request_adapter.method == "POST":
            assert self.cleared is not None
            answered = await self.cleared.answer(plain, self.schema, context)
            if answered is not None:
                return answered
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if plain is not None and request_adapter.method == "POST":
            assert self.cleared is not None
            self.cleared.learn(plain, result, context)
        return result

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page, from the files the checkout installed (``app.explorer``)."""
        return self.explorer.page()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        """JSON; or, for an upload, a multipart form (the GraphQL multipart request spec).

        A browser sends a multipart form to any site without asking it first (no CORS
        preflight), so a multipart request must carry the bearer token, which a page of
        another site cannot add: an anonymous one is refused before it is parsed."""
        media_type = (request.content_type or "").partition(";")[0].strip().lower()
        if request.method == "POST" and media_type == "multipart/form-data":
            if not parse_bearer(request.headers.get("authorization") or ""):
                raise HTTPException(
                    401, "An upload needs the bearer token: Authorization: Bearer <token>."
                )
        elif request.method == "POST" and media_type != "application/json":
            raise HTTPException(415, "Send the operation as application/json.")
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not data.operation_name:
            refuse_unnamed_choice(data.query)
        return data

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """A malformed form (no boundary, too many parts) is refused like malformed JSON."""
        try:
            return await super().parse_multipart(request)
        except StarletteHTTPException as error:
            raise HTTPException(
                400, f"Unable to parse the multipart body: {error.detail}"
            ) from error

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Every error's code is counted, and the request's record learns an operation ran."""
        record = telemetry.current_request()
        if record is not None:
            record.graphql = True
        for error in result.errors or ():
            telemetry.error((error.extensions or {}).get("code"))
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> str | bytes:
        """A response or WebSocket message as UTF-8 JSON text, unescaped (``core.json_text``);
        a compiled operation's data as the database wrote it."""
        if isinstance(data, dict):
            compiled = encode_response(data)
            if compiled is not None:
                return compiled
        return dumps(data)

    def refuse_unnamed_choice(self, query: str, operation_name: str | None) -> None:
        """For a WebSocket operation: the same rule as for a request's body."""
        if not operation_name:
            refuse_unnamed_choice(query)

    def decode_json(self, data: str | bytes) -> object:
        """A WebSocket message: JSON nested too deep is not JSON this service reads."""
        try:
            return json.loads(data)
        except RecursionError as exc:
            raise json.JSONDecodeError("nested too deep", "", 0) from exc

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object, or a list (refused later: batching is off); nothing else."""
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, or nested too deep
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> RequestContext:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = request_id
        state = request.scope.get("state", {})
        return self.context_for(request, state.get("viewer"), request_id, state.get("statements"))

    def context_for(
        self,
        request: Request | WebSocket,
        viewer: Viewer | None,
        request_id: str,
        statements: StatementCount | None = None,
    ) -> RequestContext:
        context = RequestContext(
            compiled_reads=isinstance(request, Request) and self.settings.compiled_reads,
            viewer=viewer,
            policy=request.app.state.policy,
            request_id=request_id,
            signer=self.signer,
            log_keys=self.log_keys,
            trace_headers=trace_headers_of(request),
            client_address=request.client.host if request.client else "",
            debug=self.settings.debug,
            task_events=getattr(request.app.state, "task_events", None),
            request_statements=statements,
            clock_skew=timedelta(seconds=self.settings.clock_skew_seconds),
            # Files come only in multipart HTTP requests, never over the websocket.
            evidence=self.evidence if isinstance(request, Request) else None,
        )
        return context

    async def operation_context(
        self, websocket: WebSocket, token: str | None
    ) -> tuple[RequestContext, TokenClaims | None]:
        """One operation of a WebSocket connection: checked like a fresh HTTP request with
        the connection's token, with a context (and memo) of its own and a request id of its
        own. Raises ``AuthenticationError`` for a token that no longer holds."""
        if token is None:
            return self.context_for(websocket, None, request_id_of(websocket)), None
        viewer, claims = await authenticate(token, self.settings.secret)
        return self.context_for(websocket, viewer, request_id_of(websocket)), claims

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Refuse a connection whose token is bad from the start (each operation is checked
        again when it runs)."""
        token = connection_token(context.connection_params)
        if token is None:
            return ACK  # anonymous: each operation runs as an anonymous HTTP request would
        try:
            context.viewer, _ = await authenticate(token, self.settings.secret)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from exc
        return ACK
