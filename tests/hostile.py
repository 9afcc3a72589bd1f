"""What every answer to hostile input must look like, and the schema walked for where to send it.

An answer is *clean* when its status is under 500, its body is a JSON object, every top-level
error carries an ``extensions.code`` the service defines (never ``INTERNAL_SERVER_ERROR``), and
nothing in it reads like the inside of the server: a traceback, a source path, the ORM's or a
driver's name, SQL. The *sites* are every argument and input field of the root types, found by
walking the schema, so a field added tomorrow is attacked too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)
from tortoise.context import TortoiseContext

from app.body_limit import TOO_LARGE
from app.graphql import HTTP_ERROR_CODES
from core.errors import ErrorCode
from models.task import Task
from policies.guard import FORBIDDEN, UNAUTHENTICATED
from schema import persisted
from schema.build import schema
from schema.limits import LIMIT_EXCEEDED
from schema.observation import INTERNAL, PARSE_FAILED, SERVICE_UNAVAILABLE, VALIDATION_FAILED

KNOWN_CODES = frozenset(
    {code.value for code in ErrorCode}
    | set(HTTP_ERROR_CODES.values())
    | {
        UNAUTHENTICATED,
        FORBIDDEN,
        LIMIT_EXCEEDED,
        PARSE_FAILED,
        VALIDATION_FAILED,
        TOO_LARGE,
        persisted.NOT_FOUND,
        persisted.NOT_ALLOWED,
        persisted.INVALID,
    }
)
# Never an answer to anything a client can send: a bug, or a database that is down.
SERVER_SIDE_CODES = frozenset({INTERNAL, SERVICE_UNAVAILABLE})
LEAK_PATTERN = re.compile(
    r"Traceback|File \"|\.py[:\"]|site-packages|SELECT |INSERT INTO|UPDATE |DELETE FROM"
    r"|\b[A-Za-z]+(Error|Exception)\b"  # a Python exception's class name
    r"|(?i:tortoise|asyncpg|sqlite|psycopg|pypika|strawberry|graphql-core|uvicorn)"
)


def assert_no_leak(text: str) -> None:
    found = LEAK_PATTERN.search(text)
    assert found is None, f"{found.group(0)!r} in the answer: {text[:2000]}"


def error_codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


def payload_codes(body: dict[str, Any]) -> list[str]:
    """The ``errors { code }`` of each mutation payload in ``data``."""
    found: list[str] = []
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            found += [e["code"] for e in value.get("errors") or [] if isinstance(e, dict)]
    return found


def assert_clean(response: httpx.Response) -> dict[str, Any]:
    """The answer's body, after checking it is a clean one (see the module's docstring)."""
    assert response.status_code < 500, response.text[:2000]
    assert_no_leak(response.text)
    body = response.json()
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in KNOWN_CODES, f"untyped or unknown error: {error}"
        assert code not in SERVER_SIDE_CODES, error
    return body


def assert_refused(response: httpx.Response, *codes: str) -> dict[str, Any]:
    """A clean answer that refuses the whole operation with one of ``codes``."""
    body = assert_clean(response)
    found = error_codes(body)
    assert found and set(found) <= set(codes), body
    assert not any((body.get("data") or {}).values()), body  # nothing was answered
    return body


async def snapshot(db: TortoiseContext) -> dict[str, Any]:
    """Every table's row count and the sum of task versions (every change to a task bumps
    it), in one statement: this runs around hundreds of requests."""
    tables = {
        name: model._meta.db_table for models in db.apps.values() for name, model in models.items()
    }
    # Table names come from the models, not from input.
    columns = [f'(SELECT COUNT(*) FROM "{t}") AS "{n}"' for n, t in tables.items()]  # noqa: S608
    columns.append(f'(SELECT SUM(version) FROM "{Task._meta.db_table}") AS versions')  # noqa: S608
    rows = await Task._meta.db.execute_query_dict("SELECT " + ", ".join(columns))
    return {name: int(value or 0) for name, value in rows[0].items()}


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# ----- the schema, walked -----

GRAPH = schema._schema
ROOTS: tuple[GraphQLObjectType, ...] = tuple(
    root for root in (GRAPH.query_type, GRAPH.mutation_type) if root is not None
)


@dataclass(frozen=True)
class Site:
    """One place a client can put a scalar: ``root.field(arg.inner.leaf)``."""

    root: str
    field: str
    path: tuple[str, ...]
    leaf: str  # the leaf's scalar type name

    @property
    def label(self) -> str:
        return f"{self.root}.{self.field}({'.'.join(self.path)})"

    @property
    def is_mutation(self) -> bool:
        return self.root == "Mutation"


def _leaves(kind: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]) -> Iterator[Any]:
    named = get_named_type(kind)
    if isinstance(named, GraphQLInputObjectType):
        if named.name in seen:
            return
        for name, inner in named.fields.items():
            yield from _leaves(inner.type, (*path, name), seen | {named.name})
    elif isinstance(named, GraphQLScalarType):
        yield path, named.name


def sites(*leaf_types: str) -> list[Site]:
    """Every argument or input field, at any depth, whose scalar type is one of ``leaf_types``."""
    found = []
    for root in ROOTS:
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for path, leaf in _leaves(arg.type, (arg_name,), frozenset()):
                    if leaf in leaf_types:
                        found.append(Site(root.name, name, path, leaf))
    return found


def connection_fields() -> list[str]:
    """Root query fields that page: they take ``first`` and ``after``."""
    assert GRAPH.query_type is not None
    return [n for n, f in GRAPH.query_type.fields.items() if {"first", "after"} <= set(f.args)]


class Baseline:
    """Ordinary values for the arguments a site does not attack, from the test tree's ids."""

    def __init__(self, ids: dict[str, str]) -> None:
        self.ids = ids

    def scalar(self, name: str, arg: str) -> Any:
        if name == "ID":
            key = next((k for k in self.ids if k.lower() in arg.lower()), "default")
            return self.ids[key]
        return {
            "String": "baseline",
            "Int": 1,
            "Float": 1.0,
            "Boolean": False,
            "DateTime": "2030-01-01T00:00:00+00:00",
            "Date": "2030-01-01",
            "JSON": {},
            "Upload": "baseline",  # not a file: a JSON value in a file's place
        }[name]

    def value(self, kind: GraphQLInputType, name: str, path: tuple[str, ...], leaf: Any) -> Any:
        """A value of ``kind`` with ``leaf`` at ``path`` (``()`` is here) and ordinary values
        in every required field; optional fields off the path are left out."""
        if isinstance(kind, GraphQLNonNull):
            return self.value(kind.of_type, name, path, leaf)
        if isinstance(kind, GraphQLList):
            return [self.value(kind.of_type, name, path, leaf)]
        if isinstance(kind, GraphQLInputObjectType):
            built = {}
            for field_name, field in kind.fields.items():
                if path and path[0] == field_name:
                    built[field_name] = self.value(field.type, field_name, path[1:], leaf)
                elif isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined:
                    built[field_name] = self.value(field.type, field_name, (), _ORDINARY)
            return built
        if leaf is not _ORDINARY:
            return leaf
        if isinstance(kind, GraphQLEnumType):
            return next(iter(kind.values))
        assert isinstance(kind, GraphQLScalarType)
        return self.scalar(kind.name, name)


