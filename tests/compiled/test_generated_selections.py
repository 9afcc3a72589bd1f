"""Generated operations over tasks and what they reach — random nesting, aliases, inline and
named fragments, arguments good and bad, fields outside the compiled subset — give the same
answer (data and errors) compiled and resolved, for every demo account."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.audit import AuditEvent
from models.org import OrgUnit
from models.people import Person, User
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.audit_view import OUTSIDE_SCOPE
from resolvers.pagination import encode_cursor
from schema.node import to_global_id
from tests.compiled.conftest import ACCOUNTS, Services

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCALARS = {
    "Task": [
        "id",
        "title",
        "description",
        "status",
        "category",
        "dueAt",
        "version",
        "createdAt",
        "overdue",
        "origin",
        "feedback",
        "location",
        "evidenceIds",
        "__typename",
    ],
    "OrgUnit": ["id", "code", "name", "level", "path", "geometry", "__typename"],
    "Person": ["id", "name", "title", "partyMember", "phone", "idNumber", "__typename"],
    "AuditEvent": [
        "id",
        "seq",
        "leafIndex",
        "leafHash",
        "at",
        "action",
        "kind",
        "entityType",
        "entityId",
        "orgPath",
        "before",
        "after",
        "requestId",
        "prevHash",
        "hash",
        "__typename",
    ],
    "User": ["id", "username", "__typename"],
    "Record": [
        "id",
        "type",
        "occurredAt",
        "endedAt",
        "summary",
        "flagged",
        "flagReason",
        "createdAt",
        "details",
        "__typename",
    ],
    "WaterBody": ["id", "code", "name", "kind", "lengthKm", "geometry", "__typename"],
}
LINKS = {
    "Task": {
        "orgUnit": "OrgUnit",
        "issuer": "OrgUnit",
        "assignee": "Person",
        "parent": "Task",
        "reporter": "Person",
        "reportedFrom": "Record",
        "waterBody": "WaterBody",
        "handOverOf": "Task",
    },
    "OrgUnit": {"parent": "OrgUnit"},
    "Person": {"orgUnit": "OrgUnit"},
    "AuditEvent": {"actor": "User"},
    "User": {},
    "Record": {
        "orgUnit": "OrgUnit",
        "author": "User",
        "authority": "OrgUnit",
        "task": "Task",
        "waterBody": "WaterBody",
        "corrects": "Record",
    },
    "WaterBody": {"parent": "WaterBody"},
}
# Connection fields inside objects: the type of their nodes.
CONNECTIONS = {
    "Task": {"subtasks": "Task", "records": "Record"},
    "OrgUnit": {"children": "OrgUnit", "tasks": "Task"},
    "WaterBody": {"units": "OrgUnit"},
}
# Fields outside the compiled subset: an operation holding one runs resolved.
OUTSIDE = {
    "Task": ["progress", "history { seq action }", "quota { target done }", "chainAbove { title }"],
    "OrgUnit": ["links { kind }"],
    "Person": [],
    "AuditEvent": ["changes { field before after }"],
    "User": ["roles { role }", "person { name }"],
    "Record": ["flags { code }"],
    "WaterBody": [],
}
STATS = ["total", "overdue", "byStatus { status count }", "byStatus { count __typename }"]
ALIASES = ("a", "b", "c")


@dataclass
class Document:
    fragments: dict[str, str] = field(default_factory=dict)
    # Whether the operation stays inside the compiled subset with arguments the resolvers
    # accept: then it must run compiled.
    compilable: bool = True
    keys: int = 0

    def key(self) -> str:
        """A response key of its own (connections with other arguments under one key would
        be a validation error, not a test of either path)."""
        self.keys += 1
        return f"k{self.keys}"

    def fragment(self, type_name: str, body: str) -> str:
        name = f"F{len(self.fragments)}"
        self.fragments[name] = f"fragment {name} on {type_name} {{ {body} }}"
        return f"...{name}"


@dataclass
class Keys:
    units: list[int]
    tasks: list[int]
    people: list[int]
    users: list[int]
    seqs: list[int]
    paths: dict[int, str]  # unit id → path, for the cursors of unit lists
    records: list[int]


def _unit_cursor(draw: st.DrawFn, keys: Keys) -> str:
    unit = draw(st.sampled_from(keys.units))
    return encode_cursor([keys.paths[unit], unit])


@st.composite
def page(draw: st.DrawFn, doc: Document, keys: Keys, node_type: str) -> list[str]:
    """``first`` and ``after``, mostly good; a bad one (now and then) is refused by the
    resolvers."""
    given_: list[str] = []
    first = draw(st.sampled_from([None, None, 0, 1, 2, 3, 3, 20, 100]))
    if draw(st.integers(0, 9)) == 0:
        first = draw(st.sampled_from([101, -1]))
        doc.compilable = False
    if first is not None:
        given_.append(f"first: {first}")
    after = draw(st.sampled_from([None, None, None, "key", "key", "empty"]))
    if draw(st.integers(0, 9)) == 0:
        after = draw(st.sampled_from(["garbage", "text", "big"]))
        doc.compilable = False
    if after == "key":
        cursor = (
            _unit_cursor(draw, keys)
            if node_type == "OrgUnit"
            else encode_cursor([draw(st.sampled_from(keys.tasks + keys.records))])
        )
        given_.append(f'after: "{cursor}"')
    elif after == "empty":
        given_.append('after: ""')
    elif after == "garbage":
        given_.append('after: "bm90IGEgY3Vyc29y"')
    elif after == "text":
        given_.append(f'after: "{encode_cursor(["12"])}"')
    elif after == "big":
        big = ["/1/", 2**40] if node_type == "OrgUnit" else [2**40]
        given_.append(f'after: "{encode_cursor(big)}"')
    return given_


@st.composite
def connection_body(
    draw: st.DrawFn, doc: Document, keys: Keys, node_type: str, depth: int, anchored: bool = False
) -> str:
    """``anchored``: the nodes are units of a ``children`` list on a root unit's chain."""
    parts = []
    for name in draw(st.permutations(["edges", "pageInfo", "totalCount", "__typename"])):
        if not draw(st.booleans()):
            continue
        if name == "edges":
            node = draw(selection(doc, keys, node_type, depth, in_list=True, anchored=anchored))
            edge = draw(st.sampled_from(["cursor", "", "__typename"]))
            parts.append(f"edges {{ {edge} node {{ {node} }} }}")
        elif name == "pageInfo":
            infos = draw(
                st.lists(
                    st.sampled_from(
                        ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
                    ),
                    min_size=1,
                    max_size=4,
                    unique=True,
                )
            )
            parts.append(f"pageInfo {{ {' '.join(infos)} }}")
        else:
            parts.append(name)
    return " ".join(parts) or "totalCount"


