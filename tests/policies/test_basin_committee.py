"""The basin committee (流域大党委) on the demo: ``basin_secretary`` holds its role at 赤水河流域
大党委, whose scope is every unit the Chishui basin's water bodies run through (扎西、罗布、
麟凤、长安、水田、旧城 and what lies below them), not a subtree. Along the river it reads,
issues tasks and follows their progress; off it (庙沟、高田、三桃、双河, the county departments,
Yangzonghai) it reads nothing and acts nowhere, as any outsider. The same answers over HTTP and
over the websocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from models.audit import AuditEvent
from models.enums import TaskStatus
from models.org import OrgUnit
from models.people import User
from models.record import AccountabilityRecord
from models.task import Task
from schema.node import to_global_id
from tests.conftest import demo_database
from tests.http.test_websocket_authority import Live, live_app, socket

pytestmark = pytest.mark.asyncio(loop_scope="module")

# On the river: a township the basin runs through, a village and a grid below it (segments
# name villages), and 旧城镇, on the basin itself with no river of the demo through it.
ON_RIVER = ("zhaxi", "shilong", "shilong_g1", "shunhe", "lf_heba", "jiucheng", "st_guihua")
# Off it: townships no water body of the basin runs through, a village of one, the county
# departments other than the committee, and the other jurisdiction.
OFF_RIVER = ("miaogou", "mg_huafang", "gaotian", "santao", "water_bureau", "YZH")

UNIT = "query($id: ID!) { orgUnit(id: $id) { code } }"
UNITS = "{ orgUnits(level: TOWNSHIP, first: 50) { totalCount edges { node { code } } } }"
TASKS = """
query($unit: ID) {
  tasks(filter: {orgUnitId: $unit}, first: 100) { totalCount edges { node { id title } } }
}
"""
TASK = "query($id: ID!) { task(id: $id) { title status progress orgUnit { code } } }"
RECORDS = """
query($unit: ID) { records(filter: {orgUnitId: $unit}, first: 100) { totalCount } }
"""
RECORD = "query($id: ID!) { node(id: $id) { id } }"
PEOPLE = """
query($unit: ID) { people(filter: {orgUnitId: $unit}, first: 100) { totalCount } }
"""
STATS = "query($id: ID!) { orgUnit(id: $id) { taskStats { total byStatus { status count } } } }"
CREATE = """
mutation($input: CreateTaskInput!) {
  createTask(input: $input) {
    task { title status orgUnit { code } issuer { code } }
    errors { field code }
  }
}
"""


@dataclass
class Demo:
    live: Live
    token: str
    peer: str  # zhaxi_head's token: what 扎西镇 itself reads of its own subtree
    admin: str  # county_admin's token: who asks who may do what
    units: dict[str, OrgUnit]

    def gid(self, code: str) -> str:
        return to_global_id("OrgUnit", self.units[code].id)

    async def http(self, query: str, *, as_: str | None = None, **variables: Any) -> dict[str, Any]:
        response = await self.live.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {as_ or self.token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def both(self, query: str, *, as_: str | None = None, **variables: Any) -> dict[str, Any]:
        """The answer over HTTP, checked to be the websocket's too."""
        over_http = await self.http(query, as_=as_, **variables)
        async with socket(self.live, as_ or self.token) as ws:
            answer = await ws.run(query, variables)
        assert answer["type"] == "next", answer
        assert answer["payload"] == over_http
        return over_http


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[Demo]:
    async with demo_database():
        units = {u.code: u for u in await OrgUnit.all()}
        async with live_app() as live:
            token, peer, admin = [
                await login(live, name)
                for name in ("basin_secretary", "zhaxi_head", "county_admin")
            ]
            yield Demo(live, token, peer, admin, units)


async def login(live: Live, username: str) -> str:
    response = await live.http.post(
        "/graphql",
        json={
            "query": 'mutation($u: String!) { login(username: $u, password: "demo-pass") '
            "{ token } }",
            "variables": {"u": username},
        },
    )
    token: str = response.json()["data"]["login"]["token"]
    assert token
    return token


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_the_grant_sits_at_the_committee_with_its_history(demo: Demo) -> None:
    body = await demo.both("{ me { username roles { role orgUnit { code name } } } }")

    assert body == {
        "data": {
            "me": {
                "username": "basin_secretary",
                "roles": [
                    {
                        "role": "basin_secretary",
                        "orgUnit": {"code": "basin_committee", "name": "赤水河流域大党委"},
                    }
                ],
            }
        }
    }
    user = await User.get(username="basin_secretary")
    granted = await AuditEvent.filter(action="role.grant", entity_id=str(user.id)).count()
    assert granted == 1


