"""With introspection off (production), no error message names what a misspelt name might be.

"Did you mean 'task' or 'tasks'?" would map the schema out for anyone, one guess at a time,
introspection or not. Asked anonymously, over HTTP and over graphql-transport-ws.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from core.settings import Settings
from tests.fixtures import TEST_AUDIT_KEY, TEST_SECRET, Tree
from tests.http.client import running_app
from tests.servers import running_server

PROTOCOL = "graphql-transport-ws"
FIELD = "{ taks { totalCount } }"
ARGUMENT = "{ tasks(frist: 1) { totalCount } }"
ENUM_VALUE = "{ tasks(filter: { status: [VERIFID] }) { totalCount } }"
INPUT_FIELD = "{ tasks(filter: { overdeu: true }) { totalCount } }"
FRAGMENT_TYPE = "{ tasks { edges { node { ...Late } } } } fragment Late on Tsak { id }"
VARIABLE_TYPE = "query($s: TaskStatsu) { me { id } }"
ENUM_IN_VARIABLE = "query($s: TaskStatus!) { tasks(filter: { status: [$s] }) { totalCount } }"
INPUT_IN_VARIABLE = "query($f: TaskFilter) { tasks(filter: $f) { totalCount } }"
SUBSCRIPTION_FIELD = "subscription { taskChangd { seq } }"
SUBSCRIPTION_ARGUMENT = "subscription { taskChanged(orgUnit: null) { seq } }"

# document, variables, the messages in production
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "field": (FIELD, {}, ["Cannot query field 'taks' on type 'Query'."]),
    "argument": (ARGUMENT, {}, ["Unknown argument 'frist' on field 'Query.tasks'."]),
    "enum value": (ENUM_VALUE, {}, ["Value 'VERIFID' does not exist in 'TaskStatus' enum."]),
    "input field": (
        INPUT_FIELD,
        {},
        [
            "Expected value of type 'TaskFilter' not to include unknown field 'overdeu',"
            " found: { overdeu: true }."
        ],
    ),
    "type in a fragment": (FRAGMENT_TYPE, {}, ["Unknown type 'Tsak'."]),
    "type of a variable": (
        VARIABLE_TYPE,
        {},
        ["Variable '$s' is never used.", "Unknown type 'TaskStatsu'."],
    ),
    "enum value in a variable": (
        ENUM_IN_VARIABLE,
        {"s": "VERIFID"},
        ["Variable '$s' has invalid value: Value 'VERIFID' does not exist in 'TaskStatus' enum."],
    ),
    "input field in a variable": (
        INPUT_IN_VARIABLE,
        {"f": {"overdeu": True}},
        [
            "Variable '$f' has invalid value: Expected value of type 'TaskFilter' not to include"
            " unknown field 'overdeu', found: {'overdeu': True}."
        ],
    ),
    "subscription field": (
        SUBSCRIPTION_FIELD,
        {},
        ["Cannot query field 'taskChangd' on type 'Subscription'."],
    ),
    "subscription argument": (
        SUBSCRIPTION_ARGUMENT,
        {},
        ["Unknown argument 'orgUnit' on field 'Subscription.taskChanged'."],
    ),
}
PRODUCTION = {
    "RIVERCHIEF_ENV": "production",
    "RIVERCHIEF_SECRET": TEST_SECRET,
    "RIVERCHIEF_AUDIT_KEY": TEST_AUDIT_KEY,
}


def settings(**environ: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": "sqlite://:memory:", **environ})


@pytest.mark.parametrize("case", CASES)
async def test_production_names_nothing_over_http(tree: Tree, case: str) -> None:
    document, variables, messages = CASES[case]

    async with running_app(settings(**PRODUCTION)) as client:
        body = await client.run(document, variables)

    assert [error["message"] for error in body["errors"]] == messages
    assert "Did you mean" not in json.dumps(body)


@pytest.mark.parametrize(
    "environ",
    [
        {"RIVERCHIEF_ENV": "development", "RIVERCHIEF_SECRET": TEST_SECRET},
        {**PRODUCTION, "RIVERCHIEF_INTROSPECTION": "on"},
    ],
    ids=["development", "production with introspection"],
)
async def test_suggestions_stay_where_the_schema_is_public(
    tree: Tree, environ: dict[str, str]
) -> None:
    async with running_app(settings(**environ)) as client:
        field = await client.run(FIELD)
        enum_in_variable = await client.run(ENUM_IN_VARIABLE, {"s": "VERIFID"})

    assert [error["message"] for error in field["errors"]] == [
        "Cannot query field 'taks' on type 'Query'. Did you mean 'task' or 'tasks'?"
    ]
    assert [error["message"] for error in enum_in_variable["errors"]] == [
        "Variable '$s' has invalid value: Value 'VERIFID' does not exist in 'TaskStatus' enum."
        " Did you mean the enum value 'VERIFIED'?"
    ]


async def test_production_names_nothing_over_graphql_transport_ws(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Every case over one anonymous connection to a production server process."""
    with running_server(
        empty_database_url,
        tmp_path,
        RIVERCHIEF_ENV="production",
        RIVERCHIEF_AUDIT_KEY=TEST_AUDIT_KEY,
    ) as server:
        async with connect(server.ws_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            for case, (document, variables, _) in CASES.items():
                subscribe = {"query": document, "variables": variables}
                await ws.send(json.dumps({"id": case, "type": "subscribe", "payload": subscribe}))
            received: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
            finished: set[str] = set()
            async with asyncio.timeout(10):
                while len(finished) < len(CASES):
                    message = json.loads(await ws.recv())
                    received[message["id"]].append(message)
                    if message["type"] in {"error", "complete"}:
                        finished.add(message["id"])

    assert ack == {"type": "connection_ack"}
    assert {case: error_messages(messages) for case, messages in received.items()} == {
        case: messages for case, (_, _, messages) in CASES.items()
    }
    assert "Did you mean" not in json.dumps(received)


def error_messages(messages: list[dict[str, Any]]) -> list[str]:
    """A refused operation ends in `error`; one whose variables fail, in `next` + `complete`."""
    errors = []
    for message in messages:
        if message["type"] == "error":
            errors.extend(message["payload"])
        elif message["type"] == "next":
            errors.extend(message["payload"]["errors"])
    return [error["message"] for error in errors]
