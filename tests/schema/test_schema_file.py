"""``schema.graphql`` is what client code generators read: it must match the code."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from graphql import GraphQLInterfaceType

from app.cli import main
from schema.build import schema
from schema.node import NodeType

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    assert committed == schema.as_str() + "\n", (
        "schema.graphql is stale: run `riverchief export-schema --output schema.graphql`"
    )


def test_export_schema_prints_the_sdl_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["export-schema"]) == 0

    assert capsys.readouterr().out == schema.as_str() + "\n"
    assert list(tmp_path.iterdir()) == []  # no ./schema.graphql overwritten


def test_export_schema_writes_the_sdl_to_the_file_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.graphql"

    assert main(["export-schema", "--output", str(target)]) == 0

    assert target.read_text(encoding="utf-8") == schema.as_str() + "\n"
    assert capsys.readouterr().out == f"wrote {target}\n"


def test_export_schema_says_in_one_line_when_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "out.graphql"

    assert main(["export-schema", "--output", str(target)]) == 2

    assert capsys.readouterr().err == (
        f"riverchief: cannot write {target}: No such file or directory\n"
    )


def test_the_contract_names_are_in_the_schema() -> None:
    sdl = schema.as_str()

    for name in (
        "login(username: String!, password: String!): LoginPayload!",
        "me: User",
        "orgUnit(id: ID!): OrgUnit",
        "task(id: ID!): Task",
        "node(id: ID!): Node",
        "enum OrgLevel",
        "enum TaskStatus",
        "enum TaskCategory",
    ):
        assert name in sdl, name


def test_every_type_and_field_is_described() -> None:
    """Frontend teams read the schema in GraphiQL and in generated code: nothing unexplained."""
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLInterfaceType,
        GraphQLObjectType,
    )

    roots = {"Query", "Mutation", "Subscription"}
    missing = []
    for name, graph_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        composite = (GraphQLObjectType, GraphQLInputObjectType, GraphQLInterfaceType)
        described = isinstance(graph_type, (*composite, GraphQLEnumType))
        if described and not graph_type.description and name not in roots:
            missing.append(name)
        if isinstance(graph_type, composite):
            missing += [f"{name}.{f}" for f, d in graph_type.fields.items() if not d.description]

    assert missing == []


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
