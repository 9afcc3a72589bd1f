"""The demo accounts hold what the design promises them and nothing beyond: an account
outside one's scope reads as no account, a pairing passes on reading and not issuing or
verifying, and an enterprise river chief governs its own enterprise, not its neighbours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from strawberry.types import ExecutionResult
from tortoise.context import TortoiseContext

from core.context import RequestContext, Viewer
from core.security import TokenSigner
from models.audit import AuditEvent
from models.enums import RecordType, TaskCategory, TaskStatus
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from policies.engine import PolicyEngine
from schema.build import schema
from schema.node import to_global_id
from tests.conftest import demo_database
from tests.fixtures import TEST_SECRET
from tests.graph import CREATE_TASK, TRANSITION, refusals

NO_ACCOUNT = to_global_id("User", 999_999)
NOT_FOUND_USER = {
    "grant": None,
    "errors": [{"field": "userId", "code": "NOT_FOUND", "message": "No such user."}],
}

GRANT = """
mutation Grant($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role orgUnit { name } } errors { field code message } }
}
"""
EXPLAIN = """
query Explain($user: ID!, $resource: String!, $action: PolicyAction!, $unit: ID!) {
  explainAccess(userId: $user, resource: $resource, action: $action, orgUnitId: $unit) {
    allowed grant { role orgUnit { name } } rule
  }
}
"""
TASKS = "{ tasks(first: 100) { edges { node { title orgUnit { name } } } } }"
RECORDS = "{ records(first: 100) { edges { node { summary orgUnit { name } } } } }"
TASK = "query Task($id: ID!) { task(id: $id) { title } }"


@dataclass
class Demo:
    engine: PolicyEngine
    users: dict[str, User]

    async def run(self, username: str, query: str, **variables: Any) -> ExecutionResult:
        user = self.users[username]
        context = RequestContext(
            viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
            policy=self.engine,
            request_id="test-demo-authority",
            signer=TokenSigner(TEST_SECRET, 60),
        )
        return await schema.execute(query, variables, context_value=context)

    async def data(self, username: str, query: str, **variables: Any) -> Any:
        result = await self.run(username, query, **variables)
        assert result.errors is None, result.errors
        return result.data


@pytest.fixture
async def demo_with_the_policy_first() -> AsyncIterator[TortoiseContext]:
    """The role policy seeded (as test data: no event), then the demo loaded on top."""
    async with demo_database(policy_first=True) as ctx:
        yield ctx


@pytest.fixture
async def demo(demo_with_the_policy_first: TortoiseContext) -> Demo:
    engine = PolicyEngine()
    await engine.reload()
    return Demo(engine, {u.username: u for u in await User.all()})


async def unit_gid(name: str) -> str:
    return to_global_id("OrgUnit", (await OrgUnit.get(name=name)).id)


async def written() -> tuple[int, int, int]:
    return (
        await CasbinRule.all().count(),
        await AuditEvent.all().count(),
        await Task.all().count(),
    )


# -- no existence oracles ---------------------------------------------------------------


@pytest.mark.parametrize("weixin_account", ["village_sec", "zhaxi_head", "county_admin"])
async def test_yangzonghai_grants_nothing_to_a_weixin_account(
    demo: Demo, weixin_account: str
) -> None:
    """Finding: ``yzh_admin`` could make a Weixin account county_admin of 阳宗海."""
    yangzonghai = await unit_gid("阳宗海风景名胜区")
    before = await written()

    to_weixin = await demo.data(
        "yzh_admin",
        GRANT,
        input={
            "userId": to_global_id("User", demo.users[weixin_account].id),
            "role": "county_admin",
            "orgUnitId": yangzonghai,
        },
    )
    to_nobody = await demo.data(
        "yzh_admin",
        GRANT,
        input={"userId": NO_ACCOUNT, "role": "county_admin", "orgUnitId": yangzonghai},
    )

    assert to_weixin == {"grantRole": NOT_FOUND_USER}
    assert to_nobody == {"grantRole": NOT_FOUND_USER}
    assert await written() == before


async def test_a_village_secretary_does_not_learn_who_holds_the_county(demo: Demo) -> None:
    """Finding: asked about the county admin, a village secretary learned
    ``county_admin @威信县``. An account outside its scope reads as no account."""
    shilong = await unit_gid("石龙村")

    about_county_admin = await demo.data(
        "village_sec",
        EXPLAIN,
        user=to_global_id("User", demo.users["county_admin"].id),
        resource="task",
        action="read",
        unit=shilong,
    )
    about_nobody = await demo.data(
        "village_sec", EXPLAIN, user=NO_ACCOUNT, resource="task", action="read", unit=shilong
    )
    about_itself = await demo.data(
        "village_sec",
        EXPLAIN,
        user=to_global_id("User", demo.users["village_sec"].id),
        resource="org",
        action="read",
        unit=await unit_gid("威信县"),
    )

    assert about_county_admin == about_nobody == {"explainAccess": None}
    assert about_itself == {
        "explainAccess": {
            "allowed": True,
            "grant": {"role": "village_secretary", "orgUnit": {"name": "石龙村"}},
            "rule": "p, village_secretary, *, org, read",
        }
    }


# -- pairings pass on reading -----------------------------------------------------------


async def submitted_task_at(unit_name: str, title: str) -> Task:
    unit = await OrgUnit.get(name=unit_name)
    return await Task.create(
        title=title,
        category=TaskCategory.PATROL,
        status=TaskStatus.SUBMITTED,
        org_unit=unit,
        issuer_unit=unit,
        due_at=datetime.now(UTC) + timedelta(days=10),
    )


@pytest.mark.parametrize(
    "village",
    [
        "坪坝村",  # on 倒流河罗布段, the water bureau's river pairing, and nothing more
        "顺河村",  # its co-building partner too
    ],
)
async def test_the_water_bureau_reads_its_paired_villages_but_neither_issues_nor_verifies(
    demo: Demo, village: str
) -> None:
    """Finding: the river pairing gave the department task create and verify rights at a
    village it does not co-build with."""
    task = await submitted_task_at(village, f"{village}河道巡查台账")
    task_gid = to_global_id("Task", task.id)
    before = await written()

    seen = await demo.data("dept_head", TASK, id=task_gid)
    created = await demo.run(
        "dept_head",
        CREATE_TASK,
        input={"title": "挂钩村巡河", "category": "PATROL", "orgUnitId": await unit_gid(village)},
    )
    verified = await demo.run(
        "dept_head", TRANSITION, input={"taskId": task_gid, "action": "VERIFY"}
    )

    assert seen == {"task": {"title": f"{village}河道巡查台账"}}
    assert refusals(created) == [("orgUnitId", "FORBIDDEN")]
    assert refusals(verified) == [("action", "FORBIDDEN")]
    assert await written() == before
    assert (await Task.get(id=task.id)).status is TaskStatus.SUBMITTED


# -- an enterprise river chief governs its own enterprise --------------------------------


async def test_an_enterprise_chief_reads_its_own_enterprise_and_not_its_neighbours(
    demo: Demo,
) -> None:
    """Finding: the responsibility segment 瑶冲河上游段 runs through 瑶冲村, and through it the
    enterprise chief of 瑶冲建材 read the whole village, two other enterprises included."""
    neighbour = await OrgUnit.get(name="瑶冲物流园有限公司")
    theirs = await Task.create(
        title="瑶冲物流园企业河长责任区每月巡河",
        category=TaskCategory.PATROL,
        status=TaskStatus.IN_PROGRESS,
        org_unit=neighbour,
        issuer_unit=neighbour,
    )
    await AccountabilityRecord.create(
        type=RecordType.PATROL,
        org_unit=neighbour,
        occurred_at=datetime.now(UTC) - timedelta(days=2),
        summary="瑶冲物流园界碑 YC-02 巡河",
    )

    tasks = await demo.data("enterprise_chief", TASKS)
    records = await demo.data("enterprise_chief", RECORDS)
    their_task = await demo.data("enterprise_chief", TASK, id=to_global_id("Task", theirs.id))

    task_units = {e["node"]["orgUnit"]["name"] for e in tasks["tasks"]["edges"]}
    record_units = {e["node"]["orgUnit"]["name"] for e in records["records"]["edges"]}
    assert task_units == {"瑶冲建材有限公司"}
    assert record_units == {"瑶冲建材有限公司"}
    assert "瑶冲建材企业河长责任区每月巡河" in {e["node"]["title"] for e in tasks["tasks"]["edges"]}
    assert (
        len(records["records"]["edges"])
        == await AccountabilityRecord.filter(org_unit__name="瑶冲建材有限公司").count()
    )
    assert their_task == {"task": None}
