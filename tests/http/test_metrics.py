"""``/metrics``: real traffic through the app moves the right series by the right amounts.

Counters in one process only ever grow, and other tests move them too, so each test scrapes
before and after its traffic and checks the differences. A last test runs ``riverchief serve
--workers 2`` with ``PROMETHEUS_MULTIPROC_DIR`` and checks that a scrape adds up both workers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from tortoise import connections

from app.main import create_app
from core.instrumentation import counting_statements
from core.security import issue_token
from core.settings import Settings, SettingsError
from core.telemetry import OperationLabels, RequestRecord
from models.audit import AuditEvent
from policies.watcher import CHANNEL as POLICY_CHANNEL
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.fixtures import TEST_AUDIT_KEY, TEST_SECRET, Tree
from tests.graph import CREATE_TASK
from tests.http.client import GraphQLClient, app_settings
from tests.servers import SECRET as SERVER_SECRET
from tests.servers import Server, free_port, server_process

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_TOKEN = "scrape-token-0123456789-abcdefghijklmnop"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


async def scrape(client: GraphQLClient, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def token_for(tree: Tree, username: str) -> str:
    user = tree.users[username]
    return issue_token(user.id, user.token_version, TEST_SECRET, 600)


@asynccontextmanager
async def serving(
    settings: Settings | None = None,
) -> AsyncIterator[tuple[Starlette, GraphQLClient]]:
    """The app in-process, as ``tests.http.client.running_app`` runs it, with the app at hand."""
    app = create_app(settings or app_settings(), register_database=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, GraphQLClient(http)


# ----- operations -----


async def test_three_named_queries_count_three_for_that_operation(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "zhaxi_head")
    before = await scrape(client)

    for _ in range(3):
        body = await client.run("query RiverDashboard { me { username } }", token=token)
        assert body["data"]["me"] == {"username": "zhaxi_head"}
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    op = {"operation": "RiverDashboard"}
    assert moved("riverchief_graphql_requests_total", type="query", **op) == 3
    assert moved("riverchief_graphql_request_duration_seconds_count", **op) == 3
    assert moved("riverchief_graphql_request_duration_seconds_bucket", le="+Inf", **op) == 3
    assert moved("riverchief_graphql_request_duration_seconds_sum", **op) > 0
    assert (
        moved("riverchief_http_requests_total", route="/graphql", method="POST", status="200") == 3
    )
    # The scrape before counted itself once it had answered.
    assert (
        moved("riverchief_http_requests_total", route="/metrics", method="GET", status="200") == 1
    )


async def test_unnamed_invalid_and_outlandish_names_share_bounded_labels(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "zhaxi_head")
    long_name = "Q" + "x" * 70  # a valid GraphQL name, too long for a label
    before = await scrape(client)

    await client.run("{ me { username } }", token=token)
    await client.run(f"query {long_name} {{ me {{ username }} }}", token=token)
    invalid = await client.run("query MadeUpName { noSuchField }", token=token)
    after = await scrape(client)

    def moved(operation: str, kind: str) -> float:
        labels = {"operation": operation, "type": kind}
        return value(after, "riverchief_graphql_requests_total", **labels) - value(
            before, "riverchief_graphql_requests_total", **labels
        )

    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert moved("_anonymous", "query") == 1
    assert moved("_other", "query") == 1
    assert moved("_invalid", "unknown") == 1
    labels = {dict(key).get("operation") for name, key in after if "graphql_request" in name}
    assert long_name not in labels and "MadeUpName" not in labels


def test_operation_labels_stop_at_the_cap() -> None:
    labels = OperationLabels(limit=2)

    def label(name: str | None, validated: bool = True) -> str:
        return labels.label(RequestRecord("r" * 8, operation=name, validated=validated))

    assert [label("A"), label("B"), label("C"), label("A")] == ["A", "B", "_other", "A"]
    assert label("") == "_anonymous"
    assert label(None, validated=False) == "_invalid"
    assert label("D", validated=False) == "_invalid"
    assert label("bad-name") == "_other"


# ----- errors and denials -----


async def test_a_denied_read_counts_for_its_resource(client: GraphQLClient, tree: Tree) -> None:
    before = await scrape(client)

    refused = await client.run(
        "query Audit { auditEvents { totalCount } }", token=token_for(tree, "grid_leader")
    )
    after = await scrape(client)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denials = "riverchief_authz_denials_total"
    assert (
        value(after, denials, resource="audit", action="read")
        - value(before, denials, resource="audit", action="read")
        == 1
    )
    errors = "riverchief_graphql_errors_total"
    assert value(after, errors, code="FORBIDDEN") - value(before, errors, code="FORBIDDEN") == 1


async def test_each_error_code_counts_where_it_is_sent(client: GraphQLClient, tree: Tree) -> None:
    token = token_for(tree, "zhaxi_head")
    before = await scrape(client)

    anonymous = await client.run("{ tasks { totalCount } }")
    forged = await client.post("{ me { username } }", token=token[:-4] + "AAAA")
    not_json = await client.http.post(
        "/graphql", content=b"{nope", headers={"content-type": "application/json"}
    )
    bad_id = await client.run('{ task(id: "junk") { id } }', token=token)
    verify_own = await client.run(
        "mutation($id: ID!) { transitionTask(input: { taskId: $id, action: VERIFY })"
        " { errors { code } } }",
        {"id": tree.task_gid("zhaxi")},
        token=token,
    )
    after = await scrape(client)

    sent = [
        anonymous["errors"][0]["extensions"]["code"],
        forged.json()["errors"][0]["extensions"]["code"],
        not_json.json()["errors"][0]["extensions"]["code"],
        bad_id["errors"][0]["extensions"]["code"],
        verify_own["errors"][0]["extensions"]["code"],  # FORBIDDEN: at the top level
    ]
    assert sent[:3] == ["UNAUTHENTICATED", "UNAUTHENTICATED", "BAD_REQUEST"]
    assert (forged.status_code, not_json.status_code) == (401, 400)
    errors = "riverchief_graphql_errors_total"
    for code in set(sent):
        assert value(after, errors, code=code) - value(before, errors, code=code) == sent.count(
            code
        ), code


# ----- policy, audit chain, pool -----


async def test_a_policy_reload_counts_once(tree: Tree) -> None:
    async with serving() as (app, client):
        before = await scrape(client)
        await app.state.policy.reload()
        after = await scrape(client)

    reloads = "riverchief_policy_reloads_total"
    assert value(after, reloads) - value(before, reloads) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="the policy watcher runs on PostgreSQL")
async def test_a_change_announced_by_another_process_reloads_through_the_watcher(
    tree: Tree,
) -> None:
    database = connections.get("default").database
    database_url = f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{database}"
    async with serving(app_settings(database_url=database_url)) as (app, client):
        assert app.state.watcher is not None
        before = await scrape(client)
        reloads_seen = app.state.watcher.reloads
        other = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            await other.execute("SELECT pg_notify($1, $2)", POLICY_CHANNEL, "another-process")
        finally:
            await other.close()
        for _ in range(100):
            if app.state.watcher.reloads > reloads_seen:
                break
            await asyncio.sleep(0.05)
        after = await scrape(client)

    reloads = "riverchief_policy_reloads_total"
    assert value(after, reloads) - value(before, reloads) == 1


async def test_the_audit_chain_length_is_the_head_and_moves_with_each_event(
    client: GraphQLClient, tree: Tree
) -> None:
    head = await AuditEvent.all().order_by("-seq").first().values("seq")
    before = await scrape(client)

    created = await client.run(
        CREATE_TASK,
        {
            "input": {
                "title": "Friday clean-up",
                "category": "CLEANUP",
                "orgUnitId": tree.unit_gid("shilong"),
            }
        },
        token=token_for(tree, "zhaxi_head"),
    )
    after = await scrape(client)

    assert created["data"]["createTask"]["errors"] == []
    assert value(before, "riverchief_audit_chain_length") == (head["seq"] if head else 0)
    assert (
        value(after, "riverchief_audit_chain_length")
        == value(before, "riverchief_audit_chain_length") + 1
    )


async def test_pool_gauges_on_postgresql_and_none_on_sqlite(
    client: GraphQLClient, tree: Tree
) -> None:
    await client.run("{ me { username } }", token=token_for(tree, "zhaxi_head"))
    samples = await scrape(client)

    pool = {"connection": "default"}
    if not ON_POSTGRES:
        assert not names(samples) & {"riverchief_db_pool_size", "riverchief_db_pool_in_use"}
        return
    size = value(samples, "riverchief_db_pool_size", **pool)
    in_use = value(samples, "riverchief_db_pool_in_use", **pool)
    assert size >= 1
    assert 0 <= in_use <= size <= value(samples, "riverchief_db_pool_max_size", **pool)


async def test_a_scrape_runs_no_sql_and_a_request_runs_no_more_for_being_counted(
    client: GraphQLClient, tree: Tree
) -> None:
    with counting_statements() as counted:
        await scrape(client)

    async with serving(app_settings(debug=True)) as (_, debug_client):
        body = await debug_client.run("{ me { username } }", token=token_for(tree, "zhaxi_head"))

    assert counted.value == 0
    assert body["extensions"]["debug"]["sqlStatements"] == 1  # the token's account, only


# ----- who may scrape -----


async def test_with_a_token_a_scrape_must_send_it(tree: Tree) -> None:
    async with serving(app_settings(metrics_token=METRICS_TOKEN)) as (_, client):
        missing = await client.http.get("/metrics")
        wrong = await client.http.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN[:-1]}x"}
        )
        user_token = await client.http.get(
            "/metrics", headers={"Authorization": f"Bearer {token_for(tree, 'county_admin')}"}
        )
        samples = await scrape(client, token=METRICS_TOKEN)
        api = await client.run("{ me { username } }", token=token_for(tree, "zhaxi_head"))

    for refused in (missing, wrong, user_token):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "riverchief" not in refused.text
    assert "riverchief_graphql_requests_total" in names(samples)
    assert api["data"]["me"] == {"username": "zhaxi_head"}  # the API's tokens still work


async def test_metrics_switched_off_are_not_served(tree: Tree) -> None:
    async with serving(app_settings(metrics=False)) as (_, client):
        response = await client.http.get("/metrics")

    assert response.status_code == 404


def test_production_serves_metrics_only_with_a_token(tmp_path: Path) -> None:
    production = {
        "RIVERCHIEF_ENV": "production",
        "RIVERCHIEF_SECRET": "s" * 40,
        "RIVERCHIEF_AUDIT_KEY": TEST_AUDIT_KEY,
    }

    assert not Settings.from_env(production).metrics
    with_token = Settings.from_env({**production, "RIVERCHIEF_METRICS_TOKEN": METRICS_TOKEN})
    assert with_token.metrics and with_token.metrics_token == METRICS_TOKEN
    assert METRICS_TOKEN not in repr(with_token)
    assert not Settings.from_env({**production, "RIVERCHIEF_METRICS": "off"}).metrics
    assert Settings.from_env({}).metrics  # development: on, open (it listens on localhost)
    with pytest.raises(SettingsError, match="RIVERCHIEF_METRICS_TOKEN must be set"):
        Settings.from_env({**production, "RIVERCHIEF_METRICS": "on"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"RIVERCHIEF_METRICS_TOKEN": "short"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"RIVERCHIEF_METRICS_TOKEN": "has spaces " * 4})
    with pytest.raises(SettingsError, match="must not be RIVERCHIEF_SECRET"):
        Settings.from_env({**production, "RIVERCHIEF_METRICS_TOKEN": "s" * 40})
    with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_multiprocess_dir


# ----- several workers -----


@contextmanager
def serving_workers(database_url: str, workdir: Path, metrics_dir: Path) -> Iterator[Server]:
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RIVERCHIEF_SECRET": SERVER_SECRET,
        "RIVERCHIEF_ENV": "development",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)]
    with server_process(command, port, environ, workdir, start_within=120) as server:
        yield server


def pings_by_worker(metrics_dir: Path) -> dict[str, float]:
    """The ``WorkerPing`` count in each worker's own file (named after its process id)."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        for key, count, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, labels, _ = json.loads(key)
            if (
                sample == "riverchief_graphql_requests_total"
                and labels["operation"] == "WorkerPing"
            ):
                counts[path.name] = counts.get(path.name, 0) + count
    return counts