@pytest.mark.parametrize("code", ON_RIVER)
async def test_units_on_the_river_read(demo: Demo, code: str) -> None:
    body = await demo.both(UNIT, id=demo.gid(code))

    assert body == {"data": {"orgUnit": {"code": code}}}


@pytest.mark.parametrize("code", OFF_RIVER)
async def test_units_off_the_river_read_as_missing(demo: Demo, code: str) -> None:
    body = await demo.both(UNIT, id=demo.gid(code))

    assert body == {"data": {"orgUnit": None}}


async def test_the_townships_read_are_those_of_the_basin(demo: Demo) -> None:
    body = await demo.both(UNITS)

    townships = sorted(e["node"]["code"] for e in body["data"]["orgUnits"]["edges"])
    assert townships == ["changan", "jiucheng", "linfeng", "luobu", "shuitian", "zhaxi"]


async def test_tasks_on_the_river_read_and_off_it_not(demo: Demo) -> None:
    on_river = await demo.both(TASKS, unit=demo.gid("shilong"))
    everything = await demo.both(TASKS)

    shilong = await Task.filter(org_unit__path__startswith=demo.units["shilong"].path).count()
    assert on_river["data"]["tasks"]["totalCount"] == shilong > 0
    paths = [demo.units[c].path for c in ("zhaxi", "luobu", "linfeng", "changan", "shuitian")]
    paths += [demo.units[c].path for c in ("jiucheng", "basin_committee")]
    visible = [
        t
        for t in await Task.all().prefetch_related("org_unit")
        if any(t.org_unit.path.startswith(p) for p in paths)
    ]
    assert everything["data"]["tasks"]["totalCount"] == len(visible)
    titles = {e["node"]["title"] for e in everything["data"]["tasks"]["edges"]}
    assert "高田乡方竹产业基地建设" not in titles
    assert "庙沟镇自然村公厕改建（项目调整）" not in titles
    for code in ("gaotian", "miaogou", "water_bureau"):
        off = await demo.both(TASKS, unit=demo.gid(code))
        assert off == {"data": {"tasks": {"totalCount": 0, "edges": []}}}, code


async def test_a_task_off_the_river_reads_as_missing(demo: Demo) -> None:
    off = await Task.get(title="高田乡方竹产业基地建设")
    on = await Task.get(title="石龙村“四小园”建设")

    missing = await demo.both(TASK, id=to_global_id("Task", off.id))
    found = await demo.both(TASK, id=to_global_id("Task", on.id))

    assert missing == {"data": {"task": None}}
    assert found["data"]["task"]["orgUnit"] == {"code": "shilong"}
    assert found["data"]["task"]["status"] == "SUBMITTED"


async def test_records_on_the_river_read_and_off_it_not(demo: Demo) -> None:
    off = await AccountabilityRecord.filter(org_unit=demo.units["water_bureau"]).first()
    assert off is not None

    on_river = await demo.both(RECORDS, unit=demo.gid("shilong"))
    off_river = await demo.both(RECORDS, unit=demo.gid("water_bureau"))
    one = await demo.both(RECORD, id=to_global_id("Record", off.id))

    # 扎西镇 reads every record of 石龙村; so does the committee, no more, no fewer.
    peer = await demo.http(RECORDS, as_=demo.peer, unit=demo.gid("shilong"))
    assert on_river == peer
    assert on_river["data"]["records"]["totalCount"] > 0
    assert off_river == {"data": {"records": {"totalCount": 0}}}
    assert one == {"data": {"node": None}}


async def test_people_off_the_river_are_invisible(demo: Demo) -> None:
    on_river = await demo.both(PEOPLE, unit=demo.gid("shilong"))
    off_river = await demo.both(PEOPLE, unit=demo.gid("mg_huafang"))

    assert on_river["data"]["people"]["totalCount"] > 0
    assert off_river == {"data": {"people": {"totalCount": 0}}}


