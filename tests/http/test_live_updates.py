"""``taskChanged`` over graphql-transport-ws: authenticated, scoped, and from any process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import probe as database_probe
from tests.conftest import ON_POSTGRES
from tests.servers import Server, running_server

PROTOCOL = "graphql-transport-ws"
SUBSCRIBE = """
subscription Changes($unit: ID) {
  taskChanged(orgUnitId: $unit) { action seq task { id title status orgUnit { name } } }
}
"""
OPEN_TASKS = """
query($unit: ID!) {
  tasks(filter: { orgUnitId: $unit, includeDescendants: true, status: [ASSIGNED] }, first: 1) {
    edges { node { id title version } }
  }
}
"""
URGE = """
mutation($id: ID!) {
  transitionTask(input: { taskId: $id, action: URGE, note: "please report by Friday" }) {
    task { id } errors { code message }
  }
}
"""


@pytest.fixture
def servers(empty_database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """On PostgreSQL two processes on one database; on SQLite the one process it supports."""
    with running_server(empty_database_url, tmp_path, demo=True) as first:
        if not ON_POSTGRES:
            yield first, first
            return
        with running_server(empty_database_url, tmp_path) as second:
            yield first, second


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    return empty_database_url


async def open_subscription(
    server: Server, token: str | None, variables: dict[str, Any]
) -> ClientConnection:
    ws = await connect(server.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    params = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": params}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": variables},
            }
        )
    )
    await asyncio.sleep(0.3)  # let the server register the subscription
    return ws


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


def unit_id(server: Server, token: str, name: str) -> str:
    body = server.graphql(
        "query($n: OrgLevel) { orgUnits(level: $n, first: 100) { edges { node { id name } } } }",
        {"n": "TOWNSHIP"},
        token,
    )
    return next(
        e["node"]["id"] for e in body["data"]["orgUnits"]["edges"] if e["node"]["name"] == name
    )


def open_task(server: Server, token: str, unit: str) -> dict[str, Any]:
    body = server.graphql(OPEN_TASKS, {"unit": unit}, token)
    node: dict[str, Any] = body["data"]["tasks"]["edges"][0]["node"]
    return node


async def test_only_the_township_where_a_task_changed_hears_of_it(
    servers: tuple[Server, Server],
) -> None:
    """Two subscribers in different townships, on the process that did not make the change."""
    writer, reader = servers
    admin = writer.login("county_admin")
    zhaxi, luobu = unit_id(writer, admin, "扎西镇"), unit_id(writer, admin, "罗布镇")
    in_zhaxi, in_luobu = open_task(writer, admin, zhaxi), open_task(writer, admin, luobu)

    zhaxi_ws = await open_subscription(reader, reader.login("zhaxi_head"), {"unit": None})
    luobu_ws = await open_subscription(reader, reader.login("luobu_head"), {"unit": None})
    try:
        first = writer.graphql(URGE, {"id": in_zhaxi["id"]}, admin)
        assert first["data"]["transitionTask"]["errors"] == []
        zhaxi_heard = await next_message(zhaxi_ws)
        # luobu's first message must be luobu's own change, made after zhaxi's.
        second = writer.graphql(URGE, {"id": in_luobu["id"]}, admin)
        assert second["data"]["transitionTask"]["errors"] == []
        luobu_heard = await next_message(luobu_ws)
    finally:
        await zhaxi_ws.close()
        await luobu_ws.close()

    assert zhaxi_heard["type"] == "next", zhaxi_heard
    assert zhaxi_heard["payload"]["data"]["taskChanged"]["action"] == "task.urge"
    assert zhaxi_heard["payload"]["data"]["taskChanged"]["task"]["id"] == in_zhaxi["id"]
    assert luobu_heard["payload"]["data"]["taskChanged"]["task"]["id"] == in_luobu["id"]


async def test_a_unit_filter_narrows_the_stream(servers: tuple[Server, Server]) -> None:
    writer, reader = servers
    admin = writer.login("county_admin")
    zhaxi, luobu = unit_id(writer, admin, "扎西镇"), unit_id(writer, admin, "罗布镇")
    in_zhaxi, in_luobu = open_task(writer, admin, zhaxi), open_task(writer, admin, luobu)

    ws = await open_subscription(reader, reader.login("county_admin"), {"unit": luobu})
    try:
        writer.graphql(URGE, {"id": in_zhaxi["id"]}, admin)
        writer.graphql(URGE, {"id": in_luobu["id"]}, admin)
        message = await next_message(ws)
    finally:
        await ws.close()

    assert message["payload"]["data"]["taskChanged"]["task"]["id"] == in_luobu["id"]


async def test_a_bad_token_is_refused_at_connection(servers: tuple[Server, Server]) -> None:
    _, reader = servers
    ws = await connect(reader.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}})
    )

    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_an_anonymous_subscription_is_refused(servers: tuple[Server, Server]) -> None:
    _, reader = servers
    ws = await open_subscription(reader, None, {"unit": None})
    try:
        message = await next_message(ws)
    finally:
        await ws.close()

    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


SIGNED_OUT = {
    "deactivated": "UPDATE user_account SET is_active = false WHERE username = $1",
    "tokens revoked": "UPDATE user_account SET token_version = token_version + 1"
    " WHERE username = $1",
}


@pytest.mark.parametrize("how", SIGNED_OUT)
async def test_an_open_subscription_ends_when_its_account_is_signed_out(
    servers: tuple[Server, Server], database_url: str, how: str
) -> None:
    """The token was checked when the socket opened; the account changes afterwards. The
    next event it would have heard ends the subscription instead, with an ``error``."""
    writer, reader = servers
    admin = writer.login("county_admin")
    in_zhaxi = open_task(writer, admin, unit_id(writer, admin, "扎西镇"))
    ws = await open_subscription(reader, reader.login("zhaxi_head"), {"unit": None})
    try:
        await database_probe.execute(database_url, SIGNED_OUT[how], "zhaxi_head")
        assert (
            writer.graphql(URGE, {"id": in_zhaxi["id"]}, admin)["data"]["transitionTask"]["errors"]
            == []
        )
        message = await next_message(ws)
    finally:
        await ws.close()

    assert message["type"] == "error", message  # nothing of the task it would have seen
    assert [e["extensions"]["code"] for e in message["payload"]] == ["UNAUTHENTICATED"]
