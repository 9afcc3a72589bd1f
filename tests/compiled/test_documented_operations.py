"""Every documented operation (docs/queries/, bench/queries.py) gives the same answer
compiled and resolved, for every demo account and anonymously; the hot ones compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.queries import ASSIGNMENT_HISTORY, COUNTY_DASHBOARD, ME, TASK_INBOX, indicator_rollups
from models.enums import OrgLevel
from models.indicator import Indicator
from models.org import OrgUnit
from models.task import Task
from schema.node import to_global_id
from tests.compiled.conftest import ACCOUNTS, Services

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCUMENTS = Path(__file__).parents[2] / "docs" / "queries"
VIEWERS = (*ACCOUNTS, None)


async def _variables() -> dict[str, Any]:
    county = await OrgUnit.get(name="威信县")
    township = await OrgUnit.get(name="扎西镇")
    task = await Task.all().order_by("id").first()
    grid = await OrgUnit.filter(level=OrgLevel.GRID).order_by("path").first()
    assert task is not None and grid is not None
    return {
        "grid": grid.code,
        "county": to_global_id("OrgUnit", county.id),
        "township": to_global_id("OrgUnit", township.id),
        "unit": to_global_id("OrgUnit", township.id),
        "task": to_global_id("Task", task.id),
        "at": "2026-09-01T09:00:00+08:00",
        "first": 50,
        "month": "2026-09",  # the reports (docs/queries): a month that has begun
        "period": "2026-09",
    }


async def _operations() -> list[tuple[str, str]]:
    metrics = [row.code for row in await Indicator.all().order_by("code")]
    documents = [(path.stem, path.read_text()) for path in sorted(DOCUMENTS.glob("*.graphql"))]
    return [
        *documents,
        ("Q1", ME),
        ("Q2", TASK_INBOX),
        ("Q3", COUNTY_DASHBOARD),
        ("Q4", indicator_rollups(metrics)),
        ("Q5", ASSIGNMENT_HISTORY),
    ]


def _used(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in variables.items() if f"${name}" in query}


async def test_every_documented_operation_agrees(services: Services) -> None:
    variables = await _variables()
    executors: dict[str, set[str]] = {}
    for name, query in await _operations():
        for viewer in VIEWERS:
            compiled, resolved = await services.both(query, _used(query, variables), viewer)

            assert compiled.body == resolved.body, (name, viewer)
            assert resolved.executor == "resolved"
            executors.setdefault(name, set()).add(compiled.executor)

    # The township inbox compiles for every signed-in account that reads tasks; anonymous
    # callers get the guard's error, from the resolvers. The dashboards, with taskStats on
    # every unit of their children lists, compile too: one roll-up in the statement.
    assert executors["Q2"] == {"compiled", "resolved"}
    assert executors["Q3"] == {"compiled", "resolved"}
    assert executors["Q5"] == {"compiled", "resolved"}
    assert executors["township_dashboard"] == {"compiled", "resolved"}
    assert executors["Q1"] == {"compiled", "resolved"}


async def test_the_inbox_is_compiled_for_a_township_head(services: Services) -> None:
    compiled, resolved = await services.both(TASK_INBOX, None, "zhaxi_head")

    assert compiled.executor == "compiled"
    assert compiled.body == resolved.body
    edges = compiled.body["data"]["tasks"]["edges"]
    assert len(edges) > 0
    assert {"id", "title", "status", "dueAt", "orgUnit", "issuer", "assignee", "parent"} == set(
        edges[0]["node"]
    )


async def test_the_assignment_history_is_compiled_for_the_inspector(services: Services) -> None:
    variables = await _variables()

    compiled, resolved = await services.both(
        ASSIGNMENT_HISTORY, {"unit": variables["township"]}, "inspector"
    )

    assert compiled.executor == "compiled"
    assert compiled.body == resolved.body
    assert len(compiled.body["data"]["auditEvents"]["edges"]) == 50


async def test_a_mutation_is_resolved(services: Services) -> None:
    query = 'mutation { login(username: "nobody", password: "x") { token } }'

    compiled, resolved = await services.both(query, None, None)

    assert compiled.executor == "resolved"
    assert compiled.body == resolved.body
