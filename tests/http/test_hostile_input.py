"""Hostile values in every argument, over HTTP: typed refusals, literal matching, no writes.

The places attacked are found by walking the schema (``tests/hostile.py``): every String and
every ID argument or input field of every query and mutation, at any depth.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from core.security import issue_token
from models.enums import Aggregation
from models.indicator import Indicator, Observation
from models.task import Task
from schema.node import to_global_id
from tests.fixtures import TEST_SECRET, Tree, recount_counters
from tests.hostile import (
    Baseline,
    Site,
    assert_clean,
    assert_refused,
    changed,
    operation,
    payload_codes,
    raw_json,
    sites,
    snapshot,
)
from tests.http.client import GraphQLClient

VALIDATION = "VALIDATION"
# A failed login is recorded, by design: the event and the tree nodes of its audit log.
LOGIN_WRITES = {"LoginFailure", "AuditEvent", "AuditNode"}
# A refused complaint still counts against its address, by design: otherwise a burst of
# invalid ones would cost the throttle nothing. Only the attempt is written.
COMPLAINT_WRITES = {"ComplaintAttempt"}
WRITES_WHEN_REFUSED = {"login": LOGIN_WRITES, "submitComplaint": COMPLAINT_WRITES}

STRING_SITES = sites("String")
ID_SITES = sites("ID")

# Text the database cannot store: refused before anything runs.
UNSTORABLE = {
    "nul": "\x00",
    "nul-inside": "river\x00chief",
    "lone-high-surrogate": "\ud800",
    "lone-low-surrogate": "x\udfff",
}
# Text that is odd but storable: taken, or refused for a reason of the domain.
ODD = {
    "empty": "",
    "rtl-and-zero-width": "\u202e\u200f\u200b河长\u2066",
    "emoji": "\U0001f30a\U0001f41f" * 40,
    "combining": "e\u0301" * 300,
    "control": "\r\n\t\x1b[31mred\x7f",
    "very-long": "长" * 30_000,  # 180 kB as escaped JSON, under the body limit
    "sql-and-like": "%_%\\%\\_\\\\'\"`; DROP TABLE task;--",
}
LIKE_METACHARACTERS = ["%", "_", "%%", "%_%", "\\%", "\\", "*", ".*", "'", '"', ";--"]


def token_for(tree: Tree, username: str) -> str:
    """A real token, issued without the cost of a password check."""
    user = tree.users[username]
    return issue_token(user.id, user.token_version, TEST_SECRET, 600)


def baseline(tree: Tree) -> Baseline:
    return Baseline(
        {
            "unit": tree.unit_gid("zhaxi"),
            "user": tree.user_gid("zhaxi_head"),
            "actor": tree.user_gid("zhaxi_head"),
            "author": tree.user_gid("zhaxi_head"),
            "assignee": to_global_id("Person", tree.people["zhaxi"].id),
            "task": tree.task_gid("shilong"),
            "default": tree.task_gid("shilong"),
        }
    )


async def send(client: GraphQLClient, body: dict[str, Any], token: str | None) -> Any:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.http.post("/graphql", content=raw_json(body), headers=headers)


async def attack(
    client: GraphQLClient,
    db: TortoiseContext,
    tree: Tree,
    site: Site,
    value: Any,
    token: str | None,
    before: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Put ``value`` at ``site``: the answer is clean, and a refused mutation wrote nothing.

    ``before`` is the database as the previous call left it (None for queries, which are not
    checked for writes); returns the answer and the database as this call leaves it.
    """
    response = await send(client, operation(site, value, baseline(tree)), token)
    body = assert_clean(response)
    if before is None:
        return body, None
    after = await snapshot(db)
    if body.get("errors") or payload_codes(body):
        allowed = WRITES_WHEN_REFUSED.get(site.field, set())
        assert changed(before, after) <= allowed, (site.label, body)
    return body, after


async def attack_everywhere(
    client: GraphQLClient,
    db: TortoiseContext,
    tree: Tree,
    targets: list[Site],
    value: Any,
    tokens: list[str | None],
) -> None:
    state = await snapshot(db)
    for site in targets:
        for token in tokens if site.field != "login" else [None]:
            if site.is_mutation and state is None:
                state = await snapshot(db)
            _, after = await attack(
                client, db, tree, site, value, token, state if site.is_mutation else None
            )
            # A query may write by design (auditCheckpoint issues a checkpoint): the next
            # mutation is checked against the database as it is just before it.
            state = after if site.is_mutation else None


