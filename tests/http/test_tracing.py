"""Tracing: off by default; on, a query makes a span tree (operation, parsing, validation,
resolvers) that continues the caller's trace and holds no document text or argument. Spans go
to an in-memory exporter. Without the OpenTelemetry packages, the setting is refused at start
with the command that installs them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.main import create_app
from app.tracing import tracing_extension
from core.security import issue_token
from core.settings import Settings, SettingsError
from tests.fixtures import TEST_SECRET, Tree
from tests.http.client import app_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
PASSWORD = "Lake-Password-Never-Traced-55"
INLINE_LOGIN = f'mutation {{ login(username: "zhaxi_head", password: "{PASSWORD}") {{ token }} }}'
INBOX = (
    "query TaskInbox($first: Int!) { tasks(first: $first) { totalCount edges { node { title } } } }"
)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@asynccontextmanager
async def traced_app(
    exporter: InMemorySpanExporter, *, tracing: bool, compiled: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with tracing; by default without the compiled read path, whose operations
    have no resolvers to make spans of."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = app_settings(tracing=tracing, compiled_reads=compiled)
    app = create_app(settings, register_database=False, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    provider.shutdown()


def token_for(tree: Tree, username: str) -> str:
    user = tree.users[username]
    return issue_token(user.id, user.token_version, TEST_SECRET, 600)


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


async def test_a_query_makes_a_span_tree_under_the_callers_trace(
    tree: Tree, exporter: InMemorySpanExporter
) -> None:
    async with traced_app(exporter, tracing=True) as http:
        response = await http.post(
            "/graphql",
            json={"query": INBOX, "variables": {"first": 3}},
            headers={
                "Authorization": f"Bearer {token_for(tree, 'zhaxi_head')}",
                "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
            },
        )

    assert response.json()["data"]["tasks"]["totalCount"] >= 1
    spans = by_name(exporter.get_finished_spans())
    operation = spans["GraphQL Query: TaskInbox"]
    assert {"GraphQL Parsing", "GraphQL Validation", "GraphQL Resolving: tasks"} <= set(spans)
    assert operation.context is not None and operation.parent is not None
    assert format(operation.context.trace_id, "032x") == TRACE_ID
    assert format(operation.parent.span_id, "016x") == CALLER_SPAN
    for child in ("GraphQL Parsing", "GraphQL Validation", "GraphQL Resolving: tasks"):
        parent = spans[child].parent
        assert parent is not None and parent.span_id == operation.context.span_id, child
    attributes = dict(operation.attributes or {})
    assert attributes["graphql.operation.name"] == "TaskInbox"
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["riverchief.request_id"] == response.headers["x-request-id"]
    assert "query" not in attributes  # the document text is not recorded


async def test_a_compiled_query_makes_its_operation_span_without_resolver_spans(
    tree: Tree, exporter: InMemorySpanExporter
) -> None:
    async with traced_app(exporter, tracing=True, compiled=True) as http:
        response = await http.post(
            "/graphql",
            json={"query": INBOX, "variables": {"first": 3}},
            headers={
                "Authorization": f"Bearer {token_for(tree, 'zhaxi_head')}",
                "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
            },
        )

    assert response.json()["data"]["tasks"]["totalCount"] >= 1
    spans = by_name(exporter.get_finished_spans())
    operation = spans["GraphQL Query: TaskInbox"]
    assert operation.context is not None
    assert format(operation.context.trace_id, "032x") == TRACE_ID
    assert {"GraphQL Parsing", "GraphQL Validation"} <= set(spans)
    assert not [name for name in spans if name.startswith("GraphQL Resolving")]


async def test_neither_the_document_nor_an_argument_reaches_a_span(
    tree: Tree, exporter: InMemorySpanExporter
) -> None:
    async with traced_app(exporter, tracing=True) as http:
        for body in (
            {
                "query": "mutation SignIn($u: String!, $p: String!) { login(username: $u,"
                " password: $p) { token errors { code } } }",
                "variables": {"u": "zhaxi_head", "p": PASSWORD},
            },
            {"query": INLINE_LOGIN},
        ):
            await http.post("/graphql", json=body)

    spans = exporter.get_finished_spans()
    assert "GraphQL Resolving: login" in {span.name for span in spans}
    for span in spans:
        for key, value in (span.attributes or {}).items():
            assert not key.startswith("graphql.param."), (span.name, key)
            assert PASSWORD not in str(value), (span.name, key)


async def test_tracing_is_off_by_default(tree: Tree, exporter: InMemorySpanExporter) -> None:
    assert not Settings.from_env({}).tracing
    async with traced_app(exporter, tracing=False) as http:
        await http.post("/graphql", json={"query": "query Me { me { username } }"})

    assert exporter.get_finished_spans() == ()


def test_without_opentelemetry_the_setting_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env({"RIVERCHIEF_TRACING": "on"}).tracing  # installed here
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)  # as if it were not
    monkeypatch.setitem(sys.modules, "strawberry.extensions.tracing.opentelemetry", None)

    with pytest.raises(SettingsError, match=r"pip install 'riverchief\[otel\]'"):
        Settings.from_env({"RIVERCHIEF_TRACING": "on"})
    with pytest.raises(SettingsError, match=r"riverchief\[otel\]"):
        tracing_extension()
    assert not Settings.from_env({}).tracing  # off, nothing is imported
