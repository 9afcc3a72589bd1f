"""The processes a benchmark drives: the real service under uvicorn, and the floor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_SECRET = "bench-secret-" + "x" * 40
BENCH_AUDIT_KEY = "YmVuY2gtYXVkaXQta2V5LW5vdC1hLXNlY3JldC0hISE="  # 32 bytes, known to all


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen[bytes]

    def memory_kb(self) -> dict[str, int]:
        """Resident set now (VmRSS) and at its peak (VmHWM), summed over the process tree."""
        totals = {"VmRSS": 0, "VmHWM": 0}
        for pid in [self.popen.pid, *_children(self.popen.pid)]:
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                key, _, value = line.partition(":")
                if key in totals:
                    totals[key] += int(value.split()[0])
        return totals


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


def _wait_until_serving(process: Process, path: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{process.port}{path}", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not start within {timeout:.0f} s")


@contextmanager
def _running(
    name: str, command: list[str], env: dict[str, str], port: int, probe: str
) -> Iterator[Process]:
    """The process, its output in a log file whose tail is shown if anything fails."""
    with tempfile.TemporaryFile() as log:
        popen = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603
        process = Process(name, port, popen)
        try:
            _wait_until_serving(process, probe)
            yield process
        except BaseException:
            log.seek(0)
            tail = log.read()[-4000:].decode(errors="replace")
            sys.stderr.write(f"--- the last output of the {name}:\n{tail}\n")
            raise
        finally:
            if popen.poll() is None:
                popen.send_signal(signal.SIGTERM)
                try:
                    popen.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    popen.kill()
                    popen.wait()


def service_env(database_url: str, *, debug: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "RIVERCHIEF_ENV": "production",
            "RIVERCHIEF_SECRET": BENCH_SECRET,
            "RIVERCHIEF_AUDIT_KEY": BENCH_AUDIT_KEY,
            "RIVERCHIEF_DEBUG": "1" if debug else "0",
        }
    )
    return env


@contextmanager
def service(database_url: str, *, debug: bool = False, workers: int = 1) -> Iterator[Process]:
    """``riverchief serve`` as deployed: production settings, no access log."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--workers", str(workers)]
    with _running(
        "service", command, service_env(database_url, debug=debug), port, "/healthz"
    ) as p:
        yield p


@contextmanager
def floor(database_url: str) -> Iterator[Process]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = dict(os.environ, DATABASE_URL=database_url)
    with _running("floor", command, env, port, "/floor/ready") as p:
        yield p