async def test_unstorable_text_is_refused_everywhere_before_anything_runs(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    before = await snapshot(db)
    for kind, text in UNSTORABLE.items():
        for site in STRING_SITES:
            for token in (None, token_for(tree, "county_admin")):
                response = await send(client, operation(site, text, baseline(tree)), token)

                body = assert_refused(response, VALIDATION)
                assert "NUL" in body["errors"][0]["message"], (kind, site.label)
    assert changed(before, await snapshot(db)) == set()


async def test_odd_text_in_every_string_argument_is_answered_cleanly(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    tokens = [None, token_for(tree, "county_admin")]
    for text in ODD.values():
        await attack_everywhere(client, db, tree, STRING_SITES, text, tokens)


async def test_nul_written_as_an_escape_in_the_document_is_refused(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    before = await snapshot(db)
    for literal in (r"\u0000", r"a\u{0}b", r"\u{000000}"):
        documents = [
            f'mutation {{ login(username: "{literal}", password: "x") {{ token }} }}',
            f'mutation {{ createTask(input: {{ title: "{literal}", category: OTHER,'
            f' orgUnitId: "{tree.unit_gid("shilong")}" }}) {{ errors {{ code }} }} }}',
            f'{{ auditEvents(filter: {{ action: "{literal}" }}) {{ totalCount }} }}',
            f'{{ explainAccess(userId: "x", resource: "{literal}", action: read,'
            f' orgUnitId: "y") {{ allowed }} }}',
        ]
        for document in documents:
            assert_refused(await send(client, {"query": document}, token), VALIDATION)
    assert changed(before, await snapshot(db)) == set()


async def test_odd_text_is_stored_and_read_back_exactly(client: GraphQLClient, tree: Tree) -> None:
    token = token_for(tree, "county_admin")
    create = (
        "mutation($i: CreateTaskInput!) { createTask(input: $i)"
        " { task { id title description } errors { code field } } }"
    )
    read = "query($id: ID!) { task(id: $id) { title description } }"
    for text in (
        ODD["rtl-and-zero-width"],
        ODD["emoji"][:100],
        ODD["combining"][:150],
        "%_\\'\";--",
    ):
        fields = {"title": text, "description": text, "category": "OTHER"}
        created = await client.run(
            create, {"i": {**fields, "orgUnitId": tree.unit_gid("shilong")}}, token
        )
        assert created["data"]["createTask"]["errors"] == [], text

        found = await client.run(read, {"id": created["data"]["createTask"]["task"]["id"]}, token)

        assert found["data"]["task"] == {"title": text, "description": text}
        assert await Task.filter(title=text).count() == 1


def forged_ids(tree: Tree) -> dict[str, Any]:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode()

    return {
        "empty": "",
        "not-base64": "!!not base64!!",
        "random-base64": b64(b"\x8f\x03\x11\xfe\x00\x7f"),
        "no-colon": b64(b"Task1"),
        "unknown-type": to_global_id("Nothing", 1),
        "non-numeric": to_global_id("Task", "abc"),
        "negative": to_global_id("Task", -1),
        "zero": to_global_id("Task", 0),
        "huge": to_global_id("Task", 2**64),
        "beyond-32-bits": to_global_id("Task", 2**40),  # ids are 32-bit, audit seqs 64-bit
        "audit-beyond-64-bits": to_global_id("AuditEvent", 2**63),
        "float": to_global_id("Task", "1.5"),
        "unicode-type": to_global_id("Tâsk\u202e", 1),
        "unicode-digits": to_global_id("Task", "١٢"),  # Arabic-Indic digits: int() takes them
        "nul-after-id": b64(b"Task:1\x00"),
        "not-encoded": "Task:1",
        "extra-padding": tree.task_gid("shilong") + "====",
        "very-long": b64(b"Task:" + b"9" * 5000),
        "json-int": 1,
        "other-type": tree.unit_gid("shilong"),  # a real id, of the wrong type for most sites
    }


MALFORMED = [
    "empty",
    "not-base64",
    "random-base64",
    "no-colon",
    "not-encoded",
    "json-int",
    "very-long",
    "nul-after-id",
    "extra-padding",
]
WELL_FORMED_BUT_WRONG = [
    "unknown-type",
    "non-numeric",
    "negative",
    "zero",
    "huge",
    "float",
    "beyond-32-bits",
    "audit-beyond-64-bits",
    "unicode-type",
    "unicode-digits",
    "other-type",
]


@pytest.mark.parametrize("kinds", [MALFORMED, WELL_FORMED_BUT_WRONG], ids=["malformed", "wrong"])
async def test_forged_ids_in_every_id_argument_are_answered_cleanly(
    client: GraphQLClient, db: TortoiseContext, tree: Tree, kinds: list[str]
) -> None:
    token = token_for(tree, "county_admin")
    for kind in kinds:
        forged = forged_ids(tree)[kind]
        await attack_everywhere(client, db, tree, ID_SITES, forged, [token])


async def test_an_id_of_another_type_never_finds_the_object_with_that_number(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    task = tree.tasks["shilong"]
    as_unit = to_global_id("OrgUnit", task.id)
    as_person = to_global_id("Person", task.id)

    body = await client.run(
        "query($a: ID!, $b: ID!) { task(id: $a) { id } other: task(id: $b) { id } }",
        {"a": as_unit, "b": as_person},
        token,
    )

    assert body == {"data": {"task": None, "other": None}}


async def events_to_filter(client: GraphQLClient, tree: Tree) -> None:
    """Audit events to filter: a failed login and a task started."""
    await client.run('mutation { login(username: "zhaxi_head", password: "guess") { token } }')
    started = await client.run(
        "mutation($id: ID!) { transitionTask(input: { taskId: $id, action: START })"
        " { errors { code } } }",
        {"id": tree.task_gid("grid_a")},
        token_for(tree, "grid_leader"),
    )
    assert started["data"]["transitionTask"]["errors"] == []


STRING_FILTERS = [s for s in STRING_SITES if s.root == "Query" and s.path[0] == "filter"]


def test_the_schema_has_string_filters_to_check() -> None:
    assert [s.label for s in STRING_FILTERS] == ["Query.auditEvents(filter.action)"]


@pytest.mark.parametrize("site", STRING_FILTERS, ids=[s.label for s in STRING_FILTERS])
async def test_string_filters_match_literally_never_as_patterns(
    client: GraphQLClient, tree: Tree, site: Site
) -> None:
    await events_to_filter(client, tree)
    token = token_for(tree, "county_admin")
    everything = await client.run(f"{{ {site.field} {{ totalCount }} }}", token=token)
    assert everything["data"][site.field]["totalCount"] > 0

    for pattern in LIKE_METACHARACTERS:
        body = await send(client, operation(site, pattern, baseline(tree)), token)

        assert assert_clean(body)["data"][site.field]["totalCount"] == 0, pattern


async def test_an_audit_action_with_a_wildcard_in_place_of_a_dot_matches_nothing(
    client: GraphQLClient, tree: Tree
) -> None:
    await events_to_filter(client, tree)
    token = token_for(tree, "county_admin")
    query = "query($a: String) { auditEvents(filter: { action: $a }) { totalCount } }"

    exact = await client.run(query, {"a": "task.start"}, token)
    wildcard = await client.run(query, {"a": "task_start"}, token)
    prefix = await client.run(query, {"a": "task.%"}, token)

    assert exact["data"]["auditEvents"]["totalCount"] == 1
    assert wildcard["data"]["auditEvents"]["totalCount"] == 0
    assert prefix["data"]["auditEvents"]["totalCount"] == 0


async def test_a_metric_code_with_wildcards_in_it_matches_only_itself(
    client: GraphQLClient, tree: Tree
) -> None:
    literal = await Indicator.create(
        code="100%_cleared", name="wildcards in a code", unit="%", aggregation=Aggregation.SUM
    )
    await Indicator.create(code="100xxcleared", name="what a LIKE would match", unit="t")
    await Observation.create(
        indicator=literal, org_unit=tree.units["shilong"], period="2024-01-01", value=Decimal(7)
    )
    await recount_counters()
    token = token_for(tree, "county_admin")
    query = "query($u: ID!, $m: String!) { indicatorRollup(orgUnitId: $u, metric: $m) { total } }"
    unit = tree.unit_gid("weixin")

    found = await client.run(query, {"u": unit, "m": "100%_cleared"}, token)
    assert found == {"data": {"indicatorRollup": {"total": 7.0}}}

    for pattern in ("100%", "100__cleared", "%", "_%", "100%cleared", "100XX_CLEARED"):
        body = await send(client, {"query": query, "variables": {"u": unit, "m": pattern}}, token)
        answer = assert_clean(body)
        assert answer["data"]["indicatorRollup"] is None, pattern
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["NOT_FOUND"], pattern


async def test_explain_access_takes_resource_and_action_literally(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    query = (
        "query($r: String!, $a: PolicyAction!, $u: ID!, $o: ID!) { explainAccess(userId: $u,"
        " resource: $r, action: $a, orgUnitId: $o) { allowed rule } }"
    )
    variables = {"u": tree.user_gid("zhaxi_head"), "o": tree.unit_gid("shilong")}

    real = await client.run(query, {**variables, "r": "task", "a": "read"}, token)
    assert real["data"]["explainAccess"]["allowed"] is True

    # A pattern is no resource of the role policy (VALIDATION), and no PolicyAction: the
    # action is refused with the variables, before anything runs.
    for resource, action, code in [
        ("tas_", "read", "VALIDATION"),
        ("%", "read", "VALIDATION"),
        ("*", "read", "VALIDATION"),
        (".*", "read", "VALIDATION"),
        ("task", "rea_", "GRAPHQL_VALIDATION_FAILED"),
        ("task", "read%", "GRAPHQL_VALIDATION_FAILED"),
        ("%", "%", "GRAPHQL_VALIDATION_FAILED"),
    ]:
        body = await client.run(query, {**variables, "r": resource, "a": action}, token)
        assert not any((body["data"] or {}).values()), (resource, action)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], (resource, action)
