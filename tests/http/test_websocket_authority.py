"""Authority over graphql-transport-ws: every operation is checked like a fresh HTTP request.

The app is served in-process by uvicorn on a free port, on the test's own database, and a
real WebSocket client talks to it; accounts are deactivated through the code the operator's
``riverchief deactivate-user`` runs, and grants revoked through ``revokeRole``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
import uvicorn
from graphql import parse, validate
from tortoise import connections
from tortoise.context import TortoiseContext
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.main import create_app
from core.context import RequestContext
from core.security import issue_token
from core.settings import Settings
from models.audit import AuditEvent
from models.people import User
from models.policy import CasbinRule
from models.task import Task
from policies.engine import PolicyEngine
from resolvers.account_status import deactivate_user
from schema.node import to_global_id
from schema.observation import INTERNAL, Observation
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.fixtures import TEST_SECRET, Tree
from tests.hostile import GRAPH, Baseline, ordinary_operation, snapshot
from tests.http.client import app_settings
from tests.servers import free_port, running_server

PROTOCOL = "graphql-transport-ws"
ME = "query Me { me { username } }"
TASKS = "query Tasks { tasks(first: 100) { totalCount edges { node { title } } } }"
CREATE_TASK = """
mutation Create($unit: ID!) {
  createTask(input: { title: "written over a dead socket", category: PATROL, orgUnitId: $unit }) {
    task { id } errors { code }
  }
}
"""
TASK_CHANGED = "subscription Changes { taskChanged { action task { title } } }"
URGE = """
mutation Urge($id: ID!) {
  transitionTask(input: { taskId: $id, action: URGE, note: "report by Friday" }) {
    errors { code }
  }
}
"""
REVOKE = """
mutation Revoke($input: GrantRoleInput!) { revokeRole(input: $input) { errors { code } } }
"""
BY_STATUS = "query ByStatus($s: [TaskStatus!]) { tasks(filter: { status: $s }) { totalCount } }"
SIGN_OUT = {
    "deactivated": "deactivate",
    "signed out": "bump the token version",
}


# -- the server and its client ------------------------------------------------------------


@dataclass
class Live:
    """The app served by uvicorn in this process, and an HTTP client for it."""

    base: str
    http: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/graphql"

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


def open_database_url() -> str:
    """The URL of the test's database: on PostgreSQL the app then LISTENs on it, as served."""
    if not ON_POSTGRES:
        return "sqlite://:memory:"
    name = connections.get("default").database
    return f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"


@asynccontextmanager
async def live_app(settings: Settings | None = None) -> AsyncIterator[Live]:
    settings = replace(settings or app_settings(), database_url=open_database_url())
    app = create_app(settings, register_database=False)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            yield Live(base, http)
    finally:
        server.should_exit = True
        await serving


