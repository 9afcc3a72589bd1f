"""No secret in the open: not in any log line at DEBUG, not in any error a client is sent.

A realistic session — logins right and wrong, personal data read, tasks changed, requests
refused, forged tokens, a password sent where it does not belong — runs three ways: in-process
with every logger at DEBUG, as ``riverchief create-user`` and as ``riverchief serve --demo``
in processes of their own with the root logger at DEBUG, writing text and writing JSON. Then
every captured line (in-process, also as the JSON line production writes, with the request
line's fields), and every error message the clients were sent, is searched for the passwords
typed, the tokens issued (and their signatures), the signing secret, the stored password
hashes, and the phone and ID numbers of the people involved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import asyncpg
import httpx
import pytest
import yaml

from app.logs import JsonFormatter
from core.security import issue_token
from tests.fixtures import PASSWORD_HASH, TEST_SECRET, Tree
from tests.http.client import GraphQLClient
from tests.servers import SECRET as SERVER_SECRET
from tests.servers import Server, free_port, server_process

ROOT = Path(__file__).resolve().parents[2]
LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
    " { token errors { code message } } }"
)
ME = "{ me { username } }"
PERSON = "query($id: ID!) { node(id: $id) { ... on Person { name phone idNumber } } }"
WRONG_PASSWORDS = ["Wrong-Pass-7731!", "Chishui-guess-4410"]
# Every logger that could print what passes through it, at its most talkative.
LOGGERS = [
    "",
    "riverchief",
    "tortoise",
    "tortoise.db_client",
    "asyncpg",
    "aiosqlite",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "strawberry",
    "casbin",
    "httpx",
]
# Run a command of ``riverchief`` the way an operator debugging it would: root logger at DEBUG.
AT_DEBUG = (
    "import logging, sys;"
    "logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(name)s: %(message)s');"
    "from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def secrets_in(text: str, secrets: set[str]) -> list[str]:
    """The secrets found in ``text`` as they are, URL-encoded (an access log) or JSON-escaped."""
    found = []
    for secret in secrets:
        forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
        if secret and any(form in text for form in forms):
            found.append(secret)
    return sorted(found)


def token_parts(token: str) -> set[str]:
    """The token, and its signature alone (the part that must never be seen)."""
    return {token, token.rsplit(".", 1)[-1]}


def hash_parts(stored: str) -> set[str]:
    """An argon2 hash, and its salt and digest alone."""
    return {stored, *[p for p in stored.split("$") if len(p) >= 16]}


def client_errors(body: Any) -> str:
    """What a client is told about anything that went wrong: every error's text."""
    found = [e.get("message", "") for e in body.get("errors") or []]
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            found += [e.get("message", "") for e in value.get("errors") or []]
    return "\n".join(found)


# ----- in-process, every logger at DEBUG -----


async def test_a_session_leaves_no_secret_in_the_logs_or_the_errors(
    client: GraphQLClient, tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[str] = []

    async def call(
        query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        response = await client.post(query, variables, token)
        body = response.json()
        errors.append(client_errors(body))
        return body

    # Each login costs an argon2 check: one right, one wrong for a real and for an unknown
    # name; the other accounts get tokens the way a login issues them.
    body = await call(LOGIN, {"u": "zhaxi_head", "p": "demo-pass"})
    tokens = {"zhaxi_head": body["data"]["login"]["token"]}
    for username in ("inspector", "grid_leader"):
        user = tree.users[username]
        tokens[username] = issue_token(user.id, user.token_version, TEST_SECRET, 600)
    await call(LOGIN, {"u": "zhaxi_head", "p": WRONG_PASSWORDS[0]})
    await call(LOGIN, {"u": "nobody-here", "p": WRONG_PASSWORDS[1]})

    for username in ("zhaxi_head", "inspector"):  # in full, then masked
        await call(PERSON, {"id": _person_gid(tree, "shilong")}, tokens[username])
    await call(
        "mutation($id: ID!) { transitionTask(input: { taskId: $id, action: URGE,"
        ' note: "report by Friday" }) { errors { code message } } }',
        {"id": tree.task_gid("shilong")},
        tokens["zhaxi_head"],
    )
    await call("{ auditEvents { totalCount } }", token=tokens["grid_leader"])  # refused
    await call("{ tasks { totalCount } }")  # anonymous: refused
    await call(PERSON, {"id": tree.user_gid("zhaxi_head")}, tokens["grid_leader"])
    await call(ME, token=tokens["zhaxi_head"][:-4] + "AAAA")  # forged signature: 401
    await call(ME, token=tokens["inspector"] + "x")
    await call('{ task(id: "junk") { id } }', token=tokens["zhaxi_head"])
    await call("{ nosuchfield }", token=tokens["zhaxi_head"])

    secrets = {"demo-pass", *WRONG_PASSWORDS, TEST_SECRET, *hash_parts(PASSWORD_HASH)}
    secrets |= {part for token in tokens.values() for part in token_parts(token)}
    secrets |= {p.phone for p in tree.people.values()} | {p.id_number for p in tree.people.values()}
    as_json = JsonFormatter()
    logged = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}\n{as_json.format(r)}"
        for r in caplog.records
    )
    assert caplog.records, "nothing was captured: the check would prove nothing"
    request_lines = [r for r in caplog.records if r.name == "riverchief.request"]
    assert len(request_lines) >= 13, "the request lines were not captured"
    assert secrets_in(logged, secrets) == []
    assert secrets_in("\n".join(errors), secrets) == []


