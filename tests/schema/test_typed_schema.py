"""The typed schema (README, "Schema conventions"): enums where strings stood, spelt as the
values travel, so answers and JSON variables are unchanged; typed companions beside the
contract's strings; list filters that take one value or several."""

from __future__ import annotations

from datetime import date

from graphql import GraphQLEnumType

from models.enums import AuditAction, TaskCategory, TaskStatus
from models.indicator import Indicator, Observation
from models.task import Task
from policies.engine import ACTIONS, ROLES
from schema.build import schema
from tests.fixtures import Tree, recount_counters
from tests.graph import codes, data, payload, run, transition

GRANT = """
mutation($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role orgUnit { name } } errors { code field } }
}
"""
ME = "{ me { roles { role } } }"
EVENTS = """
query($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 100) {
    totalCount edges { node { action kind entityType } }
  }
}
"""
BY_CATEGORY = """
query($category: [TaskCategory!]) { tasks(filter: { category: $category }) { totalCount } }
"""
INLINE_ONE_CATEGORY = "{ tasks(filter: { category: CLEANUP }) { totalCount } }"
ROLLUP = """
query($unit: ID!) {
  indicatorRollup(orgUnitId: $unit, metric: "garbage_cleared_t") {
    metric aggregation total indicator { code aggregation unit }
  }
}
"""


def enum_values(name: str) -> set[str]:
    kind = schema._schema.get_type(name)
    assert isinstance(kind, GraphQLEnumType)
    return set(kind.values)


def test_lower_case_words_keep_their_spelling_as_enum_values() -> None:
    assert enum_values("Role") == set(ROLES)
    assert enum_values("PolicyAction") == set(ACTIONS)
    assert {"task", "record", "user", "org_unit"} <= enum_values("AuditEntity")


def test_each_audit_action_is_its_stored_name_in_upper_case() -> None:
    """``task.verify`` is TASK_VERIFY: the rule the compiled path's SQL relies on too."""
    assert enum_values("AuditAction") == {a.name for a in AuditAction}
    for action in AuditAction:
        assert action.name == action.value.replace(".", "_").upper()


async def test_a_role_travels_as_the_word_it_was(tree: Tree) -> None:
    """A client sending the role as a JSON string, as before, gets the grant, and reads it
    back as the same string."""
    granted = await payload(
        tree,
        "zhaxi_head",
        GRANT,
        userId=tree.user_gid("village_sec"),
        role="grid_leader",
        orgUnitId=tree.unit_gid("grid_a"),
    )
    me = await data(tree, "village_sec", ME)

    assert granted == {
        "grant": {"role": "grid_leader", "orgUnit": {"name": "grid_a"}},
        "errors": [],
    }
    assert {"role": "grid_leader"} in me["me"]["roles"]


async def test_a_role_outside_the_enum_is_refused_before_anything_runs(tree: Tree) -> None:
    result = await run(
        tree,
        "zhaxi_head",
        GRANT,
        input={
            "userId": tree.user_gid("village_sec"),
            "role": "emperor",
            "orgUnitId": tree.unit_gid("grid_a"),
        },
    )

    assert result.data is None
    assert result.errors is not None and "emperor" in result.errors[0].message


async def test_audit_events_carry_their_action_as_an_enum_beside_the_string(tree: Tree) -> None:
    await transition(tree, "grid_leader", tree.task_gid("grid_a"), "START")

    by_string = await data(tree, "county_admin", EVENTS, filter={"action": "task.start"})
    by_kind = await data(tree, "county_admin", EVENTS, filter={"kind": "TASK_START"})
    both = await data(
        tree, "county_admin", EVENTS, filter={"action": "task.start", "kind": "TASK_START"}
    )

    expected = {
        "totalCount": 1,
        "edges": [{"node": {"action": "task.start", "kind": "TASK_START", "entityType": "task"}}],
    }
    assert by_string["auditEvents"] == by_kind["auditEvents"] == both["auditEvents"] == expected


