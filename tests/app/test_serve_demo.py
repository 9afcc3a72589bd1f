"""The README's first command, for real: ``riverchief serve --demo`` in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_without_the_npm_step_graphiql_says_how_to_install_it(demo_server: Server) -> None:
    """The server's folder has no explorer/node_modules (the browser test has the real page)."""
    page = httpx.get(f"{demo_server.base}/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 503
    assert "GraphiQL is not installed" in page.text
    assert "npm ci --prefix explorer" in page.text


def test_several_workers_on_sqlite_are_refused_before_anything_starts(tmp_path: Path) -> None:
    """Each process would hold its own policy: a grant made through one would not reach
    the others. Refused with the reason, and no database is created."""
    database = tmp_path / "one.sqlite3"
    finished = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", "1"],
        env={**os.environ, "DATABASE_URL": f"sqlite://{database}", "RIVERCHIEF_ENV": "test"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2
    assert "several worker processes need PostgreSQL" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not database.exists()
