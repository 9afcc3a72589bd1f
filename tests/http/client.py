"""The real Starlette app, driven in-process over ASGI, on the test's own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx

from app.main import create_app
from core.settings import Settings
from tests.fixtures import TEST_SECRET

CLIENT_ADDRESS = "127.0.0.1"  # the in-process client's socket peer, unless a test names another


def app_settings(**overrides: Any) -> Settings:
    base = Settings.from_env(
        {
            "RIVERCHIEF_ENV": "test",
            "RIVERCHIEF_SECRET": TEST_SECRET,
            "DATABASE_URL": "sqlite://:memory:",
        }
    )
    return replace(base, **overrides)


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def run(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The JSON body of a request the transport accepted (any status but 5xx)."""
        response = await self.post(query, variables, token)
        assert response.status_code < 500, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(self, username: str, password: str = "demo-pass") -> str:
        body = await self.run(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
            " { token errors { code message } } }",
            {"u": username, "p": password},
        )
        token = body["data"]["login"]["token"]
        assert token, body
        return str(token)


@asynccontextmanager
async def running_app(settings: Settings | None = None) -> AsyncIterator[GraphQLClient]:
    """The app with its lifespan (policy load, watcher) on the already-open test database."""
    async with clients_from(CLIENT_ADDRESS, settings=settings) as (client,):
        yield client


@asynccontextmanager
async def clients_from(
    *addresses: str, settings: Settings | None = None
) -> AsyncIterator[tuple[GraphQLClient, ...]]:
    """One app, and a client for each address: the socket peer the app sees for its requests,
    as if each were a machine of its own."""
    app = create_app(settings or app_settings(), register_database=False)
    async with app.router.lifespan_context(app), AsyncExitStack() as stack:
        clients = []
        for address in addresses:
            transport = httpx.ASGITransport(app=app, client=(address, 50_000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            clients.append(GraphQLClient(await stack.enter_async_context(http)))
        yield tuple(clients)
