"""Hostile requests, over HTTP: broken bodies and methods, bombs, odd variables, bad pages.

``test_graph_limits`` covers the basic depth, alias, fragment and cost limits for a logged-in
viewer; here the same walls are hit anonymously, through introspection and literals, and the
HTTP layer is fed what no GraphQL client would send. Every answer must be clean (see
``tests/hostile.py``) and every refused write must leave the database as it was.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from tortoise.context import TortoiseContext

from core.security import issue_token
from resolvers.pagination import MAX_PAGE_SIZE
from tests.fixtures import TEST_SECRET, Tree
from tests.hostile import (
    assert_clean,
    assert_refused,
    changed,
    connection_fields,
    error_codes,
    snapshot,
)
from tests.http.client import GraphQLClient

VIEWERS = [None, "county_admin"]
CREATE = (
    'mutation { createTask(input: { title: "written?", category: OTHER, orgUnitId: "%s" })'
    " { errors { code } } }"
)


def token_for(tree: Tree, username: str | None) -> str | None:
    if username is None:
        return None
    user = tree.users[username]
    return issue_token(user.id, user.token_version, TEST_SECRET, 600)


def headers(token: str | None, content_type: str | None = "application/json") -> dict[str, str]:
    found = {"authorization": f"Bearer {token}"} if token else {}
    if content_type is not None:
        found["content-type"] = content_type
    return found


async def post(client: GraphQLClient, body: Any, token: str | None = None) -> Any:
    return await client.http.post(
        "/graphql", content=json.dumps(body).encode(), headers=headers(token)
    )


def nested(depth: int, inner: str, open_: str, close: str) -> str:
    return open_ * depth + inner + close * depth


# ----- the HTTP layer -----

BODIES: dict[str, tuple[bytes, str | None, int, str]] = {
    # name: (body, content type, status, code)
    "not-json": (b"{query: me}", "application/json", 400, "BAD_REQUEST"),
    "truncated-json": (b'{"query": "{ me { id } }"', "application/json", 400, "BAD_REQUEST"),
    "empty-body": (b"", "application/json", 400, "BAD_REQUEST"),
    "json-string": (b'"{ me { id } }"', "application/json", 400, "BAD_REQUEST"),
    "json-null": (b"null", "application/json", 400, "BAD_REQUEST"),
    "json-number": (b"12", "application/json", 400, "BAD_REQUEST"),
    "not-utf8": (b'{"query": "\xff\xfe\xfd"}', "application/json", 400, "BAD_REQUEST"),
    "nested-too-deep": (
        nested(60_000, "1", "[", "]").encode(),
        "application/json",
        400,
        "BAD_REQUEST",
    ),
    "no-query": (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
    "query-not-a-string": (b'{"query": 5}', "application/json", 400, "BAD_REQUEST"),
    "query-a-list": (b'{"query": ["{ me { id } }"]}', "application/json", 400, "BAD_REQUEST"),
    "variables-a-list": (
        b'{"query": "{ me { id } }", "variables": [1]}',
        "application/json",
        400,
        "BAD_REQUEST",
    ),
    "extensions-a-string": (
        b'{"query": "{ me { id } }", "extensions": "x"}',
        "application/json",
        400,
        "BAD_REQUEST",
    ),
    "unknown-operation-name": (
        b'{"query": "query A { me { id } }", "operationName": "B"}',
        "application/json",
        400,
        "BAD_REQUEST",
    ),
    "batch": (
        b'[{"query": "{ me { id } }"}, {"query": "{ me { id } }"}]',
        "application/json",
        400,
        "BAD_REQUEST",
    ),
    "empty-batch": (b"[]", "application/json", 400, "BAD_REQUEST"),
    "text-plain": (b'{"query": "{ me { id } }"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    "form": (
        b"query=%7B+me+%7B+id+%7D+%7D",
        "application/x-www-form-urlencoded",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "application-graphql": (b"{ me { id } }", "application/graphql", 415, "UNSUPPORTED_MEDIA_TYPE"),
    "no-content-type": (b'{"query": "{ me { id } }"}', None, 415, "UNSUPPORTED_MEDIA_TYPE"),
}


async def test_bodies_no_graphql_client_would_send_are_refused_cleanly(
    client: GraphQLClient, tree: Tree
) -> None:
    for viewer in VIEWERS:
        token = token_for(tree, viewer)
        for name, (content, content_type, status, code) in BODIES.items():
            response = await client.http.post(
                "/graphql", content=content, headers=headers(token, content_type)
            )

            assert response.status_code == status, (name, viewer, response.text)
            assert assert_refused(response, code)["data"] is None, name


# Multipart bodies (uploads, the GraphQL multipart request spec): refused before they are
# parsed without a bearer token, refused cleanly when they are not an operation.
MULTIPART: dict[str, tuple[bytes, str]] = {
    "no-query": (
        b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "operations-not-json": (
        b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{x\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "no-boundary": (b"--b\r\n\r\n", "multipart/form-data"),
}


async def test_multipart_bodies_are_refused_cleanly(client: GraphQLClient, tree: Tree) -> None:
    for viewer, status, code in (
        (None, 401, "UNAUTHENTICATED"),
        ("county_admin", 400, "BAD_REQUEST"),
    ):
        token = token_for(tree, viewer)
        for name, (content, content_type) in MULTIPART.items():
            response = await client.http.post(
                "/graphql", content=content, headers=headers(token, content_type)
            )

            assert response.status_code == status, (name, viewer, response.text)
            assert assert_refused(response, code)["data"] is None, name


async def test_a_batch_or_a_get_never_writes(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    create = CREATE % tree.unit_gid("shilong")
    login = 'mutation { login(username: "zhaxi_head", password: "wrong") { token } }'
    before = await snapshot(db)

    batch = await post(client, [{"query": create}, {"query": login}], token)
    as_get = await client.http.get(
        "/graphql", params={"query": create}, headers=headers(token, None)
    )
    login_by_get = await client.http.get("/graphql", params={"query": login})
    query_by_get = await client.http.get(
        "/graphql", params={"query": "{ me { username } }"}, headers=headers(token, None)
    )

    for response in (batch, as_get, login_by_get, query_by_get):
        assert response.status_code == 400
        assert_refused(response, "BAD_REQUEST")
    assert changed(before, await snapshot(db)) == set()


async def test_other_methods_are_refused_with_405(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    before = await snapshot(db)
    for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        response = await client.http.request(
            method,
            "/graphql",
            content=json.dumps({"query": CREATE % tree.unit_gid("shilong")}).encode(),
            headers=headers(token_for(tree, "county_admin")),
        )

        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, POST"
        assert_refused(response, "METHOD_NOT_ALLOWED")
    assert changed(before, await snapshot(db)) == set()


async def test_a_document_of_several_operations_must_name_the_one_to_run(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    """GraphQL's GetOperation: without ``operationName`` nothing runs, not even the first."""
    document = (
        "query Look { me { username } } "
        + "mutation Make "
        + CREATE.removeprefix("mutation").strip() % tree.unit_gid("shilong")
    )
    before = await snapshot(db)
    unnamed = await client.http.post(
        "/graphql", json={"query": document}, headers=headers(token_for(tree, "county_admin"))
    )
    named = await client.http.post(
        "/graphql",
        json={"query": document, "operationName": "Look"},
        headers=headers(token_for(tree, "county_admin")),
    )

    assert unnamed.status_code == 400
    assert_refused(unnamed, "BAD_REQUEST")
    assert "operationName" in unnamed.json()["errors"][0]["message"]
    assert changed(before, await snapshot(db)) == set()
    assert named.json() == {"data": {"me": {"username": "county_admin"}}}