def _person_gid(tree: Tree, unit: str) -> str:
    from schema.node import to_global_id

    return to_global_id("Person", tree.people[unit].id)


# ----- riverchief create-user, in its own process, at DEBUG -----


async def stored_hashes(database_url: str) -> set[str]:
    """Every password hash in the database, read directly."""
    if database_url.startswith("sqlite://"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as conn:
            rows = conn.execute("SELECT password_hash FROM user_account").fetchall()
        return {str(row[0]) for row in rows}
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT password_hash FROM user_account")
    finally:
        await conn.close()
    return {str(row["password_hash"]) for row in rows}


async def run_cli(database_url: str, *args: str, stdin: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        AT_DEBUG,
        *args,
        cwd=ROOT,
        env={**_environment(), "DATABASE_URL": database_url, "RIVERCHIEF_SECRET": SERVER_SECRET},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    return int(process.returncode or 0), output.decode(errors="replace")


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


async def test_create_user_at_debug_logs_neither_the_password_nor_its_hash(
    empty_database_url: str,
) -> None:
    password = "Yangzonghai-Lake-2026!"

    status, output = await run_cli(
        empty_database_url,
        "create-user",
        "lake_operator",
        "--password-stdin",
        stdin=password + "\n",
    )

    assert status == 0, output
    assert "DEBUG" in output, "the command did not log at DEBUG: the check would prove nothing"
    secrets = {password, SERVER_SECRET}
    for stored in await stored_hashes(empty_database_url):
        secrets |= hash_parts(stored)
    assert secrets_in(output, secrets) == []


# ----- riverchief serve --demo, in its own process, at DEBUG -----


@contextmanager
def serving_at_debug(database_url: str, workdir: Path, log_format: str) -> Iterator[Server]:
    port = free_port()
    # uvicorn's access line too (off by default): it must not keep a query string either.
    command = [sys.executable, "-c", AT_DEBUG, "serve", "--demo", "--access-log"]
    command += ["--port", str(port)]
    environ = {
        **_environment(),
        "DATABASE_URL": database_url,
        "RIVERCHIEF_SECRET": SERVER_SECRET,
        "RIVERCHIEF_ENV": "development",
        "RIVERCHIEF_LOG_FORMAT": log_format,
    }
    with server_process(command, port, environ, workdir, start_within=120) as server:
        yield server


def demo_personal_data() -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("phone", "id_number") and isinstance(value, str) and value:
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ROOT / "demo" / "data").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_real_server_at_debug_logs_no_secret(
    empty_database_url: str, tmp_path: Path, log_format: str
) -> None:
    personal = demo_personal_data()
    assert len(personal) > 10
    errors: list[str] = []
    with serving_at_debug(empty_database_url, tmp_path, log_format) as server:
        session = await asyncio.to_thread(demo_session, server, errors)
        output_during = server.output()
    output = server.output()

    assert "DEBUG" in output_during, "the server did not log at DEBUG"
    if log_format == "json":
        request_lines = [
            json.loads(line) for line in output.splitlines() if '"riverchief.request"' in line
        ]
        assert len(request_lines) >= 8 and all(line["request_id"] for line in request_lines)
    secrets = {"demo-pass", *WRONG_PASSWORDS, SERVER_SECRET} | personal
    secrets |= {part for token in session["tokens"] for part in token_parts(token)}
    for stored in await stored_hashes(empty_database_url):
        secrets |= hash_parts(stored)
    assert session["read_in_full"] & personal, "no personal data was read: nothing to look for"
    assert secrets_in(output, secrets) == []
    assert secrets_in("\n".join(errors), secrets) == []


def demo_session(server: Server, errors: list[str]) -> dict[str, Any]:
    """Blocking HTTP calls, run in a thread: the server is another process."""
    url = f"{server.base}/graphql"

    def call(query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
        )
        assert response.status_code < 500, response.text
        body = response.json()
        errors.append(client_errors(body))
        return body

    tokens = [
        call(LOGIN, {"u": u, "p": "demo-pass"})["data"]["login"]["token"]
        for u in ("county_admin", "inspector")
    ]
    for password in WRONG_PASSWORDS:
        call(LOGIN, {"u": "county_admin", "p": password})
    # A client that sends the login over GET puts the password in the URL: refused, and the
    # access log must not keep it.
    httpx.get(
        url,
        params={
            "query": LOGIN,
            "variables": json.dumps({"u": "county_admin", "p": WRONG_PASSWORDS[0]}),
        },
        timeout=30,
    )
    people = call(
        "{ tasks(first: 50) { edges { node { assignee { id phone idNumber } } } } }",
        token=tokens[0],
    )
    read = {
        value
        for edge in people["data"]["tasks"]["edges"]
        if edge["node"]["assignee"]
        for value in (edge["node"]["assignee"]["phone"], edge["node"]["assignee"]["idNumber"])
    }
    for edge in people["data"]["tasks"]["edges"][:3]:
        if edge["node"]["assignee"]:
            call(PERSON, {"id": edge["node"]["assignee"]["id"]}, tokens[1])  # masked
    call("{ auditEvents(first: 5) { totalCount } }", token=tokens[1])
    call("{ me { username } }", token=tokens[0][:-3] + "abc")  # forged: 401
    call("{ tasks { totalCount } }")  # anonymous: refused
    call('{ node(id: "junk") { id } }', token=tokens[0])
    return {"tokens": tokens, "read_in_full": read}
