"""Only HTTP requests take the compiled path; its responses are the resolvers' in every
byte that matters, written as the database built them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.queries import TASK_INBOX
from tests.compiled.conftest import Services

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_body_is_the_same_json_either_way(services: Services) -> None:
    token = services.tokens["zhaxi_head"]

    compiled = await services.compiled.post(TASK_INBOX, None, token)
    resolved = await services.resolved.post(TASK_INBOX, None, token)

    assert compiled.status_code == resolved.status_code == 200
    assert compiled.headers["content-type"] == resolved.headers["content-type"]
    first, second = json.loads(compiled.content), json.loads(resolved.content)
    assert first["extensions"]["debug"]["executor"] == "compiled"
    assert second["extensions"]["debug"]["executor"] == "resolved"
    assert first["data"] == second["data"]
    # One statement for the token's account, one for the whole inbox.
    assert first["extensions"]["debug"]["sqlStatements"] == 2
    assert second["extensions"]["debug"]["sqlStatements"] > 2


async def test_a_denied_operation_gets_the_resolvers_error(services: Services) -> None:
    query = "query Anonymous { tasks(first: 1) { totalCount } }"

    compiled, resolved = await services.both(query, None, None)

    assert compiled.executor == "resolved"
    assert compiled.body == resolved.body
    assert compiled.body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_failing_plan_falls_back_to_the_resolvers(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a plan's own fault")

    monkeypatch.setattr("compiled.extension.run_plan", broken)

    compiled, resolved = await services.both(TASK_INBOX, None, "zhaxi_head")

    assert compiled.executor == "resolved"
    assert compiled.body == resolved.body
    assert "errors" not in compiled.body
