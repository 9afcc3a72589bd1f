"""Every enum of the graph, registered with Strawberry once, each value described.

The Python enums are the domain's own (the models', the policy's, the workflow's); this module
only names them for the graph. The rule for their names (README, "Schema conventions"): an
enum value is spelt as the value travels. Where the contract fixes lower-case words (roles,
entity types, policy actions) the GraphQL value is that word (``county_admin``, ``org_unit``,
``verify``), so JSON answers and variables are what they were when these were strings. Where
the stored value is not a GraphQL name (``task.verify``), the enum value is its upper-case
form (``TASK_VERIFY``) beside the string the contract keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Literal, TypeAlias, TypeVar

import strawberry

from core.errors import ErrorCode as DomainErrorCode
from models import enums
from policies.engine import PolicyAction, Role
from resolvers.handover import EscalationMode
from resolvers.tasks import TaskOrder as DomainTaskOrder
from resolvers.workflow import TaskAction as DomainTaskAction

E = TypeVar("E", bound=type[Enum])


def described(
    cls: E,
    description: str,
    values: Mapping[str, str],
    *,
    name_from: Literal["key", "value"] = "key",
    deprecated: Mapping[str, str] | None = None,
) -> E:
    """Register ``cls`` as a GraphQL enum whose every value carries a description (keyed by
    the Python member's name); a member left undescribed is a mistake caught at import."""
    members = {member.name for member in cls}
    if members != set(values):
        raise ValueError(f"{cls.__name__}: describe exactly {sorted(members)}")
    strawberry.enum(cls, description=description, graphql_name_from=name_from)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        name = cls(value.value).name
        value.description = values[name]
        value.deprecation_reason = (deprecated or {}).get(name)
    return cls


described(
    enums.OrgLevel,
    "A unit's level in the hierarchy.",
    {
        "COUNTY": "A county (县), or a lake run like one (Yangzonghai): the top of a "
        "jurisdiction and of its audit log.",
        "TOWNSHIP": "A township (镇/乡) under a county.",
        "VILLAGE": "A village (村) and its party branch, under a township.",
        "GRID": "A grid (网格): a household-level responsibility zone under a village.",
        "DEPARTMENT": "A county department (e.g. the water bureau), a child of its county, "
        "paired with villages or river segments outside its subtree.",
        "ENTERPRISE": "An enterprise with an enterprise river chief, under a township or village.",
    },
)
described(
    enums.TaskStatus,
    "Where a task is in its workflow: DRAFT → ASSIGNED → IN_PROGRESS → SUBMITTED → VERIFIED, "
    "SUBMITTED → REJECTED → IN_PROGRESS, CANCELLED from any open status.",
    {
        "DRAFT": "Not handed down yet, or handed back by its unit (RETURN).",
        "ASSIGNED": "Handed to its unit, work not started: a new task starts here.",
        "IN_PROGRESS": "Being worked on by its unit.",
        "SUBMITTED": "Reported done; the issuing side verifies or rejects it.",
        "REJECTED": "Sent back by the issuing side; its unit starts it again.",
        "VERIFIED": "Signed off by the issuing side (销号). Closed.",
        "CANCELLED": "Withdrawn by the issuing side. Closed.",
    },
)
described(
    enums.TaskCategory,
    "The six major actions, patrols, clean-ups and the rest.",
    {
        "FISHING_BAN": "The fishing ban (禁渔), one of the six major actions.",
        "POLLUTION_TREATMENT": "Sewage and garbage treatment, one of the six major actions.",
        "AGRICULTURAL_NONPOINT": "Agricultural non-point pollution control, one of the six "
        "major actions.",
        "ECOLOGICAL_RESTORATION": "Ecological restoration (reforestation, erosion control, "
        "fry release), one of the six major actions.",
        "GREEN_INDUSTRY": "Green industry, one of the six major actions.",
        "BEAUTIFUL_VILLAGE": "Beautiful villages, one of the six major actions.",
        "PATROL": "River or lake patrols (巡河), e.g. at least 6 a year.",
        "CLEANUP": "Clean-ups, e.g. the Friday clean-up of the 1110 mechanism.",
        "KEY_PROJECT": "A key project held by a county leader (三挂三包).",
        "OTHER": "Anything else.",
    },
)
described(
    enums.RecordType,
    "What an accountability record attests.",
    {
        "PATROL": "A patrol of a river or lake: distance, findings, photos.",
        "CLEANUP": "A clean-up: participants and garbage cleared.",
        "PLEDGE": "A signed pledge or target letter (承诺书, 目标责任书).",
        "ASSESSMENT": "Scores against criteria (e.g. the six goods) for a unit below the "
        "assessor's.",
        "REWARD": "A reward for a unit below the granting role's unit.",
        "PENALTY": "A penalty for a unit below the granting role's unit.",
        "INSPECTION_FINDING": "An inspector's finding (督查).",
        "ESCALATION": "An overdue task pressed (督办); written only by `escalateTask`.",
    },
)
described(
    enums.WaterKind,
    "Basin, river, river segment or lake.",
    {
        "BASIN": "A river basin, e.g. the Chishui river's.",
        "RIVER": "A river, part of a basin.",
        "SEGMENT": "A stretch of a river: the unit of a river chief's responsibility.",
        "LAKE": "A lake, e.g. Yangzonghai.",
    },
)
described(
    enums.LinkKind,
    "What a pairing (`OrgLink`) joins a unit with.",
    {
        "CO_BUILDING": "支部联建: a department's branch paired with a unit outside its subtree.",
        "RIVER_PAIRING": "挂钩联系: a unit paired with a river or segment it looks after.",
        "RESPONSIBILITY": "An enterprise river chief's responsibility segment (widens nothing).",
        "BASIN": "流域大党委: a basin committee and its basin. The committee's grants cover, "
        "for every right of their roles, each unit the basin and its rivers and segments run "
        "through (with its subtree), in any county.",
        "KEY_PROJECT": "三挂三包: a key project at the unit, held by a county leader (`person`); "
        "widens nothing.",
    },
)
described(
    enums.Aggregation,
    "How an indicator's observations roll up over a subtree.",
    {
        "SUM": "Every observation added up (e.g. fish fry released).",
        "LATEST": "The most recent period's observations, averaged (e.g. forest cover).",
        "AVERAGE": "Every observation averaged.",
    },
)
described(
    enums.AuditEntity,
    "What kind of object an audit event is about. The values are the stored words.",
    {
        "TASK": "A task.",
        "RECORD": "An accountability record.",
        "USER": "An account: its grants, failed logins, deactivation.",
        "ORG_UNIT": "An org unit.",
        "ROLE_POLICY": "The role policy: permission lines added or removed.",
        "AUDIT": "The audit log itself (the event that closed the old single chain).",
        "OBSERVATION": "An indicator's observation, reported or fed by a clean-up record.",
        "EVIDENCE": "An uploaded evidence file (a photo or document).",
    },
    name_from="value",
)
described(
    enums.AuditAction,
    "What an audit event records: `action` (`task.verify`) as an enum value (`TASK_VERIFY`).",
    {
        member.name: f"`{member.value}`: {text}"
        for member, text in {
            enums.AuditAction.TASK_CREATE: "a task was issued.",
            enums.AuditAction.TASK_ASSIGN: "a task went to another unit or person.",
            enums.AuditAction.TASK_DECOMPOSE: "a task was split into subtasks.",
            enums.AuditAction.TASK_START: "its unit started the task.",
            enums.AuditAction.TASK_SUBMIT: "its unit reported the task done.",
            enums.AuditAction.TASK_VERIFY: "the issuing side signed the task off (销号).",
            enums.AuditAction.TASK_REJECT: "the issuing side sent the task back.",
            enums.AuditAction.TASK_CANCEL: "the issuing side withdrew the task.",
            enums.AuditAction.TASK_RETURN: "its unit handed the task back.",
            enums.AuditAction.TASK_URGE: "the issuing side pressed the unit, with a note.",
            enums.AuditAction.TASK_REPLY: "its unit answered an urge, with a note.",
            enums.AuditAction.TASK_ESCALATE: "an overdue task was pressed (督办).",
            enums.AuditAction.RECORD_CREATE: "an accountability record was filed.",
            enums.AuditAction.ROLE_GRANT: "a role was granted at a unit.",
            enums.AuditAction.ROLE_REVOKE: "a role was revoked.",
            enums.AuditAction.USER_LOGIN_FAILED: "a login failed.",
            enums.AuditAction.USER_LOGIN_THROTTLED: "a login was refused as throttled.",
            enums.AuditAction.USER_DEACTIVATE: "an account was deactivated.",
            enums.AuditAction.ORG_UNIT_CREATE: "a unit was created (an org import).",
            enums.AuditAction.POLICY_ADD: "permission lines were added to the role policy.",
            enums.AuditAction.POLICY_REMOVE: "permission lines were removed from the role policy.",
            enums.AuditAction.OBSERVATION_REPORT: "an indicator's value was reported at a unit.",
            enums.AuditAction.AUDIT_MIGRATE: "the old single chain was closed into the "
            "per-jurisdiction logs.",
            enums.AuditAction.EVIDENCE_UPLOAD: "an evidence file was uploaded.",
            enums.AuditAction.EVIDENCE_CITE: "a record cited an evidence file.",
            enums.AuditAction.NOTIFICATION_READ: "an account marked its notifications read.",
        }.items()
    },
)
described(
    Role,
    "A role a grant gives at a unit, covering its subtree (docs/permissions.md lists each "
    "role's rights). The values are the role names of the role policy.",
    {
        "COUNTY_ADMIN": "Runs a county (or Yangzonghai) and everything in it.",
        "TOWNSHIP_HEAD": "Runs a township: reads it, edits the villages, grids and "
        "enterprises below.",
        "VILLAGE_SECRETARY": "Runs a village branch and its grids.",
        "GRID_LEADER": "Works its grid's tasks; files patrols, clean-ups and pledges.",
        "DEPARTMENT_HEAD": "Heads a county department, widened by its pairings (支部联建, "
        "river pairing).",
        "INSPECTOR": "Reads everything in its scope (督查); writes only its own findings.",
        "ENTERPRISE_CHIEF": "An enterprise river chief (企业河长): its enterprise and "
        "responsibility segment; patrols, clean-ups and its target letter.",
        "BASIN_SECRETARY": "A basin committee's secretary (流域大党委): reads along its basin, "
        "every unit the basin's water bodies run through in any county, issues tasks there "
        "and follows and verifies them.",
    },
    name_from="value",
)
described(
    PolicyAction,
    "What a permission line allows on its resource. The values are the role policy's words.",
    {
        "READ": "Read the resource.",
        "CREATE": "Create it (issue a task, file a record).",
        "UPDATE": "Change it (cancel or urge a task, edit a unit).",
        "ASSIGN": "Reassign a task.",
        "TRANSITION": "Move a task on as its unit (start, submit, return, reply).",
        "VERIFY": "Verify or reject a submitted task, as the issuing side.",
        "GRANT": "Grant and revoke roles.",
    },
    name_from="value",
)
described(
    DomainTaskAction,
    "A step of the task workflow: START, SUBMIT, RETURN and REPLY by the task's unit; VERIFY, "
    "REJECT, CANCEL and URGE by the issuing side.",
    {
        "START": "ASSIGNED or REJECTED → IN_PROGRESS (the task's unit).",
        "SUBMIT": "IN_PROGRESS → SUBMITTED (the task's unit).",
        "VERIFY": "SUBMITTED → VERIFIED (the issuing side; never who submitted it). A REPORTED "
        "task is verified by its own unit from any open status past DRAFT, with `feedback`.",
        "REJECT": "SUBMITTED → REJECTED (the issuing side).",
        "CANCEL": "Any open status → CANCELLED (the issuing side).",
        "RETURN": "ASSIGNED → DRAFT: the unit hands the task back within 24 hours of receiving it.",
        "URGE": "Press the unit about an open task; needs a note; the status stays.",
        "REPLY": "Answer an urge; needs a note; the status stays.",
    },
)
described(
    enums.TaskOrigin,
    "Where a task came from.",
    {
        "ISSUED": "Handed down by the unit that issued it (the ordinary way).",
        "REPORTED": "Reported up from the unit below (`reportIssue`, or a hand-over asked "
        "with `escalateTask`): held and issued by the receiving unit, closed with feedback "
        "that its reporter reads.",
        "COMPLAINT": "Raised by a complaint of the public at the unit responsible for the place.",
    },
)
described(
    EscalationMode,
    "What `escalateTask` asks for.",
    {
        "PRESS": "The issuing side presses an overdue task (督办): an ESCALATION record.",
        "HAND_OVER": "The holding side asks the level above to take the task over: a REPORTED "
        "task for the unit above the task's unit, linked to it (`handOverOf`), with an "
        "ESCALATION record.",
    },
)
described(
    DomainTaskOrder,
    "How a task list is sorted.",
    {
        "NEWEST": "Newest first (the default).",
        "OLDEST": "Oldest first.",
        "DUE_SOONEST": "Soonest due first; tasks without a due date last.",
        "RECENTLY_CHANGED": "Most recently changed first.",
    },
)
described(
    DomainErrorCode,
    "What kind of problem a `UserError` reports.",
    {
        "NOT_FOUND": "No such object, or one outside your scope: the two read alike.",
        "INVALID_TRANSITION": "The workflow does not allow it from the object's state.",
        "CONFLICT": "The object changed since you read it (`expectedVersion`), or already exists.",
        "VALIDATION": "An input is malformed or out of range.",
        "FORBIDDEN": "Never in a payload: an operation you may not perform is refused with a "
        "top-level error whose `extensions.code` is FORBIDDEN (README, Errors).",
        "INVALID_CREDENTIALS": "`login`: wrong username or password.",
        "TOO_MANY_ATTEMPTS": "`login`: too many failures; the message says how long to wait.",
        "TOO_LARGE": "`uploadEvidence`: the file is larger than the service keeps "
        "(`RIVERCHIEF_EVIDENCE_MAX_BYTES`); nothing was stored.",
        "UNSUPPORTED_MEDIA_TYPE": "`uploadEvidence`: the file's bytes are not a JPEG, PNG, "
        "WebP or PDF, whatever its name or declared type says; nothing was stored.",
    },
    deprecated={
        "FORBIDDEN": "Refusals are top-level errors with `extensions.code` FORBIDDEN.",
    },
)

OrgLevel: TypeAlias = enums.OrgLevel
TaskStatus: TypeAlias = enums.TaskStatus
TaskCategory: TypeAlias = enums.TaskCategory
TaskOrigin: TypeAlias = enums.TaskOrigin
RecordType: TypeAlias = enums.RecordType
WaterKind: TypeAlias = enums.WaterKind
LinkKind: TypeAlias = enums.LinkKind
Aggregation: TypeAlias = enums.Aggregation
AuditEntity: TypeAlias = enums.AuditEntity
AuditAction: TypeAlias = enums.AuditAction
TaskAction: TypeAlias = DomainTaskAction
TaskOrder: TypeAlias = DomainTaskOrder
ErrorCode: TypeAlias = DomainErrorCode

__all__ = [
    "Aggregation",
    "AuditAction",
    "AuditEntity",
    "ErrorCode",
    "EscalationMode",
    "LinkKind",
    "OrgLevel",
    "PolicyAction",
    "RecordType",
    "Role",
    "TaskAction",
    "TaskCategory",
    "TaskOrder",
    "TaskOrigin",
    "TaskStatus",
    "WaterKind",
    "described",
]
