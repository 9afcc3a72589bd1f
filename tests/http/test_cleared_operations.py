"""A compiled query asked again skips the operation pipeline (``app.cleared_operations``) and
answers the same bytes, the same log line and the same errors; the token, the account and
the viewer's plan are still decided on every request."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from app.graphql import GraphQLApp
from app.main import create_app
from models.people import User
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, app_settings
from tests.http.test_request_logs import request_lines

ME = "query Me { me { id username } }"
UNITS = "query Units { orgUnits(first: 5) { edges { node { id name level } } totalCount } }"
TASKS = "query Tasks { tasks(first: 3) { edges { node { id title } } } }"
WITH_VARIABLES = "query Units($n: Int!) { orgUnits(first: $n) { edges { node { name } } } }"


@dataclass
class Served:
    client: GraphQLClient
    graphql: GraphQLApp
    pipeline_runs: list[str]  # the documents the schema executed, in order


@asynccontextmanager
async def served(**overrides: Any) -> AsyncIterator[Served]:
    """The app on the test database, with a record of each run of the operation pipeline."""
    app = create_app(app_settings(**overrides), register_database=False)
    graphql = next(
        route.app
        for route in app.routes
        if isinstance(route, Route)
        and route.path == "/graphql"
        and isinstance(route.app, GraphQLApp)
    )
    runs: list[str] = []
    execute = graphql.schema.execute

    async def counted(query: str | None, *args: Any, **kwargs: Any) -> Any:
        runs.append(str(query))
        return await execute(query, *args, **kwargs)

    graphql.schema.execute = counted  # type: ignore[method-assign]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Served(GraphQLClient(http), graphql, runs)


async def test_a_repeated_compiled_query_answers_the_same_bytes_without_the_pipeline(
    tree: Tree,
) -> None:
    async with served() as service, served(compiled_reads=False) as resolved:
        token = await service.client.login("zhaxi_head")
        for query in (ME, UNITS, TASKS):
            service.pipeline_runs.clear()
            answers = [await service.client.post(query, token=token) for _ in range(3)]

            assert [a.status_code for a in answers] == [200, 200, 200]
            assert answers[0].content == answers[1].content == answers[2].content
            assert service.pipeline_runs == [query]  # the first request only
            expected = (await resolved.client.post(query, token=token)).json()
            assert json.loads(answers[2].content) == expected
            assert "errors" not in expected
        assert len(service.graphql.cleared or ()) == 3


async def test_deactivation_and_revocation_hold_from_the_next_request(
    client: GraphQLClient, tree: Tree
) -> None:
    async with served() as service:
        token = await service.client.login("zhaxi_head")
        for _ in range(2):
            me = (await service.client.run(ME, token=token))["data"]["me"]
            assert me["username"] == "zhaxi_head"
        user = tree.users["zhaxi_head"]

        await User.filter(id=user.id).update(is_active=False)
        refused = await service.client.post(ME, token=token)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        await User.filter(id=user.id).update(is_active=True, token_version=user.token_version + 1)
        refused = await service.client.post(ME, token=token)
        assert refused.status_code == 401
        fresh = await service.client.login("zhaxi_head")
        assert (await service.client.run(ME, token=fresh))["data"]["me"]["username"] == "zhaxi_head"


async def test_each_viewer_gets_its_own_plan_and_anonymous_gets_the_pipelines_error(
    tree: Tree,
) -> None:
    async with served() as service, served(compiled_reads=False) as resolved:
        tokens = {
            name: await service.client.login(name)
            for name in ("zhaxi_head", "luobu_head", "village_sec")
        }
        for name, token in tokens.items():
            for _ in range(2):
                answer = (await service.client.post(UNITS, token=token)).json()
                assert answer == (await resolved.client.post(UNITS, token=token)).json(), name
        answers = [
            (await service.client.run(UNITS, token=token))["data"] for token in tokens.values()
        ]
        # Three scopes (two of them with the same roles), three answers from one document.
        assert len({json.dumps(answer) for answer in answers}) == 3

        service.pipeline_runs.clear()
        for _ in range(2):
            refused = await service.client.run(UNITS)
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert service.pipeline_runs == [UNITS, UNITS]


async def test_variables_always_take_the_pipeline(tree: Tree) -> None:
    async with served() as service:
        token = await service.client.login("zhaxi_head")
        service.pipeline_runs.clear()
        for n in (1, 2, 1):
            body = await service.client.run(WITH_VARIABLES, {"n": n}, token)
            assert len(body["data"]["orgUnits"]["edges"]) == n
        assert service.pipeline_runs == [WITH_VARIABLES] * 3
        too_many = await service.client.run(WITH_VARIABLES, {"n": 10_000}, token)
        assert too_many["errors"]


async def test_the_request_line_is_the_same_either_way(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="riverchief.request")
    async with served() as service:
        token = await service.client.login("zhaxi_head")
        caplog.clear()
        for _ in range(2):
            await service.client.post(UNITS, token=token)

    first, second = [
        {k: v for k, v in line.items() if k not in ("request_id", "duration_ms", "time")}
        for line in request_lines(caplog)
    ]
    assert first == second
    assert first["operation"] == "Units"
    assert first["operation_type"] == "query"
    assert first["outcome"] == "ok"
    assert first["sql_statements"] == 2  # the token's account and the one statement


@pytest.mark.parametrize("turned_off", ["debug", "compiled_reads", "operations_file"])
async def test_debugging_an_allow_list_or_the_resolvers_turn_it_off(
    turned_off: str, tmp_path: Path
) -> None:
    allowed = tmp_path / "operations.json"
    allowed.write_text(json.dumps([ME]), encoding="utf-8")
    overrides: dict[str, Any] = {
        "debug": {"debug": True},
        "compiled_reads": {"compiled_reads": False},
        "operations_file": {"operations_file": str(allowed)},
    }[turned_off]
    app = create_app(app_settings(**overrides), register_database=False)
    found = [
        route.app
        for route in app.routes
        if isinstance(route, Route) and isinstance(route.app, GraphQLApp)
    ]
    assert found
    assert found[0].cleared is None