def workers_session(server: Server, metrics_dir: Path) -> tuple[dict[str, float], list[float]]:
    """Named queries, each on a new connection, until both workers have answered some; then
    scrapes, each of which must report the total, whichever worker answers it."""
    sent = 0
    deadline = time.monotonic() + 60
    while sent < 6 or len(pings_by_worker(metrics_dir)) < 2:
        assert time.monotonic() < deadline, "one worker answered every request"
        body = server.graphql("query WorkerPing { me { username } }")
        assert body["data"] == {"me": None}
        sent += 1
    labels = {"operation": "WorkerPing", "type": "query"}
    totals = []
    for _ in range(4):
        response = httpx.get(f"{server.base}/metrics", timeout=30)
        assert response.status_code == 200
        totals.append(value(parse(response.text), "riverchief_graphql_requests_total", **labels))
    return pings_by_worker(metrics_dir), [total - sent for total in totals]


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="several worker processes need PostgreSQL; `serve` refuses them on SQLite",
)
async def test_several_workers_add_up_in_one_scrape(
    empty_database_url: str, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    with serving_workers(empty_database_url, tmp_path, metrics_dir) as server:
        by_worker, differences = await asyncio.to_thread(workers_session, server, metrics_dir)

    assert len(by_worker) == 2 and all(count > 0 for count in by_worker.values())
    assert differences == [0, 0, 0, 0]