async def test_an_action_and_a_kind_that_disagree_are_refused(tree: Tree) -> None:
    result = await run(
        tree, "county_admin", EVENTS, filter={"action": "task.start", "kind": "TASK_VERIFY"}
    )

    assert codes(result) == ["VALIDATION"]
    assert result.data is None


async def test_one_category_is_read_as_a_list_of_one(tree: Tree) -> None:
    """`category` became a list like `status`: a client sending one value still works, as a
    JSON variable or written in the document."""
    await Task.filter(id=tree.tasks["shilong"].id).update(category=TaskCategory.CLEANUP)

    single = await data(tree, "county_admin", BY_CATEGORY, category="CLEANUP")
    listed = await data(tree, "county_admin", BY_CATEGORY, category=["CLEANUP"])
    inline = await data(tree, "county_admin", INLINE_ONE_CATEGORY)
    two = await data(tree, "county_admin", BY_CATEGORY, category=["CLEANUP", "PATROL"])
    everything = await data(tree, "county_admin", "{ tasks { totalCount } }")

    assert single == listed == inline == {"tasks": {"totalCount": 1}}
    assert two == everything


async def test_a_category_list_longer_than_the_categories_is_refused(tree: Tree) -> None:
    result = await run(tree, "county_admin", BY_CATEGORY, category=["OTHER"] * 11)

    assert codes(result) == ["VALIDATION"]


async def test_a_rollup_names_its_indicator_and_aggregation_as_enum_values(tree: Tree) -> None:
    indicator = await Indicator.create(code="garbage_cleared_t", name="清理垃圾", unit="t")
    await Observation.create(
        indicator=indicator, org_unit=tree.units["shilong"], period=date(2024, 5, 1), value=3
    )
    await recount_counters()

    found = await data(tree, "county_admin", ROLLUP, unit=tree.unit_gid("weixin"))

    assert found["indicatorRollup"]["metric"] == "garbage_cleared_t"
    assert found["indicatorRollup"]["aggregation"] == "SUM"
    assert found["indicatorRollup"]["indicator"] == {
        "code": "garbage_cleared_t",
        "aggregation": "SUM",
        "unit": "t",
    }


async def test_explain_access_takes_the_policy_words(tree: Tree) -> None:
    query = """
    query($u: ID!, $o: ID!, $r: String!, $a: PolicyAction!) {
      explainAccess(userId: $u, resource: $r, action: $a, orgUnitId: $o) { allowed rule }
    }
    """
    about = {"u": tree.user_gid("zhaxi_head"), "o": tree.unit_gid("shilong")}

    allowed = await data(tree, "county_admin", query, **about, r="task", a="verify")
    unknown = await run(tree, "county_admin", query, **about, r="tasks", a="verify")
    not_an_action = await run(tree, "county_admin", query, **about, r="task", a="approve")

    assert allowed["explainAccess"]["allowed"] is True
    assert codes(unknown) == ["VALIDATION"]
    assert not_an_action.data is None and not_an_action.errors


async def test_access_holders_refuses_a_right_the_policy_does_not_know(tree: Tree) -> None:
    query = "query($id: ID!, $a: String!) { accessHolders(objectId: $id, action: $a) { role } }"

    known = await data(tree, "county_admin", query, id=tree.task_gid("shilong"), a="task:verify")
    unknown = await run(tree, "county_admin", query, id=tree.task_gid("shilong"), a="task:fly")

    assert {"role": "county_admin"} in known["accessHolders"]
    assert codes(unknown) == ["VALIDATION"]


def test_forbidden_is_kept_in_error_code_but_deprecated() -> None:
    kind = schema._schema.get_type("ErrorCode")
    assert isinstance(kind, GraphQLEnumType)

    assert kind.values["FORBIDDEN"].deprecation_reason
    assert all(
        value.deprecation_reason is None
        for name, value in kind.values.items()
        if name != "FORBIDDEN"
    )
    assert TaskStatus.VERIFIED.value == "VERIFIED"  # the model enums' values are unchanged
