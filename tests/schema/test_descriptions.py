"""The schema describes itself: every type, field, argument, enum value and directive a client
can introspect carries a description (README, "Schema conventions")."""

from __future__ import annotations

from typing import Any

from graphql import get_introspection_query

from schema.build import schema

# GraphQL's own: the introspection types and the built-in scalars and directives, which
# graphql-core describes (or not) itself.
BUILT_IN_TYPES = {"String", "Int", "Float", "Boolean", "ID"}
BUILT_IN_DIRECTIVES = {"include", "skip", "deprecated", "specifiedBy", "oneOf", "defer", "stream"}


def undescribed(introspection: dict[str, Any]) -> list[str]:
    """Every place of the introspected schema without a description, as a path."""
    missing: list[str] = []

    def check(path: str, item: dict[str, Any]) -> None:
        if not (item.get("description") or "").strip():
            missing.append(path)

    found = introspection["__schema"]
    for kind in found["types"]:
        name = kind["name"]
        if name.startswith("__") or name in BUILT_IN_TYPES:
            continue
        check(name, kind)
        for field in kind.get("fields") or []:
            check(f"{name}.{field['name']}", field)
            for arg in field.get("args") or []:
                check(f"{name}.{field['name']}({arg['name']})", arg)
        for field in kind.get("inputFields") or []:
            check(f"{name}.{field['name']}", field)
        for value in kind.get("enumValues") or []:
            check(f"{name}.{value['name']}", value)
    for directive in found["directives"]:
        if directive["name"] in BUILT_IN_DIRECTIVES:
            continue
        check(f"@{directive['name']}", directive)
        for arg in directive.get("args") or []:
            check(f"@{directive['name']}({arg['name']})", arg)
    return missing


async def introspect() -> dict[str, Any]:
    query = get_introspection_query(descriptions=True, input_value_deprecation=True)
    result = await schema.execute(query)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_every_type_field_argument_enum_value_and_directive_is_described() -> None:
    found = await introspect()

    missing = undescribed(found)

    assert missing == [], f"undescribed: {missing}"


async def test_the_walk_reaches_what_it_checks() -> None:
    """The walk itself: it visits the places named here (so an empty result means something)."""
    found = await introspect()
    described = {
        "OrgLevel.GRID",
        "Query.orgUnits(parentId)",
        "@can",
        "Role.county_admin",
        "AuditAction.TASK_VERIFY",
        "TaskFilter.category",
    }
    blanked = dict(found)
    blanked["__schema"] = {
        **found["__schema"],
        "types": [
            {
                **kind,
                "description": None,
                "fields": [
                    {
                        **f,
                        "description": None,
                        "args": [{**a, "description": None} for a in f["args"]],
                    }
                    for f in kind.get("fields") or []
                ],
                "inputFields": [{**f, "description": None} for f in kind.get("inputFields") or []],
                "enumValues": [{**v, "description": None} for v in kind.get("enumValues") or []],
            }
            for kind in found["__schema"]["types"]
        ],
        "directives": [{**d, "description": None} for d in found["__schema"]["directives"]],
    }

    assert described <= set(undescribed(blanked))
