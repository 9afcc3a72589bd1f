"""The demo dataset, loaded once per module, served twice: compiled and resolved."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest_asyncio

from tests.conftest import demo_database
from tests.http.client import GraphQLClient, app_settings, running_app

ACCOUNTS = (
    "county_admin",
    "zhaxi_head",
    "luobu_head",
    "village_sec",
    "grid_leader",
    "inspector",
    "dept_head",
    "yzh_admin",
    "enterprise_chief",
    "basin_secretary",
)


@dataclass
class Answer:
    body: dict[str, Any]
    executor: str


@dataclass
class Services:
    compiled: GraphQLClient  # debugging on: each answer says which executor ran
    resolved: GraphQLClient
    tokens: dict[str | None, str | None]

    async def both(
        self, query: str, variables: dict[str, Any] | None, account: str | None
    ) -> tuple[Answer, Answer]:
        token = self.tokens[account]
        first = await self.compiled.run(query, variables, token)
        second = await self.resolved.run(query, variables, token)
        _collect_abandoned_resolvers()
        return _answer(first), _answer(second)


def _collect_abandoned_resolvers() -> None:
    """When a root field's guard refuses synchronously, graphql-core abandons the coroutines
    of the root fields before it, unawaited (the resolvers' behaviour, on either path: an
    operation with a refused field never compiles). Collected here, their warning stays here
    instead of surfacing in whichever later test the garbage collector happens to run in."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
        gc.collect()


def _answer(body: dict[str, Any]) -> Answer:
    extensions = body.pop("extensions", {}) or {}
    executor = extensions.get("debug", {}).get("executor", "")
    return Answer(body, executor)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def services() -> AsyncIterator[Services]:
    # One connection, so the resolvers' statements run in the order they are issued: when
    # several list items fail, which error is reported (and in which order) follows the order
    # of the items, not which of several connections answered first, on both services alike.
    async with demo_database(one_connection=True):
        compiled_settings = replace(app_settings(), debug=True)
        resolved_settings = replace(app_settings(), debug=True, compiled_reads=False)
        async with (
            running_app(compiled_settings) as compiled,
            running_app(resolved_settings) as resolved,
        ):
            tokens: dict[str | None, str | None] = {None: None}
            for account in ACCOUNTS:
                tokens[account] = await compiled.login(account)
            yield Services(compiled, resolved, tokens)
