"""One log line per request, with its id, operation, viewer, duration, SQL count and outcome;
JSON in production. In-process, each line's record is formatted the way production writes
it; then a real server with ``RIVERCHIEF_LOG_FORMAT=json`` writes the lines itself."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.logs import JsonFormatter
from core.security import issue_token
from core.settings import Settings, SettingsError
from tests.fixtures import TEST_AUDIT_KEY, TEST_SECRET, Tree
from tests.http.client import GraphQLClient, app_settings, running_app
from tests.servers import SECRET, Server, free_port, running_server, server_process

FIELDS = {
    "request_id",
    "method",
    "route",
    "status",
    "operation",
    "operation_type",
    "viewer_id",
    "duration_ms",
    "sql_statements",
    "outcome",
}
INBOX = "query TaskInbox($first: Int!) { tasks(first: $first) { totalCount } }"
PASSWORD = "Chishui-Secret-Pass-9321"


def token_for(tree: Tree, username: str) -> str:
    user = tree.users[username]
    return issue_token(user.id, user.token_version, TEST_SECRET, 600)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Each request line as production writes it: one JSON object."""
    formatter = JsonFormatter()
    lines = []
    for record in caplog.records:
        if record.name == "riverchief.request":
            text = formatter.format(record)
            assert "\n" not in text
            lines.append(json.loads(text))
    return lines


def line_for(caplog: pytest.LogCaptureFixture, request_id: str) -> dict[str, Any]:
    found = [line for line in request_lines(caplog) if line["request_id"] == request_id]
    assert len(found) == 1, request_lines(caplog)
    return found[0]


async def test_a_query_line_has_every_field(tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="riverchief.request")
    async with running_app(app_settings(debug=True)) as client:
        response = await client.http.post(
            "/graphql",
            json={"query": INBOX, "variables": {"first": 7}},
            headers={
                "Authorization": f"Bearer {token_for(tree, 'zhaxi_head')}",
                "x-request-id": "inbox-0001",
            },
        )

    body = response.json()
    line = line_for(caplog, "inbox-0001")
    assert response.headers["x-request-id"] == "inbox-0001"
    assert set(line) >= FIELDS
    assert line["level"] == "INFO" and line["logger"] == "riverchief.request"
    assert line["time"].endswith("Z")
    assert line["message"] == "request POST /graphql 200"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/graphql", 200)
    assert (line["operation"], line["operation_type"]) == ("TaskInbox", "query")
    assert line["viewer_id"] == tree.users["zhaxi_head"].id
    assert line["outcome"] == "ok"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    # The same count the debug extension reports: the token check and the operation.
    assert line["sql_statements"] == body["extensions"]["debug"]["sqlStatements"] >= 2
    (record,) = [r for r in caplog.records if r.name == "riverchief.request"]
    text = record.getMessage()  # development's text line carries the same facts
    for part in ("POST /graphql 200", "op=TaskInbox", "viewer=", "outcome=ok", "id=inbox-0001"):
        assert part in text


async def test_a_request_without_an_id_gets_one_and_it_is_returned(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="riverchief.request")
    response = await client.post("{ me { username } }")
    unsafe = await client.http.post(
        "/graphql", json={"query": "{ me { username } }"}, headers={"x-request-id": "a b\tc"}
    )
    health = await client.http.get("/healthz")

    issued = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", issued)
    line = line_for(caplog, issued)
    assert (line["operation"], line["viewer_id"], line["outcome"]) == (None, None, "ok")
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    assert line_for(caplog, health.headers["x-request-id"])["level"] == "DEBUG"  # a probe


async def test_refusals_carry_their_code_or_status(
    client: GraphQLClient, tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="riverchief.request")
    grid = token_for(tree, "grid_leader")
    forbidden = await client.post("query Audit { auditEvents { totalCount } }", token=grid)
    forged = await client.post("{ me { username } }", token=grid[:-4] + "AAAA")
    invalid = await client.post("query Broken { nosuchfield }", token=grid)
    too_large = await client.http.post(
        "/graphql", content=b"x" * (300 * 1024), headers={"content-type": "application/json"}
    )
    unknown = await client.http.get("/private-reports/2026?token=abcdef123456")

    def line(response: httpx.Response) -> dict[str, Any]:
        return line_for(caplog, response.headers["x-request-id"])

    assert (line(forbidden)["outcome"], line(forbidden)["status"]) == ("FORBIDDEN", 200)
    assert line(forbidden)["viewer_id"] == tree.users["grid_leader"].id
    assert (line(forged)["outcome"], line(forged)["status"]) == ("UNAUTHENTICATED", 401)
    assert line(forged)["viewer_id"] is None
    assert line(invalid)["outcome"] == "GRAPHQL_VALIDATION_FAILED"
    assert (line(invalid)["operation"], line(invalid)["operation_type"]) == ("Broken", "unknown")
    assert (line(too_large)["outcome"], line(too_large)["status"]) == ("REQUEST_TOO_LARGE", 413)
    assert (line(unknown)["route"], line(unknown)["outcome"]) == ("_other", "http_404")
    written = json.dumps(request_lines(caplog))
    assert "private-reports" not in written and "abcdef123456" not in written


