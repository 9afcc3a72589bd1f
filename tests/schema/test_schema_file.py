"""``schema.graphql`` is what client code generators read: it must match the code."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType

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
        "Evidence",
        "Notification",
        "Indicator",
        "OrgUnit",
        "Person",
        "Record",
        "Task",
        "User",
        "WaterBody",
    }
