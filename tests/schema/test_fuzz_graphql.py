"""Schemathesis, in GraphQL mode, against the service: every query and mutation, fuzzed.

Schemathesis reads the schema the service introspects to and generates documents for every
root field, valid (positive) and invalid (negative) ones, which go to the in-process service
over HTTP, anonymously and as the test tree's county administrator. IDs are drawn partly
from real-looking global IDs of the tree's types, so generated documents reach the resolvers
instead of stopping at ID parsing. Every answer must be clean (``tests/hostile.py``: under
500, typed errors, no internal text), conform to the schema (schemathesis'
``response_schema_conformance``: no null where the schema promises a value), and a negative
document must be refused (``negative_data_rejection``). Nothing may be logged as an
unexpected error.

The examples are derandomized, so CI is repeatable; set ``RIVERCHIEF_FUZZ_EXAMPLES`` (e.g.
to 200) to run that many examples per viewer, drawn at random, when hunting for bugs.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, response_schema_conformance
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes

from core.security import issue_token
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import TEST_SECRET, Tree
from tests.hostile import assert_clean
from tests.http.client import GraphQLClient

NODE_TYPES = [
    "OrgUnit",
    "Task",
    "Person",
    "User",
    "Record",
    "AuditEvent",
    "WaterBody",
    "Indicator",
    "Evidence",
    "Notification",
]
schemathesis.graphql.scalar(
    "ID",
    st.one_of(
        st.builds(to_global_id, st.sampled_from(NODE_TYPES), st.integers(1, 20)),
        st.text(max_size=20),
    ).map(nodes.String),
)

# A file comes only in a multipart request: in a JSON body, whatever stands in its place is
# refused (a typed error, never a 500).
schemathesis.graphql.scalar("Upload", st.text(max_size=20).map(nodes.String))

API = schemathesis.graphql.from_dict(schema.introspect())
OPERATIONS = [result.ok() for result in API.get_all_operations()]
EXAMPLES = int(os.environ.get("RIVERCHIEF_FUZZ_EXAMPLES", "3"))
# Each try of ``login`` costs an argon2 verification (~0.15-0.35 s): it is fuzzed anonymously.
ANONYMOUS_ONLY = {"Mutation.login"}
# Valid documents must answer as the schema says; invalid ones must be refused.
CHECKS = {
    GenerationMode.POSITIVE: [response_schema_conformance],
    GenerationMode.NEGATIVE: [response_schema_conformance, negative_data_rejection],
}


def test_every_root_field_is_fuzzed() -> None:
    roots = {f"Query.{name}" for name in schema._schema.query_type.fields}
    roots |= {f"Mutation.{name}" for name in schema._schema.mutation_type.fields}

    assert {operation.label for operation in OPERATIONS} == roots


@pytest.mark.parametrize("viewer", [None, "county_admin"], ids=["anonymous", "admin"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="RIVERCHIEF_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_fuzzed_operations_are_answered_cleanly(
    client: GraphQLClient,
    tree: Tree,
    caplog: pytest.LogCaptureFixture,
    viewer: str | None,
    data: Any,
) -> None:
    headers = {"content-type": "application/json"}
    if viewer is not None:
        user = tree.users[viewer]
        token = issue_token(user.id, user.token_version, TEST_SECRET, 600)
        headers["authorization"] = f"Bearer {token}"
    caplog.set_level(logging.ERROR, logger="riverchief")
    caplog.clear()  # one example's log: the records of earlier examples are not this one's

    for operation in OPERATIONS:
        if viewer is not None and operation.label in ANONYMOUS_ONLY:
            continue
        for mode, checks in CHECKS.items():
            case = data.draw(operation.as_strategy(generation_mode=mode), label=operation.label)

            response = await client.http.post(
                "/graphql", json={"query": case.body}, headers=headers
            )

            assert_clean(response)
            case.validate_response(response, checks=checks)
    unexpected = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert unexpected == [], [r.getMessage() for r in unexpected]
