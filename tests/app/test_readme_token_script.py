"""The README's token script, exactly as the README shows it (read from the README, so the two
cannot drift apart), against a served demo: a token and ``me`` with the right password; with a
wrong one, ``login failed: …`` on stderr, a non-zero status, and no request sent without a
token."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Server, running_server

README = Path(__file__).resolve().parents[2] / "README.md"
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def token_script() -> str:
    scripts = [block for block in SH_BLOCK.findall(README.read_text()) if "TOKEN=$(" in block]
    assert len(scripts) == 1, scripts
    return scripts[0]


def run_script(script: str, server: Server) -> subprocess.CompletedProcess[str]:
    assert script.count("localhost:8000") == 2
    served = script.replace("localhost:8000", f"127.0.0.1:{server.port}")
    shell = shutil.which("sh")
    assert shell is not None
    return subprocess.run(
        [shell, "-c", served], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def demo_server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(empty_database_url, tmp_path, demo=True) as server:
        yield server


def test_the_readme_token_script_logs_in_and_fails_loudly(demo_server: Server) -> None:
    script = token_script()

    done = run_script(script, demo_server)

    assert done.returncode == 0, done.stderr
    me = json.loads(done.stdout)["data"]["me"]
    assert me["username"] == "zhaxi_head"
    assert [r["role"] for r in me["roles"]] == ["township_head"]
    assert done.stderr == ""

    assert script.count('\\"demo-pass\\"') == 1
    wrong = run_script(script.replace('\\"demo-pass\\"', '\\"not-the-password\\"'), demo_server)

    assert wrong.returncode != 0
    assert wrong.stdout == ""  # the second request was never sent
    assert re.fullmatch(r"login failed: .+\n", wrong.stderr), wrong.stderr
    assert "None" not in wrong.stderr