async def test_hostile_persisted_query_extensions_are_refused(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    for persisted in [
        {"version": 1, "sha256Hash": "\U0001f30a" * 64},
        {"version": 1, "sha256Hash": 12345},
        {"version": 1, "sha256Hash": "0" * 10_000},
        {"version": 1, "sha256Hash": ["x"]},
        {"version": 1},
    ]:
        response = await post(client, {"extensions": {"persistedQuery": persisted}}, token)
        assert_refused(response, "PERSISTED_QUERY_INVALID", "PERSISTED_QUERY_NOT_FOUND")

    listed = await post(
        client,
        {
            "query": "{ me { id } } # \ud800",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}},
        },
        token,
    )
    assert_refused(listed, "VALIDATION")


# ----- bombs -----


def depth_bomb() -> str:
    return "{ orgUnits { edges { node { " + "parent { " * 40 + "name" + " }" * 40 + " } } } }"


def alias_bomb() -> str:
    return "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(500)) + " }"


def introspection_bomb() -> str:
    inner = "name " + "ofType { " * 30 + "name" + " }" * 30
    return "{ __schema { types { fields { type { " + inner + " } } } } }"


def laughs_bomb() -> str:
    """Fragments spreading each other twice: 2**25 fields if expanded."""
    fragments = [f"fragment L{i} on User {{ ...L{i + 1} ...L{i + 1} }}" for i in range(25)]
    fragments.append("fragment L25 on User { username }")
    return "{ me { ...L0 } } " + " ".join(fragments)


