"""Responses and WebSocket messages are UTF-8 JSON with Chinese as it is: 石龙村, not
``\\u77f3\\u9f99\\u6751``. (The compiled path: ``tests/compiled/test_unescaped_json.py``.)"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from models.org import OrgUnit
from tests.fixtures import Tree
from tests.http.client import app_settings, running_app
from tests.http.test_websocket_authority import live_app, socket, token_for

UNIT = "query Unit($id: ID!) { orgUnit(id: $id) { name } }"
NAME = "石龙村"


async def named(tree: Tree) -> str:
    await OrgUnit.filter(id=tree.units["shilong"].id).update(name=NAME)
    return tree.unit_gid("shilong")


async def test_a_resolved_response_is_unescaped_utf8(tree: Tree) -> None:
    unit = await named(tree)
    settings = replace(app_settings(), compiled_reads=False, debug=True)
    async with running_app(settings) as client:
        token = await client.login("village_sec")
        response = await client.post(UNIT, {"id": unit}, token)

    text = response.content.decode("utf-8")
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(text)["extensions"]["debug"]["executor"] == "resolved"
    assert f'{{"data":{{"orgUnit":{{"name":"{NAME}"}}}}' in text
    assert "\\u" not in text


async def test_a_websocket_message_is_unescaped_utf8(tree: Tree) -> None:
    unit = await named(tree)
    async with live_app() as live, socket(live, token_for(tree.users["village_sec"])) as ws:
        op = await ws.start(UNIT, {"id": unit})
        raw = await asyncio.wait_for(ws.ws.recv(), 10)

    assert isinstance(raw, str)  # a text frame, as graphql-transport-ws needs
    payload = f'{{"data":{{"orgUnit":{{"name":"{NAME}"}}}}}}'
    assert raw == f'{{"id":"{op}","type":"next","payload":{payload}}}'
