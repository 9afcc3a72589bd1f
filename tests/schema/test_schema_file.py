"""``schema.graphql`` is what client code generators read: it must match the code."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType

from app.cli import main
from schema.build import schema
from schema.node import NodeType

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    assert committed == schema.as_str() + "\n", (
        "schema.graphql is stale: run `riverchief export-schema`"
    )


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"

    assert main(["export-schema", "--output", str(target)]) == 0

    assert target.read_text(encoding="utf-8") == schema.as_str() + "\n"


def signature(root: str, field: str) -> str:
    """``field(arg: Type, …): Type`` as the contract writes it (descriptions left out)."""
    kind = schema._schema.get_type(root)
    assert isinstance(kind, GraphQLObjectType), root
    found = kind.fields[field]
    args = ", ".join(f"{name}: {arg.type}" for name, arg in found.args.items())
    return f"{field}({args}): {found.type}" if args else f"{field}: {found.type}"


def test_the_contract_names_are_in_the_schema() -> None:
    assert signature("Mutation", "login") == (
        "login(username: String!, password: String!): LoginPayload!"
    )
    assert signature("Query", "me") == "me: User"
    assert signature("Query", "orgUnit") == "orgUnit(id: ID!): OrgUnit"
    assert signature("Query", "task") == "task(id: ID!): Task"
    assert signature("Query", "node") == "node(id: ID!): Node"
    assert signature("Query", "accessHolders") == (
        "accessHolders(objectId: ID!, action: String!, at: DateTime): [AccessHolder!]!"
    )
    assert signature("Query", "indicatorRollup") == (
        "indicatorRollup(orgUnitId: ID!, metric: String!, from: Date, to: Date): IndicatorRollup"
    )
    for name in ("OrgLevel", "TaskStatus", "TaskCategory"):
        assert isinstance(schema._schema.get_type(name), GraphQLEnumType), name


# Every type, field, argument, enum value and directive is described: tests/schema/
# test_descriptions.py walks the introspected schema.


def test_the_global_id_type_names_are_the_types_that_implement_node() -> None:
    graphql_schema = schema._schema
    node = graphql_schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)

    implementing = {t.name for t in graphql_schema.get_implementations(node).objects}

    assert set(get_args(NodeType)) == implementing
    assert implementing == {
        "AuditEvent",
        "Indicator",
        "OrgUnit",
        "Person",
        "Record",
        "Task",
        "User",
        "WaterBody",
    }