@dataclass
class Socket:
    """One graphql-transport-ws connection; answers are read per operation id."""

    ws: ClientConnection
    inbox: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: int = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def start(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self.ids += 1
        op = str(self.ids)
        await self.send(
            {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        return op

    async def next_for(self, op: str, seconds: float = 5) -> dict[str, Any]:
        """The next message about ``op``; others are kept for later."""
        async with asyncio.timeout(seconds):
            while not self.inbox.get(op):
                message = json.loads(await self.ws.recv())
                self.inbox.setdefault(message.get("id", ""), []).append(message)
        return self.inbox[op].pop(0)

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A query or mutation's last word: its ``error``, or its ``next`` (then ``complete``)."""
        op = await self.start(query, variables)
        first = await self.next_for(op, 30)
        if first["type"] == "next":
            assert await self.next_for(op) == {"id": op, "type": "complete"}
        return first


@asynccontextmanager
async def socket(live: Live, token: str | None) -> AsyncIterator[Socket]:
    async with connect(live.ws_url, subprotocols=[PROTOCOL], max_size=None) as ws:  # type: ignore[list-item]
        params = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": params}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack == {"type": "connection_ack"}, ack
        yield Socket(ws)


def token_for(user: User, ttl: int = 600) -> str:
    return issue_token(user.id, user.token_version, TEST_SECRET, ttl)


async def assert_the_socket_answers_as_http(
    tree: Tree,
    viewers: list[str],
    operations: list[tuple[str, dict[str, Any]]],
    over_http: dict[str, list[Any]],
) -> None:
    """Each viewer's operations over the websocket answer what they answered over HTTP."""
    async with live_app() as live:
        for viewer in viewers:
            async with socket(live, token_for(tree.users[viewer])) as ws:
                over_socket = [await ws.run(q, v) for q, v in operations]
            for (query, _), http, answer in zip(
                operations, over_http[viewer], over_socket, strict=True
            ):
                assert answer["type"] == "next", (viewer, query, answer)
                assert answer["payload"] == http, (viewer, query)


def error_codes(message: dict[str, Any]) -> list[str | None]:
    """The codes of an ``error`` message, or of a ``next`` message's errors."""
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    return [(e.get("extensions") or {}).get("code") for e in errors or []]


def assert_refused(message: dict[str, Any], op: str | None = None) -> None:
    assert message["type"] == "error", message
    assert error_codes(message) == ["UNAUTHENTICATED"], message
    if op is not None:
        assert message["id"] == op


async def sign_out(tree: Tree, username: str, how: str) -> None:
    user = tree.users[username]
    if how == "deactivated":
        await deactivate_user(None, user.id)  # what `riverchief deactivate-user` runs
    else:
        await User.filter(id=user.id).update(token_version=user.token_version + 1)


async def audit_trail() -> list[tuple[int, str]]:
    return list(await AuditEvent.all().order_by("seq").values_list("seq", "action"))


# -- (a) a deactivated account's open socket --------------------------------------------------


async def test_a_deactivated_account_runs_nothing_more_over_its_open_socket(tree: Tree) -> None:
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        before_deactivation = await ws.run(ME)
        await deactivate_user(None, tree.users["zhaxi_head"].id)
        tasks, trail = await Task.all().count(), await audit_trail()

        created = await ws.run(CREATE_TASK, {"unit": tree.unit_gid("zhaxi")})
        me = await ws.run(ME)

    assert before_deactivation["payload"]["data"] == {"me": {"username": "zhaxi_head"}}
    assert_refused(created)
    assert_refused(me)
    assert await Task.all().count() == tasks
    assert await Task.filter(title="written over a dead socket").count() == 0
    assert await audit_trail() == trail
    assert trail[-1][1] == "user.deactivate"


# -- (b) an expired token on an open socket -----------------------------------------------------


async def test_an_expired_token_answers_nothing_over_its_open_socket(tree: Tree) -> None:
    token = token_for(tree.users["zhaxi_head"], ttl=2)
    expires = time.time() + 2
    async with live_app() as live, socket(live, token) as ws:
        fresh = await ws.run(ME)
        await asyncio.sleep(max(0.0, expires - time.time()) + 1.1)
        me = await ws.run(ME)
        tasks = await ws.run(TASKS)

    assert fresh["payload"]["data"] == {"me": {"username": "zhaxi_head"}}
    assert_refused(me)
    assert_refused(tasks)


# -- (c) a revoked grant narrows the scope at once ----------------------------------------------


async def extra_grant(tree: Tree, username: str, role: str, unit: str) -> None:
    await CasbinRule.create(
        ptype="g", v0=f"user:{tree.users[username].id}", v1=role, v2=f"{tree.units[unit].path}*"
    )


def revocation(tree: Tree, username: str, role: str, unit: str) -> dict[str, Any]:
    return {
        "input": {"userId": tree.user_gid(username), "role": role, "orgUnitId": tree.unit_gid(unit)}
    }


def titles(message: dict[str, Any]) -> set[str]:
    edges = message["payload"]["data"]["tasks"]["edges"]
    return {edge["node"]["title"] for edge in edges}


async def test_a_revoked_grant_narrows_the_next_query_over_the_same_socket(tree: Tree) -> None:
    await extra_grant(tree, "zhaxi_head", "township_head", "luobu")
    admin = token_for(tree.users["county_admin"])
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        both = await ws.run(TASKS)
        revoked = await live.graphql(
            REVOKE, revocation(tree, "zhaxi_head", "township_head", "luobu"), admin
        )
        narrowed = await ws.run(TASKS)

    assert revoked.json() == {"data": {"revokeRole": {"errors": []}}}
    zhaxi = {
        "task of zhaxi",
        "task of shilong",
        "task of dahetan",
        "task of grid_a",
        "task of grid_b",
        "task of enterprise",
    }
    luobu = {"task of luobu", "task of luobu_village", "task of grid_c"}
    assert titles(both) == zhaxi | luobu
    assert titles(narrowed) == zhaxi


async def test_an_open_subscription_follows_a_revoked_grant(tree: Tree) -> None:
    await extra_grant(tree, "zhaxi_head", "township_head", "luobu")
    admin = token_for(tree.users["county_admin"])
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        op = await ws.start(TASK_CHANGED)
        await asyncio.sleep(0.3)
        await live.graphql(URGE, {"id": tree.task_gid("luobu")}, admin)
        heard_before = await ws.next_for(op)
        await live.graphql(REVOKE, revocation(tree, "zhaxi_head", "township_head", "luobu"), admin)
        await live.graphql(URGE, {"id": tree.task_gid("luobu")}, admin)
        await live.graphql(URGE, {"id": tree.task_gid("zhaxi")}, admin)
        heard_after = await ws.next_for(op)

    assert heard_before["payload"]["data"]["taskChanged"]["task"]["title"] == "task of luobu"
    # The luobu change made after the revocation is not heard; the zhaxi one after it is.
    assert heard_after["payload"]["data"]["taskChanged"]["task"]["title"] == "task of zhaxi"


# -- (d) an open subscription ends when its viewer loses authority ------------------------------


@pytest.mark.parametrize("how", SIGN_OUT)
async def test_an_open_subscription_ends_within_two_seconds_of_losing_authority(
    tree: Tree, how: str
) -> None:
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        op = await ws.start(TASK_CHANGED)
        await asyncio.sleep(0.3)
        await sign_out(tree, "zhaxi_head", how)
        started = time.monotonic()
        message = await ws.next_for(op, seconds=5)
        took = time.monotonic() - started

    print(f"{how}: the subscription ended after {took:.2f} s")
    assert_refused(message, op)
    assert took < 2


async def test_an_open_subscription_ends_when_its_token_expires(tree: Tree) -> None:
    expires = time.time() + 2
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"], ttl=2)) as ws:
        op = await ws.start(TASK_CHANGED)
        message = await ws.next_for(op, seconds=6)
        late = time.time() - expires

    assert_refused(message, op)
    assert late < 2


async def test_an_event_after_deactivation_is_not_delivered(tree: Tree) -> None:
    """The change is made the instant after the account is deactivated: the subscription
    ends without describing it, before the periodic check would have come round."""
    admin = token_for(tree.users["county_admin"])
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        op = await ws.start(TASK_CHANGED)
        await asyncio.sleep(0.3)
        await deactivate_user(None, tree.users["zhaxi_head"].id)
        await live.graphql(URGE, {"id": tree.task_gid("zhaxi")}, admin)
        message = await ws.next_for(op)

    assert_refused(message, op)
    assert "task of zhaxi" not in json.dumps(message)


# -- (e) every mutation of the schema, as a deactivated account ---------------------------------


def baseline(tree: Tree) -> Baseline:
    return Baseline(
        {
            "unit": tree.unit_gid("zhaxi"),
            "user": tree.user_gid("zhaxi_head"),
            "actor": tree.user_gid("zhaxi_head"),
            "author": tree.user_gid("zhaxi_head"),
            "assignee": to_global_id("Person", tree.people["zhaxi"].id),
            "task": tree.task_gid("zhaxi"),
            "default": tree.task_gid("zhaxi"),
        }
    )


async def test_every_mutation_is_refused_over_the_socket_of_a_deactivated_account(
    db: TortoiseContext, tree: Tree
) -> None:
    assert GRAPH.mutation_type is not None
    names = sorted(GRAPH.mutation_type.fields)
    bodies = {name: ordinary_operation("Mutation", name, baseline(tree)) for name in names}
    for name, body in bodies.items():  # the documents themselves are fine
        assert validate(GRAPH, parse(body["query"])) == [], name
    async with live_app() as live, socket(live, token_for(tree.users["county_admin"])) as ws:
        await deactivate_user(None, tree.users["county_admin"].id)
        tables, trail = await snapshot(db), await audit_trail()

        answers = {name: await ws.run(body["query"], body["variables"]) for name in names}

    assert {"createTask", "grantRole", "revokeRole", "login"} <= set(names)
    refused = {
        name for name, answer in answers.items() if error_codes(answer) == ["UNAUTHENTICATED"]
    }
    assert {n: answers[n] for n in names if n not in refused} == {}
    assert all(answer["type"] == "error" for answer in answers.values())
    assert await snapshot(db) == tables
    assert await audit_trail() == trail


# -- (f) frames over the body limit --------------------------------------------------------------


def ping_of(size: int) -> str:
    """A ``ping`` message of exactly ``size`` bytes."""
    empty = json.dumps({"type": "ping", "payload": {"pad": ""}})
    return json.dumps({"type": "ping", "payload": {"pad": "x" * (size - len(empty))}})


async def test_a_frame_over_the_body_limit_closes_the_socket(tree: Tree) -> None:
    limit = app_settings().max_body_bytes
    async with live_app() as live, socket(live, None) as ws:
        await ws.ws.send(ping_of(limit))
        at_the_limit = json.loads(await asyncio.wait_for(ws.ws.recv(), 5))
        await ws.ws.send(ping_of(limit + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.ws.recv(), 5)

    assert at_the_limit == {"type": "pong"}
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4413, "Frame too large")


async def test_riverchief_serve_does_not_take_a_frame_over_the_body_limit(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The server process refuses the frame itself (WebSocket's 1009), before buffering it."""
    limit = Settings.from_env({}).max_body_bytes
    with running_server(empty_database_url, tmp_path) as server:
        async with connect(server.ws_url, subprotocols=[PROTOCOL], max_size=None) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
            await ws.send(ping_of(limit + 1))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # "message too big"


# -- (g) a status list of half a million -------------------------------------------------------


async def test_half_a_million_statuses_get_a_coded_error_on_both_transports(tree: Tree) -> None:
    roomy = replace(app_settings(), max_body_bytes=16 * 1024 * 1024)
    statuses = {"s": ["ASSIGNED"] * 500_000}
    admin = token_for(tree.users["county_admin"])
    async with live_app(roomy) as live, socket(live, admin) as ws:
        over_http = await live.graphql(BY_STATUS, statuses, admin)
        over_ws = await ws.run(BY_STATUS, statuses)
        few = await ws.run(BY_STATUS, {"s": ["ASSIGNED", "ASSIGNED", "DRAFT"]})

    assert over_http.status_code == 200
    assert [e["extensions"]["code"] for e in over_http.json()["errors"]] == ["VALIDATION"]
    assert over_ws["type"] == "next", over_ws
    assert error_codes(over_ws) == ["VALIDATION"]
    assert over_ws["payload"]["errors"][0]["message"] == ("A task filter names at most 7 statuses.")
    assert few["payload"] == {"data": {"tasks": {"totalCount": 11}}}  # all of Weixin's


async def test_a_status_list_over_the_body_limit_is_refused_on_both_transports(
    tree: Tree,
) -> None:
    statuses = {"s": ["ASSIGNED"] * 500_000}
    admin = token_for(tree.users["county_admin"])
    async with live_app() as live, socket(live, admin) as ws:
        over_http = await live.graphql(BY_STATUS, statuses, admin)
        op = await ws.start(BY_STATUS, statuses)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.next_for(op)

    assert over_http.status_code == 413
    assert [e["extensions"]["code"] for e in over_http.json()["errors"]] == ["REQUEST_TOO_LARGE"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4413


# -- the socket's other errors are coded, as over HTTP -----------------------------------------


async def test_refusals_over_the_socket_carry_the_codes_http_gives(tree: Tree) -> None:
    deep = "query Deep { me { roles { orgUnit " + "{ parent " * 20 + "{ id }" + " }" * 21 + " } }"
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        syntax = await ws.run("query Broken { me { ")
        unknown = await ws.run("query Unknown { nothingHere }")
        too_deep = await ws.run(deep)
        no_query = await ws.run("")
        unnamed_choice = await ws.run("query A { me { username } } query B { me { username } }")

    assert error_codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    assert error_codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]
    assert error_codes(too_deep) == ["QUERY_TOO_COMPLEX"]
    assert error_codes(no_query) == ["BAD_REQUEST"]
    assert error_codes(unnamed_choice) == ["BAD_REQUEST"]
    assert unnamed_choice["payload"][0]["message"] == (
        "The document holds several operations: name the one to run in operationName."
    )


async def test_operations_beyond_the_connection_limit_get_a_coded_error(tree: Tree) -> None:
    async with live_app() as live, socket(live, token_for(tree.users["zhaxi_head"])) as ws:
        for _ in range(100):
            await ws.start(TASK_CHANGED)
        one_too_many = await ws.start(TASK_CHANGED)
        refused = await ws.next_for(one_too_many)

    assert error_codes(refused) == ["TOO_MANY_OPERATIONS"]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested too deep"),
        pytest.param(json.dumps({"id": ["x"], "type": "subscribe", "payload": {}}), id="list id"),
        pytest.param(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 5}}), id="query 5"
        ),
        pytest.param(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "{ me { id } }", "variables": [1]},
                }
            ),
            id="variables a list",
        ),
    ],
)
async def test_a_malformed_frame_closes_the_socket_as_the_protocol_says(
    tree: Tree, frame: str
) -> None:
    async with live_app() as live, socket(live, None) as ws:
        await ws.ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.ws.recv(), 5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_the_legacy_graphql_ws_protocol_is_not_spoken(tree: Tree) -> None:
    """Its connections were authenticated once; only graphql-transport-ws is served."""
    async with (
        live_app() as live,
        connect(live.ws_url, subprotocols=["graphql-ws"]) as ws,  # type: ignore[list-item]
    ):
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


