"""``deploy/entrypoint.sh``, run as the container runs it, without the container.

Production settings, a fresh database, two worker processes: the script waits for the
database, migrates, becomes the server (``exec``), and stops cleanly on SIGTERM. And it
refuses to start when production settings are missing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ON_POSTGRES
from tests.fixtures import TEST_AUDIT_KEY
from tests.servers import assert_no_traceback, free_port
from tests.tcp_proxy import TcpProxy

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"
PRODUCTION_SECRET = "entrypoint-test-secret-long-enough-for-production"
GRACEFUL_TIMEOUT = 5
PASSWORD = "Chishui-river-2026"

ANONYMOUS = "{ me { username } tasks(first: 1) { totalCount } }"
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { token errors { code message } }
}
"""
ME = "{ me { username roles { role } } }"


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """What a container would have: our variables only, and the installed ``riverchief``."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("RIVERCHIEF_") and name != "DATABASE_URL"
    }
    venv_bin = str(Path(sys.executable).parent)
    return {
        **inherited,
        "PATH": f"{venv_bin}{os.pathsep}{inherited.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "RIVERCHIEF_ENV": "production",
        "RIVERCHIEF_SECRET": PRODUCTION_SECRET,
        "RIVERCHIEF_AUDIT_KEY": TEST_AUDIT_KEY,
        **extra,
    }


def assert_clean(output: str) -> None:
    """No traceback, whether logged as text or inside a JSON log line (production's default)."""
    assert_no_traceback(output, ())
    assert "Traceback" not in output, output


def run_entrypoint(
    env: dict[str, str], workdir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENTRYPOINT), *args],
        env=env,
        cwd=workdir,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Deployment:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, what: str, check: Any, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the entrypoint exited early:\n{self.output()}")
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} not within {seconds} s:\n{self.output()}")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", self.output())}


@contextmanager
def deployed(database_url: str, workdir: Path, workers: int) -> Iterator[Deployment]:
    """The entrypoint with no arguments, as the container starts it.

    In a session of its own, so that if a test fails, everything it started (the workers
    too) is killed with it.
    """
    port = free_port()
    env = production_env(
        database_url,
        RIVERCHIEF_HOST="127.0.0.1",
        RIVERCHIEF_PORT=str(port),
        RIVERCHIEF_WORKERS=str(workers),
        RIVERCHIEF_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT),
        RIVERCHIEF_DB_WAIT="10",
    )
    log_path = workdir / "entrypoint.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Deployment(f"http://127.0.0.1:{port}", process, log_path)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# Several worker processes need PostgreSQL (`serve` refuses them on SQLite).
WORKERS = 2 if ON_POSTGRES else 1


def test_entrypoint_migrates_serves_its_workers_and_stops_on_sigterm(
    empty_database_url: str, tmp_path: Path
) -> None:
    with deployed(empty_database_url, tmp_path, workers=WORKERS) as service:
        service.wait_for("/readyz 200", service.ready)
        service.wait_for("the workers", lambda: len(service.worker_pids()) == WORKERS)

        # The fresh database was migrated before the server started, and the script
        # replaced itself with the server: the process we started is uvicorn's parent, or
        # with one worker the server itself.
        assert "database is up to date" in service.output()
        if WORKERS > 1:
            assert f"Started parent process [{service.process.pid}]" in service.output()
        else:
            assert service.worker_pids() == {service.process.pid}

        anonymous = service.graphql(ANONYMOUS)
        assert anonymous["data"] is None
        assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]

        # An account made the way an operator would, through the same script and database.
        created = run_entrypoint(
            production_env(empty_database_url),
            tmp_path,
            "create-user",
            "operator",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr
        assert "created user operator" in created.stdout
        assert_clean(created.stderr)

        login = service.graphql(LOGIN, {"u": "operator", "p": PASSWORD})["data"]["login"]
        assert login["errors"] == []
        # Several requests: whichever worker answers checks the token with the same secret.
        for _ in range(6):
            me = service.graphql(ME, token=login["token"])
            assert me == {"data": {"me": {"username": "operator", "roles": []}}}

        workers = service.worker_pids()
        service.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        status = service.process.wait(timeout=GRACEFUL_TIMEOUT + 10)
        took = time.monotonic() - started

    output = service.output()
    # A lone uvicorn re-raises the SIGTERM it handled; a supervisor of workers exits 0.
    assert status == (0 if WORKERS > 1 else -signal.SIGTERM), output
    assert took < GRACEFUL_TIMEOUT, output
    assert output.count("Application shutdown complete.") == WORKERS, output
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert_clean(output)


def test_entrypoint_refuses_production_without_a_secret(tmp_path: Path) -> None:
    database = tmp_path / "never.sqlite3"
    env = production_env(f"sqlite://{database}")
    del env["RIVERCHIEF_SECRET"]

    result = run_entrypoint(env, tmp_path)

    assert result.returncode == 2
    # The service's own message, said once: the script does not repeat the check.
    assert result.stderr.strip() == (
        "riverchief: RIVERCHIEF_SECRET must be set when RIVERCHIEF_ENV=production"
    )
    assert result.stdout == ""
    assert not database.exists()


def test_entrypoint_refuses_production_without_a_database_url(tmp_path: Path) -> None:
    env = production_env("")
    del env["DATABASE_URL"]

    result = run_entrypoint(env, tmp_path)

    assert result.returncode == 2
    assert "DATABASE_URL must be set when RIVERCHIEF_ENV=production" in result.stderr
    # Not the service's fallback: no SQLite file inside the container.
    assert list(tmp_path.iterdir()) == []


def test_entrypoint_gives_up_on_an_absent_database_in_bounded_time(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there
    env = production_env(
        f"postgres://postgres@127.0.0.1:{closed_port}/riverchief", RIVERCHIEF_DB_WAIT="2"
    )

    started = time.monotonic()
    result = run_entrypoint(env, tmp_path)
    took = time.monotonic() - started

    assert result.returncode == 1
    assert "the database did not accept connections within 2 s" in result.stderr
    assert "waiting for the database" in result.stderr
    assert 2 <= took < 15
    assert_clean(result.stderr)


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite is a file: there is no server to wait for")
def test_entrypoint_waits_for_the_database_then_carries_on(
    empty_database_url: str, tmp_path: Path
) -> None:
    prefix, _, rest = empty_database_url.partition("@")
    host_port, _, database = rest.partition("/")
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(free_port(), host, int(port or 5432))  # refuses until restored
    try:
        env = production_env(f"{prefix}@127.0.0.1:{proxy.port}/{database}", RIVERCHIEF_DB_WAIT="20")
        process = subprocess.Popen(
            [str(ENTRYPOINT), "migrate"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.5)
        assert process.poll() is None, "gave up while the database was still starting"
        proxy.restore()
        stdout, stderr = process.communicate(timeout=30)
    finally:
        proxy.close()

    assert process.returncode == 0, stderr
    assert "waiting for the database" in stderr
    assert stdout.strip().endswith("database is up to date")
    assert_clean(stderr)
