"""graphql-transport-ws with the authority and the hardening of an HTTP request.

A connection is authenticated per operation, not per connection. The bearer token given in
``connection_init`` is kept by the connection (never in a request context) and every
``subscribe`` message — query, mutation or subscription — is checked with it like a fresh
HTTP request: the token's signature and expiry, the account still active, its token version
unchanged (no sign-out, no deactivation), and a fresh request context whose memo starts
empty, so grants and scope are read as they are now. A token that fails gets an ``error``
message for that operation with ``extensions.code`` ``UNAUTHENTICATED``; the socket stays
open (every later operation over it is refused the same way) and the client reconnects
with a fresh token.

An open subscription is watched by the process's ``AuthorityMonitor``: once a second it
checks every watched token's expiry on the local clock and reads every watched account
(``id``, ``is_active``, ``token_version``) in one query, so the cost is one statement a
second per process however many sockets are open. A subscription whose viewer lost its
authority ends with an ``error`` message carrying ``UNAUTHENTICATED``, within about a second
of the change. An event is checked before it is sent as well, so none goes out after the
loss. Scope is recomputed for each event from the grants held at that moment.

Frames larger than ``RIVERCHIEF_MAX_BODY_BYTES`` close the socket with ``4413`` before they
are parsed; JSON nested too deep, a message that is not an object and a malformed
``subscribe`` close it with ``4400``, as the protocol says for invalid messages. Results go
through the same schema extensions as over HTTP (limits, masking of unexpected errors with
the request id, codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, cast

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from app.authentication import UNAUTHENTICATED_MESSAGE, AuthenticationError, parse_bearer
from core import telemetry
from core.context import RequestContext
from core.errors import UNAVAILABLE_MESSAGE, database_unavailable
from core.security import TokenClaims
from models.people import User
from schema.observation import BAD_REQUEST, masked

if TYPE_CHECKING:
    from strawberry.schema.schema import StreamResult
    from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
        ConnectionInitMessage,
        Message,
        SubscribeMessage,
    )

    from app.graphql import GraphQLApp

log = logging.getLogger("riverchief.websocket")

CHECK_EVERY = 1.0  # seconds between two checks of the accounts behind open subscriptions
ACCOUNTS_PER_QUERY = 500  # well under every database's limit on bound parameters
FRAME_TOO_LARGE = 4413
INVALID_MESSAGE = 4400
UNAUTHENTICATED = "UNAUTHENTICATED"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
SUBSCRIPTION_KEYWORD = re.compile(r"\bsubscription\b")


def refusal(code: str, message: str, **extensions: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


# -- open subscriptions and the authority behind them --------------------------------------


@dataclass(eq=False)
class Watch:
    """One open subscription's token: ``lost`` is set once it no longer holds."""

    user_id: int
    token_version: int
    expires_at: int
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    def holds(self) -> bool:
        if not self.lost.is_set() and time.time() >= self.expires_at:
            self.lost.set()
        return not self.lost.is_set()


class AuthorityMonitor:
    """Tells the open subscriptions of this process when their viewer's authority ends.

    Runs only while something is watched: one check per ``every`` seconds, whose query reads
    the watched accounts in batches of ``ACCOUNTS_PER_QUERY``. A check that fails (the
    database away) is logged and tried again a second later; the subscriptions stay open
    meanwhile, as nothing can be sent to them without the database either.
    """

    def __init__(self, every: float = CHECK_EVERY) -> None:
        self.every = every
        self.checks = 0
        self._watches: set[Watch] = set()
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watching(self, claims: TokenClaims) -> Iterator[Watch]:
        watch = Watch(claims.user_id, claims.token_version, claims.expires_at)
        self._watches.add(watch)
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="websocket-authority"
            )
        try:
            yield watch
        finally:
            self._watches.discard(watch)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if not self._watches:
                self._wanted.clear()
                await self._wanted.wait()
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception as exc:  # keep watching: the next check may succeed
                if database_unavailable(exc):
                    log.warning("database unavailable while checking open subscriptions")
                else:
                    log.exception("checking the accounts of open subscriptions failed")

    async def check(self) -> None:
        """Mark every watch whose token expired or whose account changed as lost."""
        self.checks += 1
        watches = [watch for watch in self._watches if watch.holds()]
        ids = sorted({watch.user_id for watch in watches})
        versions: dict[int, int] = {}
        for start in range(0, len(ids), ACCOUNTS_PER_QUERY):
            rows = await User.filter(
                id__in=ids[start : start + ACCOUNTS_PER_QUERY], is_active=True
            ).values_list("id", "token_version")
            versions.update((int(user_id), int(version)) for user_id, version in rows)
        for watch in watches:
            if versions.get(watch.user_id) != watch.token_version:
                watch.lost.set()


# -- frames -----------------------------------------------------------------------------------


def too_large(text: str, limit: int) -> bool:
    """Whether ``text`` is over ``limit`` bytes in UTF-8 (encoded only when it could be)."""
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's ASGI adapter, refusing a frame over the body limit before parsing it."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit = cast("GraphQLApp", self.view).settings.max_body_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    if too_large(text, limit):
                        telemetry.error("REQUEST_TOO_LARGE")
                        await self.close(FRAME_TOO_LARGE, "Frame too large")
                        return
                    yield self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:  # a binary frame
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


# -- the protocol, per operation ----------------------------------------------------------------


def connection_token(params: object) -> str | None:
    """The bearer token of ``connection_init``'s payload: ``authorization: "Bearer <token>"``
    or the bare token; None for an anonymous connection."""
    if not isinstance(params, dict):
        return None
    raw = params.get("authorization") or params.get("Authorization") or ""
    if not isinstance(raw, str) or not raw.strip():
        return None
    return parse_bearer(raw) or raw.strip()  # "Bearer <token>", or the bare token


