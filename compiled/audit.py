"""``Query.auditEvents`` as one statement, each event shown by ``resolvers.audit_view``'s own
code: a reference in ``before``/``after`` (and the event's own ``orgPath``) to a unit, task,
person or record the viewer may not read becomes ``OUTSIDE_SCOPE``, and a list of ids keeps
only the readable ones.

The statement reads those fields as stored, and beside the page every reference its events
make, each once, with the unit of the object it names (``audit_view.references`` and its
lookup, over the page). ``audit_view.readable`` then decides which the viewer may see and
``audit_view.redact`` rewrites the fields, as for the resolvers. Checking a reference inside
the statement, for each value of each event, made it slow to plan and to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.arguments import page_arguments, read_filter
from compiled.connection import ListPlan
from compiled.objects import UNITS, Link, ObjectType, Render, Row, Scalar, column, subtree_end
from compiled.selection import NotCompilable
from compiled.statement import NO_KEY, Beside, ListQuery, run_list
from core.context import RequestContext
from models.audit import FIRST_SEQ, AuditEvent, AuditNode
from models.people import Person
from models.record import AccountabilityRecord
from models.task import Task
from policies.rights import AUDIT_READ, ORG_READ
from policies.scope import scope_for, scope_sql
from resolvers.audit_queries import ACTION_LENGTH, AuditQuery
from resolvers.audit_view import (
    MAX_ID,
    REFERENCES,
    Kind,
    Place,
    Ref,
    readable,
    redact,
    shown_path,
)
from resolvers.pagination import OrderKey
from schema.audit import ENTITY_TYPES, AuditFilter, audit_query

EVENTS = AuditEvent._meta.db_table
NODES = AuditNode._meta.db_table
ORDER = OrderKey(field="seq", tiebreak="seq", descending=True, int_limit=2**63)
# The table of each kind of reference that names an object by id, joined to its unit.
BY_ID = {
    Kind.TASK: Task._meta.db_table,
    Kind.PERSON: Person._meta.db_table,
    Kind.RECORD: AccountabilityRecord._meta.db_table,
}


def _entity_id(r: Render, row: Row) -> str:
    """A global ID for the entities the graph has a type for, when the id is all digits."""
    column = f"{row.alias}.entity_id"
    digits = (
        f"{column} ~ '^[0-9]+$'"
        if r.dialect.postgres
        else f"({column} <> '' AND {column} NOT GLOB '*[^0-9]*')"
    )
    cases = " ".join(
        f"WHEN {row.alias}.entity_type = '{entity}' AND {digits}"
        f" THEN {r.dialect.global_id(graph, column)}"
        for entity, graph in ENTITY_TYPES.items()
    )
    return f"CASE {cases} ELSE {column} END"


def _leaf_hash(r: Render, row: Row) -> str:
    """The event's leaf as its log stored it when the event was appended (level 0 of
    ``audit_node``): the same SHA-256 ``resolvers.audit.event_leaf_hash`` recomputes."""
    node = r.alias("ln")
    return (
        f"(SELECT {node}.hash FROM {NODES} {node} WHERE {node}.jurisdiction ="
        f" {row.alias}.jurisdiction AND {node}.level = 0"
        f" AND {node}.position = {row.alias}.leaf_index)"
    )


class EventRow(Row):
    """The events of ``auditEvents``' page, whose referring fields (``REDACTED``) the statement
    reads as stored and ``run_audit`` then shows as ``audit_view`` shows them."""


def _stored(column: str, as_json: bool) -> Scalar:
    """A referring field as stored: rendered only for an ``EventRow`` (any other row of an
    event leaves the compiled path, rather than show what the viewer may not read)."""

    def render(r: Render, row: Row) -> str:
        if not isinstance(row, EventRow):
            raise NotCompilable("an audit event outside auditEvents")
        value = f"{row.alias}.{column}"
        return r.dialect.json_column(value) if as_json else value

    return render


# The fields that may name what the viewer cannot read, and how ``audit_view`` shows each.
REDACTED: dict[str, Callable[[Any, Container[Ref]], Any]] = {
    "orgPath": shown_path,
    "before": redact,
    "after": redact,
}
REFS, LOCATED = "page_refs", "located_refs"


def _listed(keys: Iterable[str]) -> str:
    return ", ".join(f"'{key}'" for key in keys)


def _kinds() -> str:
    """The kind of reference a key of ``before``/``after`` makes (``REFERENCES``), as SQL on
    ``kv.key``."""
    grouped: dict[Kind, list[str]] = {}
    for key, kind in REFERENCES.items():
        grouped.setdefault(kind, []).append(key)
    cases = " ".join(
        f"WHEN kv.key IN ({_listed(keys)}) THEN '{kind.value}'" for kind, keys in grouped.items()
    )
    return f"CASE {cases} END"


def _column_refs(column: str, r: Render) -> str:
    """Every item of every referring value in ``column`` of the page's events (an array's
    elements; any other value is its only item) as ``(kind, id, path)``: the id when the item
    is an integer in 1..2³¹-1, the path when it is a non-empty string (``audit_view._ref``),
    else null."""
    source = f"page JOIN {EVENTS} pe ON pe.seq = page.k"
    if r.dialect.postgres:
        value = "x.value"
        number = f"(({value})::text)::bigint"
        listed = (
            "CASE WHEN jsonb_typeof(kv.value) = 'array' THEN kv.value"
            " ELSE jsonb_build_array(kv.value) END"
        )
        items = (
            f"{source} CROSS JOIN LATERAL jsonb_each(pe.{column}) kv"
            f" CROSS JOIN LATERAL jsonb_array_elements({listed}) x(value)"
        )
        key = (
            f"CASE WHEN jsonb_typeof({value}) = 'number' AND ({value})::text ~ '^[0-9]{{1,10}}$'"
            f" AND {number} BETWEEN 1 AND {MAX_ID - 1} THEN {number} END"
        )
        path = (
            f"CASE WHEN jsonb_typeof({value}) = 'string' AND ({value} #>> '{{}}') <> ''"
            f" THEN {value} #>> '{{}}' END"
        )
    else:
        # ``json_each`` at a value's own path walks an array's elements, or gives a scalar
        # as its one row.
        items = f"{source} JOIN json_each(pe.{column}) kv JOIN json_each(pe.{column}, kv.fullkey) x"
        key = f"CASE WHEN x.type = 'integer' AND x.atom BETWEEN 1 AND {MAX_ID - 1} THEN x.atom END"
        path = "CASE WHEN x.type = 'text' AND x.atom <> '' THEN x.atom END"
    every_key = _listed(REFERENCES)
    return (
        f"SELECT {_kinds()} AS kind, {key} AS id, {path} AS path FROM {items}"
        f" WHERE kv.key IN ({every_key})"
    )


def _page_refs(names: frozenset[str]) -> Callable[[Render], list[tuple[str, str]]]:
    """The references the page's events make in the fields asked (``names``), each once, and
    where each object referred to sits: ``audit_view.references`` and its lookup
    (``_locate``), for the whole page in the one statement."""

    def tables(r: Render) -> list[tuple[str, str]]:
        parts = []
        if names & {"before", "after"}:
            parts += [_column_refs("before", r), _column_refs("after", r)]
        if "orgPath" in names:
            parts.append(
                f"SELECT '{Kind.PATH.value}' AS kind, {NO_KEY} AS id, pe.org_path AS path"
                f" FROM page JOIN {EVENTS} pe ON pe.seq = page.k WHERE pe.org_path <> ''"
            )
        refs = " UNION ".join(parts)
        located = []
        for kind in Kind:
            if kind is Kind.PATH:
                given, source, found = "f.path", f"{UNITS} u", "u.path = f.path"
            elif kind is Kind.UNIT:
                given, source, found = "f.id", f"{UNITS} u", "u.id = f.id"
            else:
                given = "f.id"
                source = f"{BY_ID[kind]} x, {UNITS} u"
                found = "x.id = f.id AND u.id = x.org_unit_id"
            shown = "f.kind, f.id, f.path, u.path AS at, u.level AS level, u.id AS unit"
            if r.dialect.postgres:
                # A lookup by key for each reference: a join lets the planner hash every task.
                lookup = (
                    f"{REFS} f CROSS JOIN LATERAL (SELECT u.path, u.level, u.id FROM {source}"
                    f" WHERE {found} LIMIT 1) u WHERE"
                )
            else:
                lookup = f"{REFS} f, {source} WHERE {found} AND"
            located.append(
                f"SELECT {shown} FROM {lookup} f.kind = '{kind.value}' AND {given} IS NOT NULL"
            )
        return [(REFS, refs), (LOCATED, " UNION ALL ".join(located))]

    return tables


def _located_value(r: Render) -> str:
    """The located references as one JSON array of ``[kind, id, path, at, level, unit]``."""
    fields = "l.kind, l.id, l.path, l.at, l.level, l.unit"
    if r.dialect.postgres:
        return f"(SELECT json_agg(json_build_array({fields})) FROM {LOCATED} l)"
    return f"(SELECT json_group_array(json_array({fields})) FROM {LOCATED} l)"


def _shown(
    context: RequestContext, redacted: list[tuple[str, str]]
) -> Callable[[list[str], Any], list[str]]:
    """The nodes with their ``redacted`` fields (``(key, name)``) as ``audit_view`` shows them,
    given the page's located references."""

    def finish(nodes: list[str], located: Any) -> list[str]:
        pairs = (
            (Ref(kind, path if kind is Kind.PATH else key), Place(at, level, unit))
            for kind, key, path, at, level, unit in (
                (Kind(row[0]), row[1], row[2], row[3], row[4], row[5]) for row in located or ()
            )
        )
        seen = readable(context, pairs)
        shown = []
        for text in nodes:
            node = json.loads(text)
            changed = False
            for key, name in redacted:
                value = REDACTED[name](node[key], seen)
                changed = changed or value != node[key]
                node[key] = value
            # A node that names nothing hidden keeps the text the database built.
            shown.append(
                json.dumps(node, ensure_ascii=False, separators=(",", ":")) if changed else text
            )
        return shown

    return finish