def overlapping_bomb() -> str:
    """Many fields that must be checked pairwise for merging (a slow validation rule)."""
    return "{ me { " + "username " * 4900 + "} }"


def circular_fragments() -> str:
    return "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }"


def list_literal_bomb() -> str:
    return (
        "{ tasks(filter: { status: " + nested(2000, "ASSIGNED", "[", "]") + " }) { totalCount } }"
    )


def object_literal_bomb() -> str:
    inner = nested(900, "1", "{ a: ", " }")
    return "{ tasks(filter: " + inner + ") { totalCount } }"


def directive_bomb() -> str:
    return "{ me " + "@include(if: true) " * 700 + "{ username } }"


BOMBS = {
    "depth": (depth_bomb, {"QUERY_TOO_COMPLEX"}),
    "aliases": (alias_bomb, {"QUERY_TOO_COMPLEX"}),
    "introspection-depth": (introspection_bomb, {"QUERY_TOO_COMPLEX"}),
    "circular-fragments": (circular_fragments, {"GRAPHQL_VALIDATION_FAILED"}),
    "list-literal": (list_literal_bomb, {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}),
    "object-literal": (object_literal_bomb, {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}),
    "directives": (directive_bomb, {"GRAPHQL_VALIDATION_FAILED"}),
}
# Valid documents that would be expensive if handled naively: answered cleanly, and quickly.
HARMLESS = {
    "billion-laughs": laughs_bomb,  # fragments are collected once, not 2**25 times
    "identical-fields": overlapping_bomb,  # the merge check gives up cleanly past ~1,000
}


# The work a document may cost, in CPU seconds of this process (the app runs in it): a naive
# parser or validator spends minutes on these. CPU time, not wall time, so that a busy
# machine (other processes on the same cores) does not make the check fail.
WORK_BOUND = 2.0


async def test_bombs_are_refused_quickly_with_a_code(client: GraphQLClient, tree: Tree) -> None:
    for viewer in VIEWERS:
        token = token_for(tree, viewer)
        for name, (build, codes) in BOMBS.items():
            started = time.process_time()

            response = await post(client, {"query": build()}, token)

            spent = time.process_time() - started
            body = assert_refused(response, *codes)
            assert body.get("data") is None, name
            assert spent < WORK_BOUND, f"{name} took {spent:.2f} s of CPU to refuse"


