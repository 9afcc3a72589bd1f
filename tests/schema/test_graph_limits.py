"""Limits, persisted operations, debug figures and error masking, over HTTP."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from schema.persisted import sha256
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, app_settings, running_app

ME = "{ me { username } }"


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def refused_quickly(client: GraphQLClient, query: str, token: str, code: str) -> str:
    started = time.perf_counter()
    body = await client.run(query, token=token)
    elapsed = time.perf_counter() - started
    assert body.get("data") is None, body
    assert code in codes(body), body
    assert elapsed < 2.0, f"took {elapsed:.2f} s to refuse"
    return str(body["errors"][0]["message"])


async def test_a_40_deep_query_is_refused(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = "{ orgUnits { edges { node { " + "parent { " * 40 + "name" + " }" * 40 + " } } } }"

    message = await refused_quickly(client, query, token, "QUERY_TOO_COMPLEX")

    assert "depth" in message


async def test_500_aliases_are_refused(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(500)) + " }"

    message = await refused_quickly(client, query, token, "QUERY_TOO_COMPLEX")

    assert "500 aliases" in message


async def test_aliases_hidden_in_fragments_are_counted(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    fragment = "fragment F on User { " + " ".join(f"u{i}: username" for i in range(20)) + " }"
    query = "{ a: me { ...F } b: me { ...F } c: me { ...F } } " + fragment

    message = await refused_quickly(client, query, token, "QUERY_TOO_COMPLEX")

    assert "aliases" in message


async def test_a_fragment_bomb_is_refused_without_expanding_it(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    levels = 30
    fragments = [
        f"fragment F{i} on OrgUnit {{ parent {{ ...F{i + 1} }}"
        f" children {{ edges {{ node {{ ...F{i + 1} }} }} }} }}"
        for i in range(levels)
    ]
    fragments.append(f"fragment F{levels} on OrgUnit {{ name }}")
    query = "{ orgUnits { edges { node { ...F0 } } } } " + " ".join(fragments)

    await refused_quickly(client, query, token, "QUERY_TOO_COMPLEX")


async def test_circular_fragments_are_a_validation_error(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = (
        "{ orgUnits { edges { node { ...A } } } }"
        " fragment A on OrgUnit { parent { ...B } } fragment B on OrgUnit { parent { ...A } }"
    )

    body = await client.run(query, token=token)

    assert body.get("data") is None
    assert any("within itself" in e["message"] for e in body["errors"]), body


async def test_an_expensive_query_is_refused_by_its_estimated_cost(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = (
        "{ tasks(first: 100) { edges { node { subtasks(first: 100) { edges { node {"
        " subtasks(first: 100) { edges { node { title } } } } } } } } } }"
    )

    message = await refused_quickly(client, query, token, "QUERY_TOO_COMPLEX")

    assert "cost" in message


async def test_an_ordinary_dashboard_query_passes_the_limits(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = (
        "{ orgUnits(level: COUNTY, first: 1) { edges { node { name taskStats { total overdue"
        " byStatus { status count } } children(first: 20) { edges { node { name"
        " taskStats { total } children(first: 50) { edges { node { name taskStats { total } } } }"
        " } } } } } } }"
    )

    body = await client.run(query, token=token)

    assert "errors" not in body, body
    names = [e["node"]["name"] for e in body["data"]["orgUnits"]["edges"]]
    assert "weixin" in names


async def test_an_oversized_body_is_refused_with_413(client: GraphQLClient) -> None:
    started = time.perf_counter()
    padding = "x" * (300 * 1024)
    response = await client.http.post(
        "/graphql", json={"query": ME, "variables": {"padding": padding}}
    )

    assert response.status_code == 413
    assert codes(response.json()) == ["REQUEST_TOO_LARGE"]
    assert time.perf_counter() - started < 2.0


async def test_too_many_tokens_are_refused(client: GraphQLClient) -> None:
    token = await client.login("county_admin")
    query = "{ me { " + " ".join(["username"] * 6000) + " } }"

    body = await client.run(query, token=token)

    assert body.get("data") is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_persisted_query_round_trip(client: GraphQLClient) -> None:
    token = await client.login("zhaxi_head")
    digest = sha256(ME)
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"Authorization": f"Bearer {token}"}

    unknown = await client.http.post("/graphql", json={"extensions": persisted}, headers=headers)
    assert codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]

    registered = await client.http.post(
        "/graphql", json={"query": ME, "extensions": persisted}, headers=headers
    )
    assert registered.json() == {"data": {"me": {"username": "zhaxi_head"}}}

    by_hash = await client.http.post("/graphql", json={"extensions": persisted}, headers=headers)
    assert by_hash.json() == {"data": {"me": {"username": "zhaxi_head"}}}


async def test_a_document_that_does_not_match_its_hash_is_refused(client: GraphQLClient) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256("{ other }")}}

    response = await client.http.post("/graphql", json={"query": ME, "extensions": persisted})

    assert codes(response.json()) == ["PERSISTED_QUERY_INVALID"]


async def test_allow_list_mode_runs_only_listed_operations(tree: Tree, tmp_path: Path) -> None:
    listed = tmp_path / "operations.json"
    listed.write_text(json.dumps([ME]), encoding="utf-8")
    settings = app_settings(operations_file=str(listed))
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(ME)}}
    async with running_app(settings) as client:
        full = await client.http.post("/graphql", json={"query": ME})
        by_hash = await client.http.post("/graphql", json={"extensions": persisted})
        other = await client.http.post("/graphql", json={"query": "{ me { id } }"})

    assert full.json() == {"data": {"me": None}}
    assert by_hash.json() == {"data": {"me": None}}
    assert codes(other.json()) == ["OPERATION_NOT_ALLOWED"]


async def test_debug_reports_sql_statements_and_time(tree: Tree) -> None:
    async with running_app(app_settings(debug=True)) as client:
        token = await client.login("zhaxi_head")
        body = await client.run(
            "{ tasks(first: 5) { totalCount edges { node { title } } } }", token=token
        )

    debug = body["extensions"]["debug"]
    assert debug["sqlStatements"] >= 2  # the page and its count
    assert debug["elapsedMs"] > 0


async def test_no_debug_extension_unless_enabled(client: GraphQLClient) -> None:
    token = await client.login("zhaxi_head")

    body = await client.run("{ tasks(first: 5) { totalCount } }", token=token)

    assert "extensions" not in body


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError('SELECT "secret" FROM /srv/riverchief/models.py')

    monkeypatch.setattr("schema.query.list_tasks", broken)
    token = await client.login("zhaxi_head")
    caplog.set_level(logging.ERROR, logger="riverchief.graphql")

    response = await client.http.post(
        "/graphql",
        # `me.person` keeps the operation on the resolvers (the compiled path never calls them).
        json={"query": "{ me { person { name } } tasks { totalCount } }"},
        headers={"Authorization": f"Bearer {token}", "x-request-id": "req-12345678"},
    )

    body = response.json()
    assert response.status_code == 200
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-12345678"}
    assert "SELECT" not in json.dumps(body) and "/srv" not in json.dumps(body)
    assert response.headers["x-request-id"] == "req-12345678"
    logged = [r for r in caplog.records if "req-12345678" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_introspection_is_off_in_production_unless_enabled(tree: Tree) -> None:
    query = "{ __schema { queryType { name } } }"
    async with running_app(app_settings(env="production", introspection=False)) as client:
        refused = await client.run(query)
    async with running_app(app_settings(env="production", introspection=True)) as client:
        allowed = await client.run(query)

    assert refused.get("data") is None
    assert "introspection" in refused["errors"][0]["message"].lower()
    assert allowed == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
