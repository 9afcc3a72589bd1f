"""Schemathesis against a running ``riverchief serve``: the schema as the process introspects
it, every query and mutation, anonymously and logged in, over real HTTP.

``test_fuzz_graphql`` fuzzes the application in-process, with many examples; this one
fuzzes the deployed shape: the real server process on the demo data, its middleware, its
uvicorn, its logs. Every answer must be clean (under 500, typed codes, no internal text),
conform to the schema, refuse invalid documents, and the process's log must hold no
traceback when it stops.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hostile import assert_clean
from tests.schema.test_fuzz_graphql import ANONYMOUS_ONLY, CHECKS, OPERATIONS
from tests.servers import Server, running_server


@functools.cache
def operations_of(base: str) -> list[Any]:
    """The schema as the process at ``base`` introspects it, read once (not per example)."""
    api = schemathesis.graphql.from_url(f"{base}/graphql")
    return [result.ok() for result in api.get_all_operations()]


@pytest.fixture
def server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(empty_database_url, tmp_path, demo=True) as running:
        yield running


@pytest.mark.parametrize("viewer", [None, "county_admin"], ids=["anonymous", "admin"])
@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a real request
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_the_running_service_answers_fuzzed_operations_cleanly(
    server: Server, viewer: str | None, data: Any
) -> None:
    operations = operations_of(server.base)
    headers = {"content-type": "application/json"}
    if viewer is not None:
        headers["authorization"] = f"Bearer {server.login(viewer)}"

    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as http:
        for operation in operations:
            if viewer is not None and operation.label in ANONYMOUS_ONLY:
                continue
            for mode, checks in CHECKS.items():
                case = data.draw(operation.as_strategy(generation_mode=mode), label=operation.label)

                response = http.post("/graphql", json={"query": case.body})

                assert_clean(response)
                case.validate_response(response, checks=checks)
    # The process introspects to the whole schema: every root field was fuzzed.
    assert {o.label for o in operations} == {o.label for o in OPERATIONS}