async def test_documents_that_look_like_bombs_are_answered_quickly(
    client: GraphQLClient, tree: Tree
) -> None:
    for viewer in VIEWERS:
        token = token_for(tree, viewer)
        expected = {"me": None if viewer is None else {"username": viewer}}
        for name, build in HARMLESS.items():
            started = time.process_time()

            body = assert_clean(await post(client, {"query": build()}, token))

            assert body.get("data") == expected or error_codes(body) == [
                "GRAPHQL_VALIDATION_FAILED"
            ], (name, body)
            assert time.process_time() - started < WORK_BOUND, name


# ----- variables -----

TASKS_BY_STATUS = "query($s: [TaskStatus!]) { tasks(filter: { status: $s }) { totalCount } }"
TASKS_BY_FILTER = "query($f: TaskFilter) { tasks(filter: $f) { totalCount } }"
PAGE = "query($n: Int) { tasks(first: $n) { totalCount } }"
DUE_AFTER = "query($d: DateTime) { tasks(filter: { dueAfter: $d }) { totalCount } }"
ROLLUP = (
    'query($u: ID!, $d: Date) { indicatorRollup(orgUnitId: $u, metric: "x", from: $d) { total } }'
)

WRONG_TYPES: list[tuple[str, dict[str, Any]]] = [
    (PAGE, {"n": "20"}),
    (PAGE, {"n": 1.5}),
    (PAGE, {"n": True}),
    (PAGE, {"n": [20]}),
    (PAGE, {"n": {"value": 20}}),
    (PAGE, {"n": 2**31}),
    (PAGE, {"n": -(2**31) - 1}),
    (PAGE, {"n": 10**400}),
    (TASKS_BY_STATUS, {"s": "ASSIGNED"}),  # a single value is coerced to a list: allowed
    (TASKS_BY_STATUS, {"s": ["assigned"]}),
    (TASKS_BY_STATUS, {"s": [None]}),
    (TASKS_BY_STATUS, {"s": [1]}),
    (TASKS_BY_FILTER, {"f": {"unknownField": 1}}),
    (TASKS_BY_FILTER, {"f": "ASSIGNED"}),
    (TASKS_BY_FILTER, {"f": {"includeDescendants": None}}),
    (TASKS_BY_FILTER, {"f": {"orgUnitId": {"id": 1}}}),
    (TASKS_BY_FILTER, {"f": {"orgUnitId": True}}),
    (DUE_AFTER, {"d": "tomorrow"}),
    (DUE_AFTER, {"d": 1_700_000_000}),
    (DUE_AFTER, {"d": "2030-01-01T00:00:00"}),  # no UTC offset: ambiguous
    (DUE_AFTER, {"d": "0001-01-01T00:00:00+14:00"}),  # before year 1 in UTC
    (DUE_AFTER, {"d": "9999-12-31T23:59:59-14:00"}),  # after year 9999 in UTC
    (DUE_AFTER, {"d": "0000-01-01T00:00:00Z"}),
    (DUE_AFTER, {"d": "2030-02-30T00:00:00Z"}),
    (ROLLUP, {"u": "x", "d": "2030-13-01"}),
    (ROLLUP, {"u": "x", "d": "2030-01-01T00:00:00Z"}),
    ("query($id: ID!) { task(id: $id) { id } }", {}),  # a required variable missing
    ("query($id: ID!) { task(id: $id) { id } }", {"id": None}),  # or null
]


async def test_variables_of_the_wrong_type_are_refused_before_execution(
    client: GraphQLClient, tree: Tree
) -> None:
    for viewer in VIEWERS:
        token = token_for(tree, viewer)
        for query, variables in WRONG_TYPES:
            response = await post(client, {"query": query, "variables": variables}, token)

            body = assert_clean(response)
            if variables == {"s": "ASSIGNED"}:
                continue
            assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], (variables, body)


