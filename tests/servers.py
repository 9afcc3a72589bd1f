"""Real server processes for tests: ``python -m app.cli serve`` on a database of the test's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SECRET = "server-test-secret-that-is-long-enough-for-hs256"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/graphql"

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )
        assert response.status_code < 500, response.text
        return response.json()

    def login(self, username: str) -> str:
        body = self.graphql(
            'mutation($u: String!) { login(username: $u, password: "demo-pass") { token } }',
            {"u": username},
        )
        return str(body["data"]["login"]["token"])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(check: Callable[[], bool], seconds: float) -> float:
    """Poll ``check`` until it holds; how long that took. Fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


def _wait_until_healthy(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited: {server.output()}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz in time")


@contextmanager
def running_server(
    database_url: str,
    workdir: Path,
    *,
    demo: bool = False,
    tolerate: tuple[str, ...] = (),
    **env: str,
) -> Iterator[Server]:
    """A server process; its log must hold no traceback when it stops.

    ``tolerate`` names loggers whose warnings may carry one (a driver reporting an outage
    the test causes on purpose).
    """
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RIVERCHIEF_SECRET": SECRET,
        "RIVERCHIEF_ENV": "development",
        **env,
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    if demo:
        command.append("--demo")
    with server_process(command, port, environ, workdir, tolerate=tolerate) as server:
        yield server


@contextmanager
def server_process(
    command: list[str],
    port: int,
    environ: dict[str, str],
    workdir: Path,
    *,
    tolerate: tuple[str, ...] = (),
    start_within: float = 60,
) -> Iterator[Server]:
    """Any command that serves on ``port``: started, waited for, stopped with SIGTERM (then
    SIGKILL), and its log checked for tracebacks."""
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env={**environ, "PYTHONUNBUFFERED": "1"}, cwd=workdir, stdout=log, stderr=log
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, start_within)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert_no_traceback(server.output(), tolerate)


def assert_no_traceback(output: str, tolerate: tuple[str, ...]) -> None:
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            logged_by = next(
                (lines[i] for i in range(index - 1, -1, -1) if not lines[i].startswith(" ")), ""
            )
            assert any(name in logged_by for name in tolerate), output