def well_formed(message: dict[str, Any]) -> bool:
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables"), dict | None)
        and isinstance(payload.get("operationName"), str | None)
        and isinstance(payload.get("extensions"), dict | None)
    )


def is_subscription(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation to run is a subscription (a document that does not parse is
    not: the schema reports its error)."""
    if not SUBSCRIPTION_KEYWORD.search(query):
        return False
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    definition = get_operation_ast(document, operation_name)
    return definition is not None and definition.operation is OperationType.SUBSCRIPTION


def ends_the_stream(result: ExecutionResult) -> bool:
    """A subscription's result that says its viewer lost authority (raised by its source)."""
    codes = [(error.extensions or {}).get("code") for error in result.errors or ()]
    return result.data is None and bool(codes) and set(codes) == {UNAUTHENTICATED}


def count_errors(errors: list[GraphQLError] | None) -> None:
    for error in errors or ():
        telemetry.error((error.extensions or {}).get("code"))


class AuthorityTransportWS(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """Strawberry's graphql-transport-ws handler, authenticating each operation anew."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token: str | None = None  # the connection's, kept out of every context

    @property
    def app(self) -> GraphQLApp:
        return cast("GraphQLApp", self.view)

    @property
    def monitor(self) -> AuthorityMonitor:
        adapter = cast("LimitedWebSocketAdapter", self.websocket)
        return cast(AuthorityMonitor, adapter.ws.app.state.authority)

    async def handle_message(self, message: Message) -> None:
        raw: object = message
        if not isinstance(raw, dict) or not isinstance(raw.get("id", ""), str):
            await self.handle_invalid_message("Invalid message")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if not self.connection_init_received:
            self.token = connection_token(payload)
        await super().handle_connection_init(message)
        params = self.context.connection_params
        if isinstance(params, dict):  # the token stays with the connection, nowhere else
            self.context.connection_params = {
                k: v for k, v in params.items() if k.lower() != "authorization"
            }

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not well_formed(cast("dict[str, Any]", message)):
            await self.handle_invalid_message("Invalid subscribe message")
            return
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and limit is not None
            and len(self.operations) >= limit
        ):
            error = refusal(
                TOO_MANY_OPERATIONS, f"At most {limit} operations run at once on one connection."
            )
            count_errors([error])
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        """Authenticate, run, and for a subscription keep watching the authority behind it."""
        try:
            context, claims = await self._authenticated(operation)
            if context is None:
                return
            try:
                self.app.refuse_unnamed_choice(operation.query, operation.operation_name)
            except HTTPException as refused:
                await self._end(operation, refusal(BAD_REQUEST, refused.reason))
                return
            subscription = is_subscription(
                operation.query, operation.operation_name, self.app.settings.max_tokens
            )
            if claims is None or not subscription:
                await self._stream(operation, context, None, subscription)
                return
            with self.monitor.watching(claims) as watch:
                await self._watched(operation, context, watch)
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _authenticated(
        self, operation: Operation[RequestContext, None]
    ) -> tuple[RequestContext | None, TokenClaims | None]:
        """The operation's own context, or (None, None) once its refusal is sent."""
        adapter = cast("LimitedWebSocketAdapter", self.websocket)
        try:
            return await self.app.operation_context(adapter.ws, self.token)
        except AuthenticationError as exc:
            log.info("refused bearer token over websocket: %s", exc)
            await self._refuse(operation)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("database unavailable while checking a token over websocket")
            await self._end(operation, refusal("SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE))
        return None, None

    async def _refuse(self, operation: Operation[RequestContext, None]) -> None:
        await self._end(operation, refusal(UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE))

    async def _end(self, operation: Operation[RequestContext, None], *errors: GraphQLError) -> None:
        """End the operation with an ``error`` message: counted, as over HTTP."""
        count_errors(list(errors))
        await operation.send_initial_errors(list(errors))

    async def _watched(
        self, operation: Operation[RequestContext, None], context: RequestContext, watch: Watch
    ) -> None:
        """Stream until it ends or the viewer's authority does, whichever comes first."""
        streaming = asyncio.ensure_future(self._stream(operation, context, watch, True))
        lost = asyncio.ensure_future(watch.lost.wait())
        try:
            await asyncio.wait({streaming, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not streaming.done():
                streaming.cancel()
                await asyncio.wait({streaming})
        if not streaming.cancelled():
            streaming.result()  # raises what the stream raised
            return
        await self._refuse(operation)

    async def _stream(
        self,
        operation: Operation[RequestContext, None],
        context: RequestContext,
        watch: Watch | None,
        subscription: bool,
    ) -> None:
        source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        try:
            async with aclosing(source):
                await self._send_results(operation, source, watch, subscription)
        except GraphQLError as error:
            # Raised by a schema extension's hook (the parser, a limit): over HTTP it is the
            # operation's one error, and so it is here. ``Observation`` has checked it.
            if "code" not in (error.extensions or {}):
                log.error("unchecked error in a websocket operation", exc_info=error)
                error = masked(error, context.request_id)
            await self._end(operation, error)
            return
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _send_results(
        self,
        operation: Operation[RequestContext, None],
        source: StreamResult,
        watch: Watch | None,
        subscription: bool,
    ) -> None:
        first = True
        async for result in source:
            if first and isinstance(result, PreExecutionError):
                count_errors(result.errors)
                await self._handle_pre_execution_error(operation, result)
                return
            first = False
            if not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            if watch is not None and not watch.holds():
                await self._refuse(operation)
                return
            count_errors(result.errors)
            if subscription and ends_the_stream(result):
                await operation.send_initial_errors(list(result.errors or ()))
                return
            await operation.send_next(result)
