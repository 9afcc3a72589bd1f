"""Generated operations over tasks and what they reach — random nesting, aliases, inline and
named fragments, arguments good and bad, fields outside the compiled subset — give the same
answer (data and errors) compiled and resolved, for every demo account."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.org import OrgUnit
from models.people import Person
from models.task import Task
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
        "__typename",
    ],
    "OrgUnit": ["id", "code", "name", "level", "path", "__typename"],
    "Person": ["id", "name", "title", "partyMember", "phone", "idNumber", "__typename"],
}
LINKS = {
    "Task": {"orgUnit": "OrgUnit", "issuer": "OrgUnit", "assignee": "Person", "parent": "Task"},
    "OrgUnit": {"parent": "OrgUnit"},
    "Person": {"orgUnit": "OrgUnit"},
}
# Fields outside the compiled subset: an operation holding one runs resolved.
OUTSIDE = {
    "Task": ["progress", "history { seq action }", "subtasks(first: 2) { totalCount }"],
    "OrgUnit": ["taskStats { total overdue }", "children(first: 3) { totalCount }"],
    "Person": [],
}
ALIASES = ("a", "b", "c")


@dataclass
class Document:
    fragments: dict[str, str] = field(default_factory=dict)
    # Whether the operation stays inside the compiled subset with arguments the resolvers
    # accept: then it must run compiled.
    compilable: bool = True

    def fragment(self, type_name: str, body: str) -> str:
        name = f"F{len(self.fragments)}"
        self.fragments[name] = f"fragment {name} on {type_name} {{ {body} }}"
        return f"...{name}"


@st.composite
def selection(draw: st.DrawFn, doc: Document, type_name: str, depth: int) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["scalar", "scalar", "link", "outside", "fragment"]))
        if kind == "link" and depth < 3:
            name, target = draw(st.sampled_from(sorted(LINKS[type_name].items())))
            part = f"{name} {{ {draw(selection(doc, target, depth + 1))} }}"
        elif kind == "outside" and OUTSIDE[type_name] and draw(st.integers(0, 4)) == 0:
            part = draw(st.sampled_from(OUTSIDE[type_name]))
            doc.compilable = False
        elif kind == "fragment" and depth < 3:
            on = draw(st.sampled_from([type_name, type_name, "Node", None]))
            body = (
                draw(st.sampled_from(["id", "__typename", "id __typename"]))
                if on == "Node"
                else draw(selection(doc, type_name, depth + 1))
            )
            if draw(st.booleans()) and on is not None:
                part = doc.fragment(on, body)
            else:
                part = f"... on {on} {{ {body} }}" if on else f"... {{ {body} }}"
        else:
            part = draw(st.sampled_from(SCALARS[type_name]))
        if draw(st.integers(0, 3)) == 0 and not part.startswith("..."):
            name = part.split(" ", 1)[0].split("(", 1)[0]
            part = f"{draw(st.sampled_from(ALIASES))}{name}: {part}"
        parts.append(part)
    return " ".join(parts)


@st.composite
def arguments(
    draw: st.DrawFn, doc: Document, units: list[int], tasks: list[int], people: list[int]
) -> str:
    given_: list[str] = []
    first = draw(st.sampled_from([None, None, 0, 1, 3, 3, 20, 20, 100, 101, -1]))
    if first is not None:
        given_.append(f"first: {first}")
        doc.compilable &= 0 <= first <= 100
    after = draw(st.sampled_from([None, None, None, "id", "id", "garbage", "big", "text"]))
    if after == "id":
        given_.append(f'after: "{encode_cursor([draw(st.sampled_from(tasks))])}"')
    elif after is not None:
        doc.compilable = False  # refused by the resolvers, with their error
    if after == "garbage":
        given_.append('after: "bm90IGEgY3Vyc29y"')
    elif after == "big":
        given_.append(f'after: "{encode_cursor([2**40])}"')
    elif after == "text":
        given_.append(f'after: "{encode_cursor(["12"])}"')
    order = draw(st.sampled_from([None, "NEWEST", "OLDEST", "DUE_SOONEST"]))
    if order:
        given_.append(f"orderBy: {order}")
        doc.compilable &= order != "DUE_SOONEST"  # a cursor of instants: not compiled yet
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
        unit = draw(st.sampled_from(units))
        kind = draw(st.sampled_from(["OrgUnit", "OrgUnit", "Task"]))
        conditions.append(f'orgUnitId: "{to_global_id(kind, unit)}"')  # type: ignore[arg-type]
        if draw(st.booleans()):
            conditions.append("includeDescendants: true")
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f"overdue: {draw(st.sampled_from(['true', 'false']))}")
    if draw(st.integers(0, 3)) == 0:
        conditions.append(f"category: {draw(st.sampled_from(['PATROL', 'CLEANUP', 'OTHER']))}")
    if draw(st.integers(0, 4)) == 0:
        conditions.append(f'assigneeId: "{to_global_id("Person", draw(st.sampled_from(people)))}"')
    if draw(st.integers(0, 5)) == 0:
        conditions.append('dueAfter: "2026-10-01T00:00:00+00:00"')
    if conditions:
        given_.append(f"filter: {{ {', '.join(conditions)} }}")
    return f"({', '.join(given_)})" if given_ else ""


@st.composite
def operation(
    draw: st.DrawFn, units: list[int], tasks: list[int], people: list[int]
) -> tuple[str, bool]:
    doc = Document()
    roots = []
    for n in range(draw(st.integers(1, 2))):
        parts = []
        for name in draw(st.permutations(["edges", "pageInfo", "totalCount", "__typename"])):
            if not draw(st.booleans()):
                continue
            if name == "edges":
                node = draw(selection(doc, "Task", 0))
                edge = draw(st.sampled_from(["cursor", "", "__typename"]))
                parts.append(f"edges {{ {edge} node {{ {node} }} }}")
            elif name == "pageInfo":
                infos = draw(
                    st.lists(
                        st.sampled_from(
                            ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]
                        ),
                        min_size=1,
                        max_size=4,
                        unique=True,
                    )
                )
                parts.append(f"pageInfo {{ {' '.join(infos)} }}")
            else:
                parts.append(name)
        body = " ".join(parts) or "totalCount"
        roots.append(f"t{n}: tasks{draw(arguments(doc, units, tasks, people))} {{ {body} }}")
    extra = draw(st.sampled_from(["", "", "__typename", "me { username }"]))
    doc.compilable &= extra != "me { username }"
    query = "query Generated { " + " ".join([*roots, extra]) + " }\n"
    return query + "\n".join(doc.fragments.values()), doc.compilable


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def keys(services: Services) -> Keys:
    return Keys(
        [u.id for u in await OrgUnit.all()],
        [t.id for t in await Task.all()],
        [p.id for p in await Person.all()],
    )


@dataclass
class Keys:
    units: list[int]
    tasks: list[int]
    people: list[int]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), account=st.sampled_from(ACCOUNTS))
async def test_generated_operations_agree(
    services: Services, keys: Keys, data: st.DataObject, account: str
) -> None:
    query, compilable = data.draw(operation(keys.units, keys.tasks, keys.people))

    compiled, resolved = await services.both(query, None, account)

    assert compiled.body == resolved.body, query
    # Every demo account reads tasks somewhere: what stays inside the subset compiles.
    expected = "compiled" if compilable and "errors" not in resolved.body else "resolved"
    assert compiled.executor == expected, query