AUDIT_EVENT = ObjectType(
    "AuditEvent",
    frozenset({"Node"}),
    {
        "id": lambda r, row: r.dialect.global_id("AuditEvent", f"{row.alias}.seq"),
        "seq": column("seq"),
        "leafIndex": column("leaf_index"),
        "leafHash": _leaf_hash,
        "at": lambda r, row: r.dialect.instant(f"{row.alias}.at"),
        "action": column("action"),
        # AuditAction's value: the stored action in upper case, its dot an underscore.
        "kind": lambda r, row: f"upper(replace({row.alias}.action, '.', '_'))",
        "entityType": column("entity_type"),
        "entityId": _entity_id,
        "orgPath": _stored("org_path", as_json=False),
        "before": _stored("before", as_json=True),
        "after": _stored("after", as_json=True),
        "requestId": column("request_id"),
        "prevHash": column("prev_hash"),
        "hash": column("hash"),
    },
    {"actor": Link("User", "actor_id")},
)


def _conditions(spec: AuditQuery, r: Render) -> list[str]:
    """``resolvers.audit_queries.list_events`` in SQL, on ``e`` (the event)."""
    p = r.params
    found = scope_for(r.context, AUDIT_READ)
    where = [f"e.seq >= {FIRST_SEQ}", scope_sql(found, p, "e.org_path", None)]
    if spec.org_unit_id is not None:
        seen = r.scope(ORG_READ, "f")
        if spec.include_descendants:
            within = f"e.org_path >= f.path AND e.org_path < {subtree_end('f.path')}"
        else:
            within = "e.org_path = f.path"
        where.append(
            f"EXISTS (SELECT 1 FROM {UNITS} f WHERE f.id = {p(spec.org_unit_id)}"
            f" AND {seen} AND {within})"
        )
    if spec.entity_type is not None:
        where.append(f"e.entity_type = {p(spec.entity_type)}")
    if spec.entity_id is not None:
        where.append(f"e.entity_id = {p(spec.entity_id)}")
    if spec.actor_id is not None:
        where.append(f"e.actor_id = {p(spec.actor_id)}")
    if spec.action is not None:
        if len(spec.action) > ACTION_LENGTH:
            where.append("1 = 0")
        else:
            where.append(f"e.action = {p(spec.action)}")
    if spec.since is not None:
        where.append(f"e.at >= {p(r.dialect.moment(spec.since))}")
    if spec.until is not None:
        where.append(f"e.at < {p(r.dialect.moment(spec.until))}")
    return where


async def run_audit(
    plan: ListPlan, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient
) -> str:
    redacted = (
        [(e.key, e.name) for e in plan.node.entries if e.name in REDACTED] if plan.node else []
    )
    beside = None
    if redacted:
        beside = Beside(_located_value, _shown(r.context, redacted))
    query = ListQuery(
        source=f"{EVENTS} e",
        row=EventRow("e", ""),
        table=EVENTS,
        key="seq",
        descending=True,
        where=" AND ".join(_conditions(read_filter(values, AuditFilter, audit_query), r)),
        page=page_arguments(values, ORDER),
        shared=_page_refs(frozenset(name for _, name in redacted)) if redacted else None,
        beside=beside,
        # The subtree's size decides between the primary key backwards and ``(org_path, seq)``.
        planned_afresh=True,
    )
    return await run_list(plan, query, r, conn)
