"""``Query.auditEvents`` as one statement, each event shown as ``resolvers.audit_view`` shows
it: a reference in ``before``/``after`` (and the event's own ``orgPath``) to a unit, task,
person or record the viewer may not read becomes ``OUTSIDE_SCOPE``, and a list of ids keeps
only the readable ones. The references and the rights that name them are audit_view's own
tables (``REFERENCES``, ``SIGHT``); each check is the one scope filter in SQL.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.arguments import page_arguments, read_filter
from compiled.connection import ListPlan
from compiled.objects import UNITS, Link, ObjectType, Render, Row, column, subtree_end
from compiled.statement import ListQuery, run_list
from models.audit import FIRST_SEQ, AuditEvent, AuditNode
from models.people import Person
from models.record import AccountabilityRecord
from models.task import Task
from policies.rights import AUDIT_READ, ORG_READ
from policies.scope import scope_for, scope_sql
from resolvers.audit_queries import ACTION_LENGTH, AuditQuery
from resolvers.audit_view import MAX_ID, OUTSIDE_SCOPE, REFERENCES, SIGHT, Kind
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


def _org_path(r: Render, row: Row) -> str:
    column = f"{row.alias}.org_path"
    named = _path_named(column, r)
    return f"CASE WHEN {column} = '' OR {named} THEN {column} ELSE '{OUTSIDE_SCOPE}' END"


def _path_named(path: str, r: Render) -> str:
    return f"EXISTS ({_path_lookup(path, r)})"


def _path_lookup(path: str, r: Render) -> str:
    unit = r.alias("pu")
    seen = r.scope(ORG_READ, unit)
    return f"SELECT 1 FROM {UNITS} {unit} WHERE {unit}.path = {path} AND {seen}"


def _id_named(kind: Kind, key: str, r: Render) -> str:
    """The object of ``kind`` with id ``key`` (a number already checked) exists, and the
    viewer may read it."""
    return f"EXISTS ({_id_lookup(kind, key, r)})"


def _id_lookup(kind: Kind, key: str, r: Render) -> str:
    unit = r.alias("ru")
    if kind is Kind.UNIT:
        source, where = f"{UNITS} {unit}", f"{unit}.id = {key}"
    else:
        thing = r.alias("rx")
        source = f"{BY_ID[kind]} {thing} JOIN {UNITS} {unit} ON {unit}.id = {thing}.org_unit_id"
        where = f"{thing}.id = {key}"
    seen = r.scope(SIGHT[kind], unit)
    return f"SELECT 1 FROM {source} WHERE {where} AND {seen}"


def _named(kind: Kind, value: str, r: Render) -> str:
    """``audit_view``'s ``named(kind, value)`` on a JSON value: a reference (a path that is
    a non-empty string; an id that is an integer in 1..2³¹-1) to an object that exists and
    that the viewer may read."""
    if r.dialect.postgres:
        if kind is Kind.PATH:
            text = f"({value} #>> '{{}}')"
            return (
                f"(CASE WHEN jsonb_typeof({value}) = 'string' AND {text} <> ''"
                f" THEN {_path_named(text, r)} ELSE false END)"
            )
        number = f"(({value})::text)::bigint"
        return (
            f"(CASE WHEN jsonb_typeof({value}) = 'number' AND ({value})::text ~ '^[0-9]{{1,10}}$'"
            f" AND {number} BETWEEN 1 AND {MAX_ID - 1} THEN {_id_named(kind, number, r)}"
            " ELSE false END)"
        )
    # SQLite: ``value`` is a json_each row alias (its type and atom).
    if kind is Kind.PATH:
        return (
            f"({value}.type = 'text' AND {value}.atom <> '' AND {_path_named(f'{value}.atom', r)})"
        )
    return (
        f"({value}.type = 'integer' AND {value}.atom BETWEEN 1 AND {MAX_ID - 1}"
        f" AND {_id_named(kind, f'{value}.atom', r)})"
    )


def _keys_by_kind() -> dict[Kind, list[str]]:
    grouped: dict[Kind, list[str]] = {}
    for key, kind in REFERENCES.items():
        grouped.setdefault(kind, []).append(key)
    return grouped


REFS, SEEN = "page_refs", "seen_refs"


def _items(value: str) -> str:
    """A JSON value's items: an array's elements, or the value itself as the only one."""
    return (
        f"CASE WHEN jsonb_typeof({value}) = 'array' THEN {value}"
        f" ELSE jsonb_build_array({value}) END"
    )


def _listed(keys: list[str]) -> str:
    return ", ".join(f"'{key}'" for key in keys)


def _seen_references(r: Render) -> list[tuple[str, str]]:
    """PostgreSQL: every reference in the ``before`` and ``after`` of the page's events, by
    kind, that names an object the viewer may read, each checked once for the page (a check
    for each value of each event made the statement slow to plan). Each check is a lateral
    lookup by key, so the planner cannot choose to hash every readable task instead."""
    kinds = _keys_by_kind()
    kind_of = " ".join(
        f"WHEN kv.key IN ({_listed(keys)}) THEN '{kind.value}'" for kind, keys in kinds.items()
    )
    every_key = _listed([key for keys in kinds.values() for key in keys])
    value = "x.value"
    number = f"(({value})::text)::bigint"
    refs = (
        f"SELECT DISTINCT CASE {kind_of} END AS kind, {value} AS value,"
        f" CASE WHEN jsonb_typeof({value}) = 'number' AND ({value})::text ~ '^[0-9]{{1,10}}$'"
        f" AND {number} BETWEEN 1 AND {MAX_ID - 1} THEN {number} END AS id,"
        f" CASE WHEN jsonb_typeof({value}) = 'string' AND ({value} #>> '{{}}') <> ''"
        f" THEN {value} #>> '{{}}' END AS path"
        f" FROM page JOIN {EVENTS} pe ON pe.seq = page.k CROSS JOIN LATERAL"
        " (SELECT key, value FROM jsonb_each(pe.before)"
        " UNION ALL SELECT key, value FROM jsonb_each(pe.after)) kv"
        f" CROSS JOIN LATERAL jsonb_array_elements({_items('kv.value')}) x(value)"
        f" WHERE kv.key IN ({every_key})"
    )
    branches = []
    for kind in kinds:
        if kind is Kind.PATH:
            lookup, given = _path_lookup("f.path", r), "f.path IS NOT NULL"
        else:
            lookup, given = _id_lookup(kind, "f.id", r), "f.id IS NOT NULL"
        branches.append(
            f"SELECT f.kind, f.value FROM {REFS} f CROSS JOIN LATERAL ({lookup} LIMIT 1) z"
            f" WHERE f.kind = '{kind.value}' AND {given}"
        )
    return [(REFS, refs), (SEEN, " UNION ALL ".join(branches))]


def _shown_values(column: str, r: Render) -> str:
    """``before``/``after`` redacted (``audit_view.shown``'s ``redact``) as JSON."""
    item, element = r.alias("kv"), r.alias("el")
    hidden = f"'{OUTSIDE_SCOPE}'"
    if r.dialect.postgres:
        # Each reference of the page was checked once (``_seen_references``): here each item
        # of a referring value (a scalar is one item) is looked up among those found readable.
        value = f"{item}.value"
        items = _items(value)
        cases = []
        for kind, keys in _keys_by_kind().items():
            ok = (
                f"EXISTS (SELECT 1 FROM {SEEN} s WHERE s.kind = '{kind.value}'"
                f" AND s.value = {element}.value)"
            )
            checked = (
                f"SELECT {element}.value, {element}.n, {ok} AS ok"
                f" FROM jsonb_array_elements({items}) WITH ORDINALITY {element}(value, n)"
            )
            cases.append(
                f"WHEN {item}.key IN ({_listed(keys)}) THEN (SELECT CASE"
                f" WHEN jsonb_typeof({value}) = 'null' THEN {value}"
                f" WHEN jsonb_typeof({value}) = 'array' THEN coalesce(jsonb_agg(c.value"
                f" ORDER BY c.n) FILTER (WHERE c.ok), '[]'::jsonb)"
                f" WHEN bool_or(c.ok) THEN {value}"
                f" ELSE to_jsonb({hidden}::text) END FROM ({checked}) c)"
            )
        shown = f"CASE {' '.join(cases)} ELSE {value} END"
        body = (
            f"SELECT coalesce(json_object_agg({item}.key, {shown} ORDER BY {item}.n), '{{}}'::json)"
            f" FROM jsonb_each({column}) WITH ORDINALITY {item}(key, value, n)"
        )
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE ({body}) END"
    raw = (
        f"CASE WHEN {item}.type IN ('object', 'array') THEN json({item}.value)"
        f" WHEN {item}.type = 'true' THEN json('true') WHEN {item}.type = 'false'"
        f" THEN json('false') ELSE {item}.value END"
    )
    cases = []
    for kind, keys in _keys_by_kind().items():
        kept = (
            f"SELECT json_group_array(CASE WHEN {element}.type IN ('object', 'array')"
            f" THEN json({element}.value) WHEN {element}.type = 'true' THEN json('true')"
            f" WHEN {element}.type = 'false' THEN json('false') ELSE {element}.value END)"
            f" FROM json_each({item}.value) {element} WHERE {_named(kind, element, r)}"
        )
        cases.append(
            f"WHEN {item}.key IN ({_listed(keys)}) THEN CASE"
            f" WHEN {item}.type = 'null' THEN NULL"
            f" WHEN {item}.type = 'array' THEN json(({kept}))"
            f" WHEN {_named(kind, item, r)} THEN {raw}"
            f" ELSE {hidden} END"
        )
    shown = f"CASE {' '.join(cases)} ELSE {raw} END"
    body = f"SELECT json_group_object({item}.key, {shown}) FROM json_each({column}) {item}"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE json(({body})) END"


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
        "orgPath": _org_path,
        "before": lambda r, row: _shown_values(f"{row.alias}.before", r),
        "after": lambda r, row: _shown_values(f"{row.alias}.after", r),
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
    query = ListQuery(
        source=f"{EVENTS} e",
        row=Row("e", ""),
        table=EVENTS,
        key="seq",
        descending=True,
        where=" AND ".join(_conditions(read_filter(values, AuditFilter, audit_query), r)),
        page=page_arguments(values, ORDER),
        shared=_seen_references if r.dialect.postgres else None,
    )
    return await run_list(plan, query, r, conn)
