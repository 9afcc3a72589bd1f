"""Running operations through the schema as one of the tree's accounts, and common documents."""

from __future__ import annotations

from typing import Any

from strawberry.types import ExecutionResult

from models.audit import AuditEvent
from schema.build import schema
from tests.fixtures import Tree

TASK_FIELDS = """
  id title status category version dueAt overdue progress
  orgUnit { name } issuer { name } parent { id }
  quota { target recordType done }
"""

CREATE_TASK = f"""
mutation Create($input: CreateTaskInput!) {{
  createTask(input: $input) {{ task {{ {TASK_FIELDS} }} errors {{ field code message }} }}
}}
"""

TRANSITION = f"""
mutation Transition($input: TransitionTaskInput!) {{
  transitionTask(input: $input) {{ task {{ {TASK_FIELDS} }} errors {{ field code message }} }}
}}
"""

TASK = f"query Task($id: ID!) {{ task(id: $id) {{ {TASK_FIELDS} }} }}"


async def run(tree: Tree, username: str | None, query: str, **variables: Any) -> ExecutionResult:
    """Execute ``query`` as ``username`` with a fresh request context (fresh loaders)."""
    return await schema.execute(query, variables, context_value=tree.context_for(username))


async def data(tree: Tree, username: str | None, query: str, **variables: Any) -> Any:
    """The result's data, after checking there was no top-level error."""
    result = await run(tree, username, query, **variables)
    assert result.errors is None, result.errors
    return result.data


def codes(result: ExecutionResult) -> list[str | None]:
    """The ``extensions.code`` of each top-level error."""
    return [(e.extensions or {}).get("code") for e in result.errors or []]


def refusals(result: ExecutionResult) -> list[tuple[str | None, str | None]]:
    """The top-level errors as (``extensions.field``, ``extensions.code``) pairs, after
    checking that they refused the whole operation (``data`` is null)."""
    assert result.data is None, result.data
    return [
        ((e.extensions or {}).get("field"), (e.extensions or {}).get("code"))
        for e in result.errors or []
    ]


def mutation_errors(result: ExecutionResult) -> list[tuple[str | None, str | None]]:
    """A single-mutation operation's errors as (field, code) pairs, by the README's rule:
    FORBIDDEN refuses the whole operation at the top level (``data`` null, the field in
    ``extensions.field``); every other error a client can fix is in the payload's ``errors``."""
    if result.errors:
        found = refusals(result)
        assert {code for _, code in found} == {"FORBIDDEN"}, result.errors
        return found
    assert result.data is not None
    (value,) = result.data.values()
    found = [(e["field"], e["code"]) for e in value["errors"]]
    assert "FORBIDDEN" not in {code for _, code in found}, found
    return found


async def refused(tree: Tree, username: str, mutation: str, **input: Any) -> Any:
    """The refusal of a single mutation field for ``input``, as ``refusals`` gives it."""
    return refusals(await run(tree, username, mutation, input=input))


class Refused(dict[str, Any]):
    """A mutation refused at the top level, read as a payload: no object (every other key is
    None) and the refusal as its one error, so a table of outcomes reads one way."""

    def __missing__(self, key: str) -> None:
        return None


def as_payload(result: ExecutionResult) -> Any:
    """The single mutation field's payload, or its top-level refusal as a ``Refused`` payload;
    either way checked against the README's rule (``mutation_errors``)."""
    errors = mutation_errors(result)
    if result.errors:
        return Refused(errors=[{"field": field, "code": code} for field, code in errors])
    assert result.data is not None
    (value,) = result.data.values()
    return value


async def payload(tree: Tree, username: str, mutation: str, **input: Any) -> Any:
    """The single mutation field's payload for ``input`` (``as_payload``)."""
    return as_payload(await run(tree, username, mutation, input=input))


async def transition(
    tree: Tree,
    username: str,
    task_id: str,
    action: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> Any:
    given: dict[str, Any] = {"taskId": task_id, "action": action}
    if note is not None:
        given["note"] = note
    if expected_version is not None:
        given["expectedVersion"] = expected_version
    return await payload(tree, username, TRANSITION, **given)


async def task(tree: Tree, username: str, task_id: str) -> Any:
    return (await data(tree, username, TASK, id=task_id))["task"]


def error_codes(found: Any) -> list[tuple[str | None, str]]:
    """A payload's errors as (field, code) pairs."""
    return [(e["field"], e["code"]) for e in found["errors"]]


async def event_count() -> int:
    return await AuditEvent.all().count()


async def actions_since(seq: int) -> list[str]:
    """The actions of the events after ``seq``, oldest first."""
    return [e.action for e in await AuditEvent.filter(seq__gt=seq).order_by("seq")]


async def last_seq() -> int:
    head = await AuditEvent.all().order_by("-seq").first()
    return head.seq if head else 0