async def test_no_variable_password_or_token_reaches_the_line(
    client: GraphQLClient, tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = token_for(tree, "zhaxi_head")
    await client.post(
        "mutation SignIn($u: String!, $p: String!) { login(username: $u, password: $p)"
        " { token errors { code } } }",
        {"u": "zhaxi_head", "p": PASSWORD},
    )
    await client.post(f'{{ me {{ username }} }} # "{PASSWORD}"', token=token)

    lines = request_lines(caplog)
    assert [line["operation"] for line in lines] == ["SignIn", None]
    assert lines[0]["outcome"] == "INVALID_CREDENTIALS"
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (PASSWORD, token, token.rsplit(".", 1)[-1], TEST_SECRET):
        assert secret not in everything


def test_the_format_follows_the_environment_unless_set() -> None:
    secret = {"RIVERCHIEF_SECRET": "s" * 40, "RIVERCHIEF_AUDIT_KEY": TEST_AUDIT_KEY}
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"RIVERCHIEF_ENV": "production", **secret}).log_format == "json"
    assert Settings.from_env({"RIVERCHIEF_LOG_FORMAT": "JSON"}).log_format == "json"
    production_text = {"RIVERCHIEF_ENV": "production", "RIVERCHIEF_LOG_FORMAT": "text", **secret}
    assert Settings.from_env(production_text).log_format == "text"
    with pytest.raises(SettingsError, match="RIVERCHIEF_LOG_FORMAT"):
        Settings.from_env({"RIVERCHIEF_LOG_FORMAT": "xml"})


# ----- a real server, writing JSON -----


def session(server: Server) -> list[str]:
    ids = []
    for request_id, query in [
        ("real-query-01", "query Whoami { me { username } }"),
        ("real-refused-1", "query Tasks { tasks { totalCount } }"),
    ]:
        response = httpx.post(
            f"{server.base}/graphql",
            json={"query": query},
            headers={"x-request-id": request_id},
            timeout=30,
        )
        assert response.headers["x-request-id"] == request_id
        ids.append(request_id)
    return ids


async def test_a_real_server_writes_one_json_line_per_request(
    empty_database_url: str, tmp_path: Path
) -> None:
    with running_server(empty_database_url, tmp_path, RIVERCHIEF_LOG_FORMAT="json") as server:
        ids = await asyncio.to_thread(session, server)
        await asyncio.sleep(0.2)  # the line is written once the response has gone
        output = server.output()

    lines = output.splitlines()
    started = next(i for i, line in enumerate(lines) if "Application startup complete" in line)
    written = [json.loads(line) for line in lines[started:] if line.strip()]  # all JSON
    by_id = {
        entry["request_id"]: entry for entry in written if entry["logger"] == "riverchief.request"
    }
    query, refused = by_id[ids[0]], by_id[ids[1]]
    assert set(query) >= FIELDS
    assert (query["operation"], query["status"], query["outcome"]) == ("Whoami", 200, "ok")
    assert (query["viewer_id"], query["sql_statements"]) == (None, 0)
    assert (refused["operation"], refused["outcome"]) == ("Tasks", "UNAUTHENTICATED")
    # One line per request: ours. uvicorn's access line is only there when asked for.
    assert [e for e in written if e["logger"] == "uvicorn.access"] == []
    request_lines = [e for e in written if e["logger"] == "riverchief.request"]
    assert [e["request_id"] for e in request_lines] == ids
    denial = [e for e in written if e["logger"] == "riverchief.access"]
    assert denial and denial[0]["request_id"] == ids[1]  # lines during a request carry its id


# ----- a real server, as `riverchief serve` starts by default -----

ONE_REQUEST_ID = "one-request-0001"


def one_request(server: Server) -> None:
    response = httpx.post(
        f"{server.base}/graphql",
        json={"query": "query Whoami { me { username } }"},
        headers={"x-request-id": ONE_REQUEST_ID},
        timeout=30,
    )
    assert response.json() == {"data": {"me": None}}


async def test_a_served_request_is_logged_in_one_line(
    empty_database_url: str, tmp_path: Path
) -> None:
    with running_server(empty_database_url, tmp_path) as server:
        lines_before = len(server.output().splitlines())
        await asyncio.to_thread(one_request, server)
        await asyncio.sleep(0.2)  # the line is written once the response has gone
        during = server.output().splitlines()[lines_before:]

    assert len(during) == 1, during
    assert re.fullmatch(
        r"\S+ \S+ INFO riverchief\.request: request POST /graphql 200 op=Whoami \(query\)"
        rf" viewer=- [0-9.]+ms sql=0 outcome=ok id={ONE_REQUEST_ID}",
        during[0],
    ), during[0]


async def test_uvicorn_access_line_is_there_when_asked_for(
    empty_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--access-log"]
    environ = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "RIVERCHIEF_SECRET": SECRET,
        "RIVERCHIEF_ENV": "development",
    }
    with server_process(command, port, environ, tmp_path) as server:
        lines_before = len(server.output().splitlines())
        await asyncio.to_thread(one_request, server)
        await asyncio.sleep(0.2)
        during = server.output().splitlines()[lines_before:]

    assert len(during) == 2, during
    assert sum("riverchief.request" in line for line in during) == 1
    assert sum('"POST /graphql HTTP/1.1" 200' in line for line in during) == 1
