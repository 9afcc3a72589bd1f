"""The README's first command, for real: ``riverchief serve --demo`` in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

LOGIN = (
    'mutation { login(username: "county_admin", password: "demo-pass") { token errors { code } } }'
)
ME = "{ me { username roles { role orgUnit { name level } } } }"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz in time")


@pytest.fixture
def demo_server(empty_database_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "RIVERCHIEF_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    environ.pop("RIVERCHIEF_SECRET", None)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            env=environ,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        output = log_path.read_text(errors="replace")
        assert "Traceback" not in output, output


def test_serve_demo_answers_health_login_and_me(demo_server: str) -> None:
    assert httpx.get(f"{demo_server}/readyz").json()["database"] == "up"

    login = httpx.post(f"{demo_server}/graphql", json={"query": LOGIN}).json()
    token = login["data"]["login"]["token"]
    assert token and login["data"]["login"]["errors"] == []

    me = httpx.post(
        f"{demo_server}/graphql",
        json={"query": ME},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert me["data"]["me"]["username"] == "county_admin"
    assert [r["role"] for r in me["data"]["me"]["roles"]] == ["county_admin"]
    assert me["data"]["me"]["roles"][0]["orgUnit"]["level"] == "COUNTY"
    assert "威信" in me["data"]["me"]["roles"][0]["orgUnit"]["name"]


def test_graphiql_is_served_on_get(demo_server: str) -> None:
    page = httpx.get(f"{demo_server}/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
