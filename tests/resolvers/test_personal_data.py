"""Phone and ID numbers: in full inside the viewer's management scope, masked elsewhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.http.client import GraphQLClient

PHONE = "13812345678"
ID_NUMBER = "530627198001011234"
MASKED_PHONE = "138****5678"
MASKED_ID_NUMBER = "**************1234"

PERSON = """
query Person($id: ID!) {
  node(id: $id) { ... on Person { name phone idNumber orgUnit { name } } }
}
"""
ASSIGNEE = """
query Assignee($id: ID!) { task(id: $id) { title assignee { name phone idNumber } } }
"""


async def run(tree: Tree, username: str, query: str, **variables: Any) -> Any:
    result = await schema.execute(query, variables, context_value=tree.context_for(username))
    assert result.errors is None, result.errors
    return result.data


def person_gid(tree: Tree, unit: str) -> str:
    return to_global_id("Person", tree.people[unit].id)


# viewer, the unit of the person read, what the viewer gets
CASES = [
    # in the viewer's management scope (person_pii read there): in full
    ("county_admin", "shilong", "full"),
    ("county_admin", "water_bureau", "full"),
    ("zhaxi_head", "zhaxi", "full"),
    ("zhaxi_head", "grid_b", "full"),
    ("zhaxi_head", "enterprise", "full"),
    ("village_sec", "grid_a", "full"),
    ("grid_leader", "grid_a", "full"),
    ("dept_head", "water_bureau", "full"),
    ("yzh_admin", "qixing", "full"),
    # seen, but outside the management scope: masked
    ("dept_head", "luobu_village", "masked"),  # a paired village: its people, not their data
    ("dept_head", "grid_c", "masked"),
    ("inspector", "shilong", "masked"),
    ("inspector", "weixin", "masked"),
    ("enterprise_chief", "enterprise", "masked"),
    # not seen at all
    ("zhaxi_head", "luobu", None),
    ("zhaxi_head", "weixin", None),
    ("village_sec", "dahetan", None),
    ("grid_leader", "shilong", None),
    ("yzh_admin", "shilong", None),
    ("luobu_head", "grid_a", None),
]


@pytest.mark.parametrize(("viewer", "unit", "expected"), CASES)
async def test_personal_data_by_scope(
    tree: Tree, viewer: str, unit: str, expected: str | None
) -> None:
    data = await run(tree, viewer, PERSON, id=person_gid(tree, unit))

    if expected is None:
        assert data == {"node": None}
        return
    person = data["node"]
    assert person["name"] == f"person of {unit}"
    if expected == "full":
        assert (person["phone"], person["idNumber"]) == (PHONE, ID_NUMBER)
    else:
        assert (person["phone"], person["idNumber"]) == (MASKED_PHONE, MASKED_ID_NUMBER)
        assert PHONE not in json.dumps(data) and ID_NUMBER not in json.dumps(data)


@pytest.mark.parametrize(
    ("viewer", "task", "phone", "id_number"),
    [
        ("zhaxi_head", "shilong", PHONE, ID_NUMBER),
        ("inspector", "shilong", MASKED_PHONE, MASKED_ID_NUMBER),
        ("dept_head", "luobu_village", MASKED_PHONE, MASKED_ID_NUMBER),
        ("dept_head", "water_bureau", PHONE, ID_NUMBER),
        ("enterprise_chief", "enterprise", MASKED_PHONE, MASKED_ID_NUMBER),
    ],
)
async def test_a_tasks_assignee_is_masked_the_same_way(
    tree: Tree, viewer: str, task: str, phone: str, id_number: str
) -> None:
    data = await run(tree, viewer, ASSIGNEE, id=tree.task_gid(task))

    assert data["task"]["assignee"] == {
        "name": f"person of {task}",
        "phone": phone,
        "idNumber": id_number,
    }


async def test_an_assignee_outside_every_scope_reads_as_null(tree: Tree) -> None:
    """A task in scope assigned to someone the viewer may not see at all."""
    task = tree.tasks["shilong"]
    task.assignee = tree.people["luobu"]
    await task.save(update_fields=["assignee_id"])

    seen_by_zhaxi = await run(tree, "zhaxi_head", ASSIGNEE, id=tree.task_gid("shilong"))
    seen_by_county = await run(tree, "county_admin", ASSIGNEE, id=tree.task_gid("shilong"))

    assert seen_by_zhaxi["task"] == {"title": "task of shilong", "assignee": None}
    assert seen_by_county["task"]["assignee"]["phone"] == PHONE


async def test_over_http_the_same_person_reads_in_full_or_masked(
    tree: Tree, client: GraphQLClient
) -> None:
    variables = {"id": person_gid(tree, "shilong")}
    head = await client.run(PERSON, variables, token=await client.login("zhaxi_head"))
    inspector = await client.run(PERSON, variables, token=await client.login("inspector"))

    assert head["data"]["node"]["phone"] == PHONE
    assert head["data"]["node"]["idNumber"] == ID_NUMBER
    assert inspector["data"]["node"]["phone"] == MASKED_PHONE
    assert inspector["data"]["node"]["idNumber"] == MASKED_ID_NUMBER
    assert PHONE not in json.dumps(inspector)
