"""The README's first command, for real: ``riverchief serve --demo`` in its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, running_server

ME = "{ me { username roles { role orgUnit { name level } } } }"


@pytest.fixture
def demo_server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    # No secret configured: the demo generates one and says so.
    with running_server(empty_database_url, tmp_path, demo=True, RIVERCHIEF_SECRET="") as server:
        yield server


def test_serve_demo_answers_health_login_and_me(demo_server: Server) -> None:
    assert httpx.get(f"{demo_server.base}/readyz").json()["database"] == "up"

    token = demo_server.login("county_admin")
    me = demo_server.graphql(ME, token=token)

    assert me["data"]["me"]["username"] == "county_admin"
    assert [r["role"] for r in me["data"]["me"]["roles"]] == ["county_admin"]
    assert me["data"]["me"]["roles"][0]["orgUnit"]["level"] == "COUNTY"
    assert "威信" in me["data"]["me"]["roles"][0]["orgUnit"]["name"]
    assert "RIVERCHIEF_SECRET is not set" in demo_server.output()


def test_graphiql_is_served_on_get(demo_server: Server) -> None:
    page = httpx.get(f"{demo_server.base}/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
