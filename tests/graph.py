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


async def payload(tree: Tree, username: str, mutation: str, **input: Any) -> Any:
    """The single mutation field's payload for ``input``."""
    found = await data(tree, username, mutation, input=input)
    (value,) = found.values()
    return value


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