@st.composite
def nested_connection(
    draw: st.DrawFn, doc: Document, keys: Keys, type_name: str, depth: int, anchored: bool
) -> str:
    name, node_type = draw(st.sampled_from(sorted(CONNECTIONS[type_name].items())))
    given_ = draw(page(doc, keys, node_type))
    if name == "tasks" and draw(st.booleans()):
        given_.append(f"filter: {draw(task_filter(doc, keys))}")
    arguments_ = f"({', '.join(given_)})" if given_ else ""
    chained = anchored and name == "children"
    body = draw(connection_body(doc, keys, node_type, depth + 1, chained))
    return f"{doc.key()}: {name}{arguments_} {{ {body} }}"


@st.composite
def selection(
    draw: st.DrawFn,
    doc: Document,
    keys: Keys,
    type_name: str,
    depth: int,
    in_list: bool = False,
    anchored: bool = False,
) -> str:
    """Fields of ``type_name``; ``in_list``: below a node of a list, where ``taskStats`` is
    left to the resolvers (they count a page of units in one statement) unless the object is
    ``anchored``: a root ``orgUnit`` or a unit of a ``children`` list of one (whose
    ``taskStats`` the statement rolls up once)."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["scalar", "scalar", "link", "connection", "outside", "fragment"])
        )
        if kind == "link" and depth < 3 and LINKS[type_name]:
            name, target = draw(st.sampled_from(sorted(LINKS[type_name].items())))
            part = f"{name} {{ {draw(selection(doc, keys, target, depth + 1, in_list))} }}"
        elif kind == "connection" and depth < 2 and type_name in CONNECTIONS:
            part = draw(nested_connection(doc, keys, type_name, depth, anchored))
        elif kind == "connection" and type_name == "OrgUnit":
            stats = draw(st.lists(st.sampled_from(STATS), min_size=1, max_size=3))
            part = f"taskStats {{ {' '.join(stats)} }}"
            doc.compilable &= anchored or not in_list
        elif kind == "outside" and OUTSIDE[type_name] and draw(st.integers(0, 4)) == 0:
            part = draw(st.sampled_from(OUTSIDE[type_name]))
            doc.compilable = False
        elif kind == "fragment" and depth < 3:
            on = draw(st.sampled_from([type_name, type_name, "Node", None]))
            body = (
                draw(st.sampled_from(["id", "__typename", "id __typename"]))
                if on == "Node"
                else draw(selection(doc, keys, type_name, depth + 1, in_list, anchored))
            )
            if draw(st.booleans()) and on is not None:
                part = doc.fragment(on, body)
            else:
                part = f"... on {on} {{ {body} }}" if on else f"... {{ {body} }}"
        else:
            part = draw(st.sampled_from(SCALARS[type_name]))
        if draw(st.integers(0, 3)) == 0 and not part.startswith("...") and ":" not in part:
            name = part.split(" ", 1)[0].split("(", 1)[0]
            part = f"{draw(st.sampled_from(ALIASES))}{name}: {part}"
        parts.append(part)
    return " ".join(parts)


@st.composite
def task_filter(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    conditions = []
    if draw(st.booleans()):
        statuses = draw(
            st.lists(
                st.sampled_from(
                    ["ASSIGNED", "IN_PROGRESS", "SUBMITTED", "VERIFIED", "REJECTED", "CANCELLED"]
                ),
                max_size=3,
            )
        )
        conditions.append(f"status: [{', '.join(statuses)}]")
    if draw(st.booleans()):
        unit = draw(st.sampled_from(keys.units))
        kind = draw(st.sampled_from(["OrgUnit", "OrgUnit", "Task"]))
        conditions.append(f'orgUnitId: "{to_global_id(kind, unit)}"')  # type: ignore[arg-type]
    if draw(st.booleans()):
        conditions.append("includeDescendants: true")
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f"overdue: {draw(st.sampled_from(['true', 'false']))}")
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f"category: {draw(st.sampled_from(['PATROL', 'CLEANUP', 'OTHER']))}")
    if draw(st.integers(0, 4)) == 0:
        person = to_global_id("Person", draw(st.sampled_from(keys.people)))
        conditions.append(f'assigneeId: "{person}"')
    if draw(st.integers(0, 5)) == 0:
        conditions.append('dueAfter: "2026-10-01T00:00:00+00:00"')
    if draw(st.integers(0, 9)) == 0:
        conditions.append('assigneeId: "not an id"')
        doc.compilable = False
    return f"{{ {', '.join(conditions)} }}"


@st.composite
def arguments(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    given_ = draw(page(doc, keys, "Task"))
    order = draw(st.sampled_from([None, "NEWEST", "OLDEST", "DUE_SOONEST"]))
    if order:
        given_.append(f"orderBy: {order}")
        doc.compilable &= order != "DUE_SOONEST"  # a cursor of instants: not compiled yet
    if draw(st.booleans()):
        given_.append(f"filter: {draw(task_filter(doc, keys))}")
    return f"({', '.join(given_)})" if given_ else ""


@st.composite
def record_arguments(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    given_ = draw(page(doc, keys, "Record"))
    conditions = []
    if draw(st.integers(0, 2)) == 0:
        conditions.append(f"type: {draw(st.sampled_from(['PATROL', 'CLEANUP', 'ASSESSMENT']))}")
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f"flagged: {draw(st.sampled_from(['true', 'false']))}")
    if draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["OrgUnit", "OrgUnit", "Task"]))
        unit = to_global_id(kind, draw(st.sampled_from(keys.units)))  # type: ignore[arg-type]
        conditions.append(f'orgUnitId: "{unit}"')
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f'taskId: "{to_global_id("Task", draw(st.sampled_from(keys.tasks)))}"')
    if draw(st.integers(0, 4)) == 0:
        conditions.append(f'authorId: "{to_global_id("User", draw(st.sampled_from(keys.users)))}"')
    if draw(st.integers(0, 4)) == 0:
        conditions.append('occurredFrom: "2026-06-01T00:00:00+08:00"')
    if conditions:
        given_.append(f"filter: {{ {', '.join(conditions)} }}")
    return f"({', '.join(given_)})" if given_ else ""


@st.composite
def unit_arguments(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    given_ = draw(page(doc, keys, "OrgUnit"))
    if draw(st.booleans()):
        given_.append(f"level: {draw(st.sampled_from(['TOWNSHIP', 'VILLAGE', 'GRID']))}")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["OrgUnit", "OrgUnit", "Task"]))
        parent = to_global_id(kind, draw(st.sampled_from(keys.units)))  # type: ignore[arg-type]
        given_.append(f'parentId: "{parent}"')
    return f"({', '.join(given_)})" if given_ else ""


@st.composite
def water_arguments(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    given_ = draw(page(doc, keys, "WaterBody"))
    if draw(st.booleans()):
        given_.append(f"kind: {draw(st.sampled_from(['RIVER', 'SEGMENT', 'LAKE', 'BASIN']))}")
    return f"({', '.join(given_)})" if given_ else ""


@st.composite
def object_id(draw: st.DrawFn, doc: Document, keys: Keys, type_name: str) -> str:
    """An id of the type, of another type (null), of nothing (null) or malformed (an error)."""
    pool = keys.units if type_name == "OrgUnit" else keys.tasks
    kind = draw(st.sampled_from(["own", "own", "own", "other", "missing", "malformed"]))
    if kind == "malformed":
        doc.compilable = False
        return '"bm90IGFuIGlk"'
    if kind == "missing":
        return f'"{to_global_id(type_name, 2**31 - 1)}"'  # type: ignore[arg-type]
    shown = type_name if kind == "own" else "Person"
    return f'"{to_global_id(shown, draw(st.sampled_from(pool)))}"'  # type: ignore[arg-type]


@st.composite
def audit_arguments(draw: st.DrawFn, doc: Document, keys: Keys) -> str:
    given_: list[str] = []
    first = draw(st.sampled_from([None, None, 0, 1, 5, 50, 100, 101]))
    if first is not None:
        given_.append(f"first: {first}")
        doc.compilable &= 0 <= first <= 100
    after = draw(st.sampled_from([None, None, "seq", "seq", "text"]))
    if after == "seq":
        given_.append(f'after: "{encode_cursor([draw(st.sampled_from(keys.seqs))])}"')
    elif after == "text":
        given_.append(f'after: "{encode_cursor(["12"])}"')
        doc.compilable = False
    conditions = []
    if draw(st.booleans()):
        action = draw(st.sampled_from(["task.assign", "task.create", "task.urge", "x" * 80]))
        conditions.append(f'action: "{action}"')
    if draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["Task", "OrgUnit", "Person"]))
        pool = {"Task": keys.tasks, "OrgUnit": keys.units, "Person": keys.people}[kind]
        entity = to_global_id(kind, draw(st.sampled_from(pool)))  # type: ignore[arg-type]
        conditions.append(f'entityId: "{entity}"')
    if draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["User", "User", "Task"]))
        actor = to_global_id(kind, draw(st.sampled_from(keys.users)))  # type: ignore[arg-type]
        conditions.append(f'actorId: "{actor}"')
    if draw(st.booleans()):
        unit = to_global_id("OrgUnit", draw(st.sampled_from(keys.units)))
        conditions.append(f'orgUnitId: "{unit}"')
        if draw(st.booleans()):
            conditions.append("includeDescendants: true")
    if draw(st.integers(0, 4)) == 0:
        conditions.append('since: "2026-09-01T00:00:00+00:00"')
    if conditions:
        given_.append(f"filter: {{ {', '.join(conditions)} }}")
    return f"({', '.join(given_)})" if given_ else ""


# Each root: its node type, and whether it lists (a connection) or finds one object.
ROOTS = {
    "tasks": ("Task", True),
    "auditEvents": ("AuditEvent", True),
    "orgUnits": ("OrgUnit", True),
    "records": ("Record", True),
    "waterBodies": ("WaterBody", True),
    "orgUnit": ("OrgUnit", False),
    "task": ("Task", False),
}


@st.composite
def operation(draw: st.DrawFn, keys: Keys) -> tuple[str, bool]:
    doc = Document()
    roots = []
    for n in range(draw(st.integers(1, 2))):
        root = draw(st.sampled_from(sorted(ROOTS)))
        node_type, lists = ROOTS[root]
        if not lists:
            body = draw(selection(doc, keys, node_type, 0, anchored=node_type == "OrgUnit"))
            roots.append(f"r{n}: {root}(id: {draw(object_id(doc, keys, node_type))}) {{ {body} }}")
            continue
        body = draw(connection_body(doc, keys, node_type, 0))
        if root == "tasks":
            given_ = draw(arguments(doc, keys))
        elif root == "auditEvents":
            given_ = draw(audit_arguments(doc, keys))
        elif root == "records":
            given_ = draw(record_arguments(doc, keys))
        elif root == "waterBodies":
            given_ = draw(water_arguments(doc, keys))
        else:
            given_ = draw(unit_arguments(doc, keys))
        roots.append(f"r{n}: {root}{given_} {{ {body} }}")
    extra = draw(
        st.sampled_from(
            [
                "",
                "",
                "__typename",
                "me { username }",
                "me { __typename id }",
                "me { person { name } }",
            ]
        )
    )
    doc.compilable &= extra != "me { person { name } }"  # User.person is left to the resolvers
    query = "query Generated { " + " ".join([*roots, extra]) + " }\n"
    return query + "\n".join(doc.fragments.values()), doc.compilable


async def _add_awkward_events() -> None:
    """Events whose ``before``/``after`` name objects across the jurisdictions, and values
    that only look like references (floats, strings, booleans, out-of-range ids, nested
    objects), at several units: the redaction must agree on every one of them."""
    units = await OrgUnit.all().order_by("id")
    people = await Person.all().order_by("id")
    tasks = await Task.all().order_by("id")
    records = await AccountabilityRecord.all().order_by("id")
    users = await User.all().order_by("id")
    last = await AuditEvent.all().order_by("-seq").first()
    assert last is not None
    seq = last.seq
    far_unit, far_person, far_task = units[-1], people[-1], tasks[-1]
    values = {
        "org_unit_id": units[0].id,
        "issuer_unit_id": far_unit.id,
        "assignee_id": far_person.id,
        "parent_id": 3.0,
        "task_id": True,
        "subtask_ids": [t.id for t in tasks[::9]] + [0, -1, "7", 2**40, None],
        "record_id": None,
        "corrects": records[-1].id if records else 1,
        "unit": far_unit.path,
        "path": "",
        "authority": "/999999/",
        "note": {"nested": [1, 2.5, "三"], "flag": False},
        "status": "ASSIGNED",
    }
    for unit, actor in zip(units[::12], users[::2], strict=False):
        seq += 1
        await AuditEvent.create(
            seq=seq,
            leaf_index=1_000_000 + seq,  # stored straight in, to be listed, never verified
            at=datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=UTC),
            action="task.assign",
            entity_type="task",
            entity_id=str(far_task.id),
            actor_id=actor.id,
            org_path=unit.path,
            before=values,
            after={**values, "assignee_id": people[0].id, "extra": [far_task.id]},
            request_id="generated",
            prev_hash="0" * 64,
            hash=f"{seq:064x}",
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def keys(services: Services) -> Keys:
    await _add_awkward_events()
    units = await OrgUnit.all()
    return Keys(
        [u.id for u in units],
        [t.id for t in await Task.all()],
        [p.id for p in await Person.all()],
        [u.id for u in await User.all()],
        [e.seq for e in await AuditEvent.all()],
        {u.id: u.path for u in units},
        [r.id for r in await AccountabilityRecord.all()],
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), account=st.sampled_from(ACCOUNTS))
async def test_generated_operations_agree(
    services: Services, keys: Keys, data: st.DataObject, account: str
) -> None:
    query, compilable = data.draw(operation(keys))

    compiled, resolved = await services.both(query, None, account)

    assert compiled.body == resolved.body, query
    # Every demo account reads tasks somewhere: what stays inside the subset compiles.
    expected = "compiled" if compilable and "errors" not in resolved.body else "resolved"
    assert compiled.executor == expected, query


REDACTED = """
query Redacted {
  auditEvents(first: 40) {
    totalCount
    edges { cursor node { id seq at entityId orgPath before after actor { id username } } }
  }
}
"""


async def test_redacted_events_agree_for_every_account(services: Services, keys: Keys) -> None:
    outside = 0
    hidden_actors = 0
    for account in ACCOUNTS:
        compiled, resolved = await services.both(REDACTED, None, account)

        assert compiled.body == resolved.body, account
        if "errors" in resolved.body:
            assert compiled.executor == "resolved"
            continue
        assert compiled.executor == "compiled", account
        text = str(compiled.body)
        outside += text.count(OUTSIDE_SCOPE)
        edges = compiled.body["data"]["auditEvents"]["edges"]
        hidden_actors += sum(1 for edge in edges if edge["node"]["actor"] is None)

    # The awkward events reach across jurisdictions: some references and some actors are
    # out of some viewer's scope, so the redaction above was exercised, not skipped.
    assert outside > 0
    assert hidden_actors > 0