async def test_a_10k_element_list_variable_is_answered_cleanly(
    client: GraphQLClient, db: TortoiseContext, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    statuses = ["ASSIGNED", "VERIFIED"] * 5_000
    parts = [{"orgUnitId": tree.unit_gid("shilong")}] * 5_000  # 10k would pass the body limit
    before = await snapshot(db)

    listed = await post(client, {"query": TASKS_BY_STATUS, "variables": {"s": statuses}}, token)
    decomposed = await post(
        client,
        {
            "query": "mutation($i: DecomposeTaskInput!) { decomposeTask(input: $i)"
            " { errors { code field } } }",
            "variables": {"i": {"taskId": tree.task_gid("zhaxi"), "parts": parts}},
        },
        token,
    )

    # A status filter names each status at most once: a longer list is refused, by its size.
    assert error_codes(assert_clean(listed)) == ["VALIDATION"]
    assert assert_clean(decomposed)["data"]["decomposeTask"]["errors"] == [
        {"code": "VALIDATION", "field": "parts"}
    ]
    assert changed(before, await snapshot(db)) == set()


async def test_deeply_nested_variables_are_refused(client: GraphQLClient, tree: Tree) -> None:
    token = token_for(tree, "county_admin")
    for depth in (500, 1_000, 5_000):
        deep_list = nested(depth, '"ASSIGNED"', "[", "]")
        deep_object = nested(depth, "true", '{"includeDescendants": ', "}")
        for query, variables in [
            (TASKS_BY_STATUS, '{"s": ' + deep_list + "}"),
            (TASKS_BY_FILTER, '{"f": ' + deep_object + "}"),
        ]:
            content = '{"query": ' + json.dumps(query) + ', "variables": ' + variables + "}"
            response = await client.http.post(
                "/graphql", content=content.encode(), headers=headers(token)
            )

            assert_refused(response, "BAD_REQUEST", "GRAPHQL_VALIDATION_FAILED")


async def test_extreme_but_valid_deadlines_are_stored_and_listed(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    create = (
        'mutation($d: DateTime!) { createTask(input: { title: "edge", category: OTHER,'
        f' orgUnitId: "{tree.unit_gid("shilong")}", dueAt: $d }}) {{ task {{ dueAt overdue }}'
        " errors { code } } }"
    )
    for deadline in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
        body = await client.run(create, {"d": deadline}, token)
        assert body["data"]["createTask"]["errors"] == [], body

    listed = await client.run(
        "{ tasks(orderBy: DUE_SOONEST, first: 100) { edges { node { dueAt overdue } } } }",
        token=token,
    )
    overdue = await client.run("{ tasks(filter: { overdue: true }) { totalCount } }", token=token)

    due = [e["node"]["dueAt"] for e in listed["data"]["tasks"]["edges"]]
    assert due[0].startswith("0001-01-01") and due[-1].startswith("9999-12-31")
    assert overdue["data"]["tasks"]["totalCount"] >= 1


# ----- pages and cursors -----


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


BAD_CURSORS = [
    "",
    "not a cursor",
    "%%%",
    base64.urlsafe_b64encode(b"\x00\xff\xfe").decode(),
    cursor([]),
    cursor([1, 2, 3]),
    cursor(["1"]),
    cursor([None]),
    cursor([2**70]),
    cursor({"id": 1}),
    cursor([[1]]),
    "A" * 10_000,
]


async def test_every_list_refuses_cursors_it_did_not_issue(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    for field in connection_fields():
        query = f"query($a: String) {{ {field}(after: $a) {{ totalCount }} }}"
        for after in BAD_CURSORS:
            response = await post(client, {"query": query, "variables": {"a": after}}, token)

            if after == "":
                assert_clean(response)  # an empty cursor reads as "from the start"
                continue
            assert_refused(response, "VALIDATION")


async def test_every_list_refuses_page_sizes_outside_its_limits(
    client: GraphQLClient, tree: Tree
) -> None:
    token = token_for(tree, "county_admin")
    for field in connection_fields():
        query = f"query($n: Int) {{ {field}(first: $n) {{ totalCount edges {{ cursor }} }} }}"
        for size in (-1, -(2**31), MAX_PAGE_SIZE + 1, 2**31 - 1):
            response = await post(client, {"query": query, "variables": {"n": size}}, token)
            assert_refused(response, "VALIDATION")

        empty = await post(client, {"query": query, "variables": {"n": 0}}, token)
        literal = await post(
            client, {"query": f"{{ {field}(first: 99999999999) {{ totalCount }} }}"}, token
        )

        assert assert_clean(empty)["data"][field]["edges"] == [], field
        assert_refused(literal, "GRAPHQL_VALIDATION_FAILED")


async def test_nested_lists_refuse_bad_cursors_and_sizes(client: GraphQLClient, tree: Tree) -> None:
    token = token_for(tree, "county_admin")
    for query in [
        "query($a: String, $n: Int) { orgUnits(first: 1) { edges { node {"
        " children(first: $n, after: $a) { totalCount } } } } }",
        "query($a: String, $n: Int) { tasks(first: 1) { edges { node {"
        " subtasks(first: $n, after: $a) { totalCount } } } } }",
    ]:
        bad_cursor = await post(client, {"query": query, "variables": {"a": "junk", "n": 5}}, token)
        bad_size = await post(client, {"query": query, "variables": {"n": -5}}, token)

        assert "VALIDATION" in error_codes(assert_clean(bad_cursor)), query
        assert "VALIDATION" in error_codes(assert_clean(bad_size)), query


async def test_a_cursor_of_another_order_or_list_cannot_widen_the_scope(
    client: GraphQLClient, tree: Tree
) -> None:
    """Cursors are positions, not permissions: forged ones still read only what is in scope."""
    token = token_for(tree, "zhaxi_head")
    page = (
        "query($o: TaskOrder!, $a: String) { tasks(orderBy: $o, first: 100, after: $a)"
        " { edges { node { title } } } }"
    )
    in_scope = await client.run(page, {"o": "OLDEST", "a": None}, token)
    visible = {e["node"]["title"] for e in in_scope["data"]["tasks"]["edges"]}
    assert visible and "task of luobu" not in visible

    forged = [
        ("OLDEST", cursor([0])),  # before every row
        ("NEWEST", cursor([2**62])),  # after every row, newest first
        ("DUE_SOONEST", cursor([None, 0])),  # among the tasks with no deadline
        ("DUE_SOONEST", cursor(["1970-01-01T00:00:00+00:00", 0])),
        ("NEWEST", cursor(["2030-01-01T00:00:00+00:00", 1])),  # a DUE_SOONEST cursor
        ("DUE_SOONEST", cursor([5])),  # a NEWEST cursor
        ("RECENTLY_CHANGED", cursor([1])),
    ]
    for order, after in forged:
        response = await post(client, {"query": page, "variables": {"o": order, "a": after}}, token)
        body = assert_clean(response)
        if body.get("errors"):
            assert error_codes(body) == ["VALIDATION"], (order, after)
            continue
        titles = {e["node"]["title"] for e in body["data"]["tasks"]["edges"]}
        assert titles <= visible, (order, after, titles - visible)


async def test_a_tampered_cursor_is_still_scoped(client: GraphQLClient, tree: Tree) -> None:
    token = token_for(tree, "zhaxi_head")
    first = await client.run(
        "{ tasks(orderBy: OLDEST, first: 1) { pageInfo { endCursor } } }", token=token
    )
    issued = first["data"]["tasks"]["pageInfo"]["endCursor"]
    (position,) = json.loads(base64.urlsafe_b64decode(issued))
    tampered = cursor([position - 100])

    body = await client.run(
        "query($a: String) { tasks(orderBy: OLDEST, first: 100, after: $a)"
        " { edges { node { orgUnit { name } } } } }",
        {"a": tampered},
        token,
    )

    units = {e["node"]["orgUnit"]["name"] for e in body["data"]["tasks"]["edges"]}
    assert units and units <= {"zhaxi", "shilong", "dahetan", "grid_a", "grid_b", "enterprise"}