_ORDINARY = object()


def selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = ["__typename"]
    if "totalCount" in named.fields:
        parts.append("totalCount")
    if "errors" in named.fields:
        parts.append("errors { code field message }")
    return "{ " + " ".join(parts) + " }"


def operation(site: Site, leaf: Any, baseline: Baseline) -> dict[str, Any]:
    """A request body that puts ``leaf`` at ``site``, as a variable, and nothing odd elsewhere."""
    root = GRAPH.mutation_type if site.is_mutation else GRAPH.query_type
    assert root is not None
    field = root.fields[site.field]
    definitions, arguments, variables = [], [], {}
    for name, arg in field.args.items():
        attacked = name == site.path[0]
        required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        if not (attacked or required):
            continue
        definitions.append(f"${name}: {arg.type}")
        arguments.append(f"{name}: ${name}")
        variables[name] = baseline.value(
            arg.type, name, site.path[1:] if attacked else (), leaf if attacked else _ORDINARY
        )
    keyword = "mutation" if site.is_mutation else "query"
    signature = f"({', '.join(definitions)})" if definitions else ""
    call = f"({', '.join(arguments)})" if arguments else ""
    query = f"{keyword} Probe{signature} {{ {site.field}{call} {selection(field)} }}"
    return {"query": query, "variables": variables}


def raw_json(body: dict[str, Any]) -> bytes:
    """JSON as a client could send it: lone surrogates escaped, not refused by the encoder."""
    return json.dumps(body, ensure_ascii=True).encode()


def ordinary_operation(root: str, field: str, baseline: Baseline) -> dict[str, Any]:
    """A request body calling ``root.field`` with ordinary values in every required argument."""
    return operation(Site(root, field, ("",), ""), _ORDINARY, baseline)