async def test_issues_a_task_to_a_unit_on_the_river_and_follows_it(demo: Demo) -> None:
    variables = {
        "input": {
            "title": "赤水河流域统一调度：顺河村沿河垃圾清零",
            "category": "CLEANUP",
            "orgUnitId": demo.gid("shunhe"),
        }
    }
    before = await demo.http(STATS, id=demo.gid("shunhe"))

    body = await demo.http(CREATE, input=variables["input"])

    assert body == {
        "data": {
            "createTask": {
                "task": {
                    "title": "赤水河流域统一调度：顺河村沿河垃圾清零",
                    "status": "ASSIGNED",
                    "orgUnit": {"code": "shunhe"},
                    "issuer": {"code": "basin_committee"},
                },
                "errors": [],
            }
        }
    }
    task = await Task.get(title="赤水河流域统一调度：顺河村沿河垃圾清零")
    after = await demo.both(STATS, id=demo.gid("shunhe"))
    assert after["data"]["orgUnit"]["taskStats"]["total"] == (
        before["data"]["orgUnit"]["taskStats"]["total"] + 1
    )
    progress = await demo.both(TASK, id=to_global_id("Task", task.id))
    assert progress == {
        "data": {
            "task": {
                "title": "赤水河流域统一调度：顺河村沿河垃圾清零",
                "status": "ASSIGNED",
                "progress": progress["data"]["task"]["progress"],
                "orgUnit": {"code": "shunhe"},
            }
        }
    }
    assert progress["data"]["task"]["progress"] in (0, 0.0, None)
    assert task.status is TaskStatus.ASSIGNED


@pytest.mark.parametrize("code", ["mg_huafang", "gaotian", "water_bureau", "YZH"])
async def test_issuing_off_the_river_is_refused_and_writes_nothing(demo: Demo, code: str) -> None:
    title = f"越界下达 {code}"
    new = {"title": title, "category": "OTHER", "orgUnitId": demo.gid(code)}
    events = await AuditEvent.all().count()

    body = await demo.both(CREATE, input=new)

    assert body == {
        "data": {
            "createTask": {"task": None, "errors": [{"field": "orgUnitId", "code": "NOT_FOUND"}]}
        }
    }
    assert await Task.filter(title=title).count() == 0
    assert await AuditEvent.all().count() == events


async def test_task_stats_of_a_river_township_read_and_of_another_are_refused(demo: Demo) -> None:
    on_river = await demo.both(STATS, id=demo.gid("zhaxi"))
    off_river = await demo.both(STATS, id=demo.gid("miaogou"))

    zhaxi = await Task.filter(org_unit__path__startswith=demo.units["zhaxi"].path).count()
    assert on_river["data"]["orgUnit"]["taskStats"]["total"] == zhaxi
    assert off_river == {"data": {"orgUnit": None}}


async def test_no_grant_reaches_beyond_the_role(demo: Demo) -> None:
    """The committee issues and verifies; it neither progresses a river unit's task (the unit
    does) nor grants roles."""
    task = await Task.get(title="坪坝村禁渔巡查")
    body = await demo.http(
        "mutation($id: ID!) { transitionTask(input: {taskId: $id, action: START}) "
        "{ errors { code } } }",
        id=to_global_id("Task", task.id),
    )
    granted = await demo.http(
        "mutation($u: ID!, $o: ID!) { grantRole(input: {userId: $u, role: basin_secretary, "
        "orgUnitId: $o}) { errors { code } } }",
        u=to_global_id("User", (await User.get(username="village_sec")).id),
        o=demo.gid("shilong"),
    )

    assert codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert (await Task.get(id=task.id)).status is TaskStatus.ASSIGNED
    assert codes(granted) == ["FORBIDDEN"] and granted["data"] is None


EXPLAIN = """
query($user: ID!, $unit: ID!, $at: DateTime) {
  explainAccess(userId: $user, resource: "task", action: create, orgUnitId: $unit, at: $at) {
    allowed grant { role orgUnit { code } } rule basin { code name }
  }
}
"""
HOLDERS = """
query($object: ID!, $at: DateTime) {
  accessHolders(objectId: $object, action: "task:create", at: $at) {
    user { username } role orgUnit { code }
  }
}
"""


