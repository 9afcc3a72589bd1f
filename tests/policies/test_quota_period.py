"""``Task.quota`` with its ``period`` for every account of the test tree: whoever reads the
task reads its quota, period and count (the same count for all); whoever does not reads
``null``, alike over HTTP and over the websocket."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.enums import RecordType, TaskCategory, TaskStatus
from models.task import Task
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, Tree
from tests.graph import data
from tests.http.client import running_app
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http, token_for

EVERYONE = sorted(ACCOUNTS)

QUOTA = """
query($id: ID!) {
  task(id: $id) { title quota { target recordType done period { from to } } progress }
}
"""

# Who reads a task held by shilong (and so its quota): the county and its inspector, the
# township, the village itself; not a grid below it, not another township, a department
# paired elsewhere, an enterprise or another county.
READERS = {"county_admin", "inspector", "zhaxi_head", "village_sec"}

SHOWN = {
    "title": "Six patrols in 2026",
    "quota": {
        "target": 6,
        "recordType": "PATROL",
        "done": 0,
        "period": {"from": "2026-01-01", "to": "2026-12-31"},
    },
    "progress": 0.0,
}


async def shilong_quota(tree: Tree) -> str:
    task = await Task.create(
        title="Six patrols in 2026",
        category=TaskCategory.PATROL,
        status=TaskStatus.IN_PROGRESS,
        org_unit=tree.units["shilong"],
        issuer_unit=tree.units["zhaxi"],
        quota_target=6,
        quota_record_type=RecordType.PATROL,
        quota_from=date(2026, 1, 1),
        quota_to=date(2026, 12, 31),
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return to_global_id("Task", task.id)


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_each_account_reads_the_period_where_it_reads_the_task(
    tree: Tree, viewer: str
) -> None:
    task_id = await shilong_quota(tree)

    found = await data(tree, viewer, QUOTA, id=task_id)

    assert found == {"task": SHOWN if viewer in READERS else None}


async def test_the_period_answers_alike_over_http_and_the_websocket(
    db: TortoiseContext, tree: Tree
) -> None:
    task_id = await shilong_quota(tree)
    operations: list[tuple[str, dict[str, Any]]] = [(QUOTA, {"id": task_id})]
    over_http: dict[str, list[Any]] = {}
    async with running_app() as client:
        for viewer in EVERYONE:
            over_http[viewer] = [
                await client.run(QUOTA, {"id": task_id}, token_for(tree.users[viewer]))
            ]
    for viewer in EVERYONE:
        expected = SHOWN if viewer in READERS else None
        assert over_http[viewer] == [{"data": {"task": expected}}], viewer

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)


async def test_an_anonymous_caller_reads_no_quota(tree: Tree) -> None:
    task_id = await shilong_quota(tree)
    async with running_app() as client:
        body = await client.run(QUOTA, {"id": task_id})

    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["data"] == {"task": None}