# -- errors in streamed results are masked like any other ---------------------------------------


@strawberry.type
class Boom:
    @strawberry.field
    def secret(self) -> int:
        raise RuntimeError("SELECT password FROM user_account")


@strawberry.type
class BoomSubscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("SELECT password FROM user_account")


BOOM = strawberry.Schema(query=Boom, subscription=BoomSubscription, extensions=[Observation])


async def as_sent(schema: strawberry.Schema, document: str, context: Any) -> list[Any]:
    """Each streamed result as a transport sends it: formatted the moment it is yielded."""
    return [
        (result.data, [error.formatted for error in result.errors or []])
        async for result in await schema.stream(document, context_value=context)
    ]


async def test_an_unexpected_error_in_a_streamed_result_is_masked_with_the_request_id() -> None:
    context = RequestContext(viewer=None, policy=PolicyEngine(), request_id="req-ws-1")

    query = await as_sent(BOOM, "{ secret }", context)
    ticks = await as_sent(BOOM, "subscription { ticks }", context)

    masked = {
        "message": "Internal error. Quote request id req-ws-1 when reporting it.",
        "extensions": {"code": INTERNAL, "requestId": "req-ws-1"},
    }
    assert query == [
        (None, [{**masked, "locations": [{"line": 1, "column": 3}], "path": ["secret"]}])
    ]
    assert ticks == [({"ticks": 1}, []), (None, [masked])]