async def test_the_basin_grant_explains_itself_and_has_its_past(demo: Demo) -> None:
    account = await User.get(username="basin_secretary")
    user = to_global_id("User", account.id)
    granted = await AuditEvent.get(action="role.grant", entity_id=str(account.id))
    before = (granted.at - timedelta(hours=1)).isoformat()

    on_river = await demo.both(EXPLAIN, as_=demo.admin, user=user, unit=demo.gid("shunhe"))
    off_river = await demo.http(EXPLAIN, as_=demo.admin, user=user, unit=demo.gid("miaogou"))
    earlier = await demo.http(
        EXPLAIN, as_=demo.admin, user=user, unit=demo.gid("shunhe"), at=before
    )
    holders = await demo.both(HOLDERS, as_=demo.admin, object=demo.gid("shunhe"))
    elsewhere = await demo.http(HOLDERS, as_=demo.admin, object=demo.gid("miaogou"))
    then = await demo.http(HOLDERS, as_=demo.admin, object=demo.gid("shunhe"), at=before)

    assert on_river == {
        "data": {
            "explainAccess": {
                "allowed": True,
                "grant": {"role": "basin_secretary", "orgUnit": {"code": "basin_committee"}},
                "rule": "p, basin_secretary, *, task, create",
                "basin": {"code": "chishui_basin", "name": "赤水河流域（威信段）"},
            }
        }
    }
    own = await demo.http(EXPLAIN, as_=demo.admin, user=user, unit=demo.gid("basin_committee"))
    assert own == {
        "data": {
            "explainAccess": {
                "allowed": True,
                "grant": {"role": "basin_secretary", "orgUnit": {"code": "basin_committee"}},
                "rule": "p, basin_secretary, *, task, create",
                "basin": None,  # its own unit: the grant's subtree, no basin needed
            }
        }
    }
    no = {"data": {"explainAccess": {"allowed": False, "grant": None, "rule": None, "basin": None}}}
    assert off_river == no
    assert earlier == no
    committee = {
        "user": {"username": "basin_secretary"},
        "role": "basin_secretary",
        "orgUnit": {"code": "basin_committee"},
    }
    assert committee in holders["data"]["accessHolders"]
    assert committee not in elsewhere["data"]["accessHolders"]
    assert elsewhere["data"]["accessHolders"]  # the county's own holders are listed there
    assert committee not in then["data"]["accessHolders"]


async def test_the_committee_may_not_ask_who_may_do_what(demo: Demo) -> None:
    """``grant:read`` is not the basin secretary's: refused as a whole, on either transport."""
    user = to_global_id("User", (await User.get(username="basin_secretary")).id)

    explained = await demo.both(EXPLAIN, user=user, unit=demo.gid("shunhe"))
    holders = await demo.both(HOLDERS, object=demo.gid("shunhe"))

    assert codes(explained) == ["FORBIDDEN"] and explained["data"] == {"explainAccess": None}
    assert codes(holders) == ["FORBIDDEN"] and holders["data"] is None


ISSUED = """
query($unit: ID!) {
  tasks(filter: {orgUnitId: $unit}, first: 100) {
    edges { node { title status progress issuer { code } } }
  }
}
"""
VERIFY = """
mutation($id: ID!) {
  transitionTask(input: {taskId: $id, action: VERIFY}) { task { status } errors { code } }
}
"""


async def test_the_demo_s_committee_tasks_are_followed_and_signed_off(demo: Demo) -> None:
    """The demo's tasks issued by the committee along the river: read with their progress,
    created by basin_secretary in the demo's past, and verified by it once submitted."""
    shunhe = await demo.both(ISSUED, unit=demo.gid("shunhe"))
    heba = await demo.both(ISSUED, unit=demo.gid("lf_heba"))
    task = await Task.get(title="流域统一调度：倒流河罗布段沿岸垃圾清零")
    creator = await AuditEvent.get(action="task.create", entity_id=str(task.id))

    issued = [
        (e["node"]["title"], e["node"]["status"])
        for body in (shunhe, heba)
        for e in body["data"]["tasks"]["edges"]
        if e["node"]["issuer"] == {"code": "basin_committee"}
        and e["node"]["title"].startswith("流域统一调度")  # the demo's, not this module's
    ]
    assert sorted(issued) == [
        ("流域统一调度：倒流河罗布段沿岸垃圾清零", "SUBMITTED"),
        ("流域统一调度：倒流河麟凤段禁渔联合巡查", "IN_PROGRESS"),
    ]
    assert creator.actor_id == (await User.get(username="basin_secretary")).id

    verified = await demo.http(VERIFY, id=to_global_id("Task", task.id))

    assert verified == {"data": {"transitionTask": {"task": {"status": "VERIFIED"}, "errors": []}}}
    assert (await Task.get(id=task.id)).status is TaskStatus.VERIFIED
