"""The audit trail in the graph's own terms: actors as accounts, changes field by field with
global IDs, accounts linked to their people, record details in camelCase.

The scenario: the county creates a task at luobu for one of luobu's people, then moves it
down to shilong. The inspector (at the county) reads every unit, person and account of it;
shilong's secretary reads the move but neither luobu, its person nor the county's account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core.instrumentation import counting_statements
from models.audit import AuditEvent, AuditNode
from models.enums import AuditAction, AuditEntity, RecordType, TaskStatus
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.audit import append_event
from resolvers.audit_view import OUTSIDE_SCOPE
from schema.build import schema
from schema.node import pk_of, to_global_id
from tests.fixtures import Tree
from tests.graph import CREATE_TASK, data, payload, run

ASSIGN = """
mutation Assign($input: AssignTaskInput!) {
  assignTask(input: $input) { task { id } errors { field code } }
}
"""

DECOMPOSE = """
mutation Decompose($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id } errors { field code } }
}
"""

GRANT = """
mutation Grant($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role } errors { field code } }
}
"""

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""

EVENTS = """
query Events($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 50) {
    edges { node {
      action before after
      actor { id username person { name } }
      changes { field before after }
    } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    ... on OrgUnit { name }
    ... on Person { name }
    ... on User { username person { name phone idNumber } }
  }
}
"""

ME = "{ me { username person { name phone } } }"

HISTORY = """
query History($id: ID!) {
  task(id: $id) { history { action changes { field before after } } }
}
"""

RECORD_DETAILS = "query Details($id: ID!) { node(id: $id) { ... on Record { details } } }"


def person_gid(tree: Tree, name: str) -> str:
    return to_global_id("Person", tree.people[name].id)


async def luobu_task_moved_to_shilong(tree: Tree) -> str:
    created = await payload(
        tree,
        "county_admin",
        CREATE_TASK,
        title="Clear the weirs",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("luobu"),
        assigneeId=person_gid(tree, "luobu"),
        dueAt="2030-06-01T08:00:00+00:00",
    )
    assert created["errors"] == [], created
    task_id: str = created["task"]["id"]
    moved = await payload(
        tree, "county_admin", ASSIGN, taskId=task_id, orgUnitId=tree.unit_gid("shilong")
    )
    assert moved["errors"] == [], moved
    return task_id


async def events_of(tree: Tree, username: str, entity_id: str) -> dict[str, Any]:
    found = await data(tree, username, EVENTS, filter={"entityId": entity_id})
    return {e["node"]["action"]: e["node"] for e in found["auditEvents"]["edges"]}


# -- the inspector's reading ---------------------------------------------------------------


async def test_the_inspector_reads_an_assignment_as_named_fields_and_global_ids(
    tree: Tree,
) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)

    assigned = (await events_of(tree, "inspector", task_id))["task.assign"]

    assert assigned["actor"] == {
        "id": tree.user_gid("county_admin"),
        "username": "county_admin",
        "person": {"name": "person of weixin"},
    }
    assert assigned["changes"] == [
        {"field": "assignee", "before": person_gid(tree, "luobu"), "after": None},
        {"field": "orgUnit", "before": tree.unit_gid("luobu"), "after": tree.unit_gid("shilong")},
        {"field": "version", "before": "1", "after": "2"},
    ]
    # before/after stay as stored, for the clients that read them
    assert assigned["before"]["org_unit_id"] == tree.units["luobu"].id
    assert assigned["after"]["org_unit_id"] == tree.units["shilong"].id


async def test_the_ids_a_change_names_resolve_through_node(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)
    assigned = (await events_of(tree, "inspector", task_id))["task.assign"]
    named = {c["field"]: c for c in assigned["changes"]}

    unit_before = await data(tree, "inspector", NODE, id=named["orgUnit"]["before"])
    unit_after = await data(tree, "inspector", NODE, id=named["orgUnit"]["after"])
    assignee = await data(tree, "inspector", NODE, id=named["assignee"]["before"])
    actor = await data(tree, "inspector", NODE, id=assigned["actor"]["id"])

    assert unit_before["node"] == {"__typename": "OrgUnit", "name": "luobu"}
    assert unit_after["node"] == {"__typename": "OrgUnit", "name": "shilong"}
    assert assignee["node"] == {"__typename": "Person", "name": "person of luobu"}
    # the inspector reads people but not their personal data: masked as on any person
    assert actor["node"] == {
        "__typename": "User",
        "username": "county_admin",
        "person": {
            "name": "person of weixin",
            "phone": "138****5678",
            "idNumber": "**************1234",
        },
    }


async def test_a_creation_lists_every_field_it_set(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)

    created = (await events_of(tree, "county_admin", task_id))["task.create"]

    assert created["changes"] == [
        {"field": "assignee", "before": None, "after": person_gid(tree, "luobu")},
        {"field": "dueAt", "before": None, "after": "2030-06-01T08:00:00+00:00"},
        {"field": "issuer", "before": None, "after": tree.unit_gid("weixin")},
        {"field": "orgUnit", "before": None, "after": tree.unit_gid("luobu")},
        {"field": "parent", "before": None, "after": None},
        {"field": "status", "before": None, "after": "ASSIGNED"},
        {"field": "title", "before": None, "after": "Clear the weirs"},
        {"field": "version", "before": None, "after": "1"},
    ]


# -- what a viewer may not read ------------------------------------------------------------


async def test_a_viewer_who_cannot_read_the_actors_account_gets_no_actor(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)

    assigned = (await events_of(tree, "village_sec", task_id))["task.assign"]

    assert assigned["actor"] is None
    assert "county_admin" not in str(assigned)


async def test_changes_redact_what_before_and_after_redact(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)

    assigned = (await events_of(tree, "village_sec", task_id))["task.assign"]

    assert assigned["before"]["org_unit_id"] == OUTSIDE_SCOPE
    assert assigned["before"]["assignee_id"] == OUTSIDE_SCOPE
    assert assigned["changes"] == [
        {"field": "assignee", "before": OUTSIDE_SCOPE, "after": None},
        {"field": "orgUnit", "before": OUTSIDE_SCOPE, "after": tree.unit_gid("shilong")},
        {"field": "version", "before": "1", "after": "2"},
    ]


async def test_a_list_of_subtasks_names_only_the_readable_ones(tree: Tree) -> None:
    split = await payload(
        tree,
        "zhaxi_head",
        DECOMPOSE,
        taskId=tree.task_gid("zhaxi"),
        parts=[{"orgUnitId": tree.unit_gid("shilong")}, {"orgUnitId": tree.unit_gid("dahetan")}],
    )
    assert split["errors"] == [], split
    shilong_part, dahetan_part = (t["id"] for t in split["subtasks"])
    await Task.filter(id=pk_of(dahetan_part, "Task")).update(status=TaskStatus.VERIFIED)
    moved = await payload(
        tree,
        "county_admin",
        ASSIGN,
        taskId=tree.task_gid("zhaxi"),
        orgUnitId=tree.unit_gid("shilong"),
    )
    assert moved["errors"] == [], moved

    by_township = await data(tree, "zhaxi_head", HISTORY, id=tree.task_gid("zhaxi"))
    by_village = await data(tree, "village_sec", HISTORY, id=tree.task_gid("zhaxi"))

    def decomposed(found: Any) -> Any:
        history = found["task"]["history"]
        return next(e["changes"] for e in history if e["action"] == "task.decompose")

    assert decomposed(by_township) == [
        {"field": "subtasks", "before": None, "after": f'["{shilong_part}", "{dahetan_part}"]'},
        {"field": "version", "before": "1", "after": "2"},
    ]
    assert decomposed(by_village) == [
        {"field": "subtasks", "before": None, "after": f'["{shilong_part}"]'},
        {"field": "version", "before": "1", "after": "2"},
    ]


async def test_a_records_authority_out_of_reach_is_redacted_in_before_after_and_changes(
    tree: Tree,
) -> None:
    filed = await payload(
        tree,
        "dept_head",
        CREATE_RECORD,
        type="PATROL",
        orgUnitId=tree.unit_gid("luobu_village"),
        occurredAt="2030-04-05T08:00:00+00:00",
        endedAt="2030-04-05T10:00:00+00:00",
        patrol={"distanceKm": 6},
    )
    assert filed["errors"] == [], filed
    record_id = filed["record"]["id"]

    by_county = (await events_of(tree, "county_admin", record_id))["record.create"]
    by_township = (await events_of(tree, "luobu_head", record_id))["record.create"]

    by_county_fields = {c["field"]: c["after"] for c in by_county["changes"]}
    by_township_fields = {c["field"]: c["after"] for c in by_township["changes"]}
    assert by_county_fields["authority"] == tree.unit_gid("water_bureau")
    assert by_county_fields["orgUnit"] == tree.unit_gid("luobu_village")
    assert by_county_fields["type"] == "PATROL"
    assert by_township["after"]["authority"] == OUTSIDE_SCOPE
    assert by_township_fields["authority"] == OUTSIDE_SCOPE
    assert by_township_fields["orgUnit"] == tree.unit_gid("luobu_village")
    assert by_township["actor"] is None  # the department's account is not luobu's to read


async def test_a_grant_names_the_account_and_the_unit(tree: Tree) -> None:
    granted = await payload(
        tree,
        "zhaxi_head",
        GRANT,
        userId=tree.user_gid("grid_leader"),
        role="grid_leader",
        orgUnitId=tree.unit_gid("grid_b"),
    )
    assert granted["errors"] == [], granted

    found = await events_of(tree, "zhaxi_head", tree.user_gid("grid_leader"))

    assert found["role.grant"]["changes"] == [
        {"field": "orgUnit", "before": None, "after": tree.unit_gid("grid_b")},
        {"field": "role", "before": None, "after": "grid_leader"},
        {"field": "user", "before": None, "after": tree.user_gid("grid_leader")},
    ]


# -- accounts through node, and their people -----------------------------------------------


async def test_the_county_admin_reads_a_township_heads_account_through_node(tree: Tree) -> None:
    found = await data(tree, "county_admin", NODE, id=tree.user_gid("zhaxi_head"))

    assert found["node"] == {
        "__typename": "User",
        "username": "zhaxi_head",
        "person": {
            "name": "person of zhaxi",
            "phone": "13812345678",
            "idNumber": "530627198001011234",
        },
    }


async def test_a_township_head_reads_the_county_admins_account_as_a_missing_one(
    tree: Tree,
) -> None:
    hidden = await run(tree, "zhaxi_head", NODE, id=tree.user_gid("county_admin"))
    missing = await run(tree, "zhaxi_head", NODE, id=to_global_id("User", 99_999))

    assert hidden.errors is None and hidden.data == {"node": None}
    assert missing.errors is None and missing.data == {"node": None}


async def test_me_names_my_person(tree: Tree) -> None:
    found = await data(tree, "zhaxi_head", ME)

    assert found["me"] == {
        "username": "zhaxi_head",
        "person": {"name": "person of zhaxi", "phone": "13812345678"},
    }


# -- record details ------------------------------------------------------------------------


async def stored_record(tree: Tree, type_: RecordType, details: dict[str, Any]) -> str:
    """A record as the demo and the bench write them, straight into the table."""
    record = await AccountabilityRecord.create(
        type=type_,
        org_unit=tree.units["shilong"],
        occurred_at=datetime(2030, 4, 5, 8, tzinfo=UTC),
        details=details,
    )
    return to_global_id("Record", record.id)


async def details_of(tree: Tree, record_id: str) -> Any:
    return (await data(tree, "county_admin", RECORD_DETAILS, id=record_id))["node"]["details"]


async def test_stored_details_of_every_type_read_back_in_camel_case(tree: Tree) -> None:
    patrol = await stored_record(
        tree,
        RecordType.PATROL,
        {"segment": "s", "duration_min": 90, "distance_km": 5.5, "findings": [], "photos": []},
    )
    cleanup = await stored_record(
        tree,
        RecordType.CLEANUP,
        {"participants": 12, "party_members": 5, "villagers": 7, "garbage_kg": 80},
    )
    evidence_pk = int((await AccountabilityRecord.get(type=RecordType.PATROL)).id)
    assessment = await stored_record(
        tree,
        RecordType.ASSESSMENT,
        {
            "scheme": "six_goods",
            "criteria": [{"name": "river", "max": 20, "awarded": 18, "evidence": [evidence_pk]}],
            "total": 18,
            "max_total": 20,
        },
    )
    reward = await stored_record(tree, RecordType.REWARD, {"award": "a", "amount": 500})
    finding = await stored_record(
        tree,
        RecordType.INSPECTION_FINDING,
        {"severity": "high", "rectify_within_days": 15, "evidence": ["photo of the outfall"]},
    )
    escalation = await stored_record(
        tree,
        RecordType.ESCALATION,
        {
            "due_at": "2030-04-01T00:00:00+00:00",
            "days_overdue": 4,
            "status": "ASSIGNED",
            "issuer_unit_id": tree.units["zhaxi"].id,
        },
    )

    assert await details_of(tree, patrol) == {
        "segment": "s",
        "durationMin": 90,
        "distanceKm": 5.5,
        "findings": [],
        "photos": [],
    }
    assert await details_of(tree, cleanup) == {
        "participants": 12,
        "partyMembers": 5,
        "villagers": 7,
        "garbageKg": 80,
    }
    assert await details_of(tree, assessment) == {
        "scheme": "six_goods",
        "criteria": [
            {
                "name": "river",
                "maxScore": 20,
                "awarded": 18,
                "evidenceIds": [to_global_id("Record", evidence_pk)],
            }
        ],
        "total": 18,
        "maxTotal": 20,
    }
    assert await details_of(tree, reward) == {"award": "a", "amount": 500}
    assert await details_of(tree, finding) == {
        "severity": "high",
        "rectifyWithinDays": 15,
        "evidence": ["photo of the outfall"],
    }
    assert await details_of(tree, escalation) == {
        "dueAt": "2030-04-01T00:00:00+00:00",
        "daysOverdue": 4,
        "status": "ASSIGNED",
        "issuerUnitId": tree.unit_gid("zhaxi"),
    }


# -- cost ----------------------------------------------------------------------------------

ACTORS = "{ auditEvents(first: 50) { edges { node { actor { username } changes { field } } } } }"


async def test_a_page_of_actors_costs_the_same_statements_for_2_and_7_accounts(
    tree: Tree,
) -> None:
    async def statements(usernames: list[str]) -> tuple[int, set[str | None]]:
        async with in_transaction() as conn:
            await AuditEvent.all().using_db(conn).delete()
            await AuditNode.all().using_db(conn).delete()  # the log starts again, empty
            for username in usernames:
                await append_event(
                    conn,
                    None,
                    action=AuditAction.TASK_URGE,
                    entity_type=AuditEntity.TASK,
                    entity_id=tree.tasks["shilong"].id,
                    org_path=tree.units["shilong"].path,
                    after={"org_unit_id": tree.units["shilong"].id},
                    actor_id=tree.users[username].id,
                )
        with counting_statements() as counter:
            result = await schema.execute(ACTORS, context_value=tree.context_for("village_sec"))
        assert result.errors is None, result.errors
        edges = (result.data or {})["auditEvents"]["edges"]
        return counter.value, {(e["node"]["actor"] or {}).get("username") for e in edges}

    above = ["county_admin", "zhaxi_head", "luobu_head", "inspector", "dept_head"]
    few, few_seen = await statements(["county_admin", "village_sec"])
    many, many_seen = await statements([*above, "grid_leader", "village_sec"])

    assert few_seen == {None, "village_sec"}
    assert many_seen == {None, "village_sec", "grid_leader"}
    assert few == many, f"{few} statements for 2 actors, {many} for 7"
