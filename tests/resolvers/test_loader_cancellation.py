"""A branch graphql-core gives up on does not take a shared dataloader result with it.

When one root field fails, graphql-core cancels its siblings' resolvers. A sibling awaiting a
loader's future for a key that another resolver awaits too must not cancel that future:
the other resolver would get ``CancelledError``, which escapes as a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from models.enums import TaskCategory
from models.task import Task
from resolvers.dataloader import DataLoader
from resolvers.pagination import encode_cursor
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.http.client import GraphQLClient


async def test_a_cancelled_waiter_leaves_the_shared_result_to_the_others() -> None:
    started = asyncio.Event()

    async def load(keys: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(0.01)
        return [key * 10 for key in keys]

    loader: DataLoader[int, int] = DataLoader(load_fn=load)
    first = asyncio.ensure_future(loader.load(1))
    second = asyncio.ensure_future(loader.load(1))
    await started.wait()
    first.cancel()

    assert await second == 10
    assert first.cancelled()
    assert await loader.load(1) == 10  # the cached result is still good


async def test_a_failing_root_field_beside_one_that_loads_gives_a_typed_error(
    tree: Tree, client: GraphQLClient
) -> None:
    zhaxi = tree.units["zhaxi"]
    task = await Task.create(
        title="清漂",
        category=TaskCategory.FISHING_BAN,
        org_unit=zhaxi,
        issuer_unit=tree.units["weixin"],
        due_at=datetime.now(UTC) + timedelta(days=3),
    )
    unit_id, task_id = to_global_id("OrgUnit", zhaxi.id), to_global_id("Task", task.id)
    token = await client.login("county_admin")
    # ``tasks`` refuses a cursor beyond the keys' range after the other roots began to load
    # the task's unit, the key they share.
    beyond = encode_cursor([2**40])
    query = f"""{{
      a: task(id: "{task_id}") {{ orgUnit {{ name parent {{ name }} }} issuer {{ name }} }}
      b: orgUnit(id: "{unit_id}") {{ name parent {{ name }}
        tasks(first: 100, after: "{beyond}") {{ totalCount }} }}
      c: task(id: "{task_id}") {{ orgUnit {{ name }} }}
    }}"""
    for _ in range(5):
        response = await client.post(query, None, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["VALIDATION"], body
