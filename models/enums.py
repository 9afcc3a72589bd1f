"""Enumerations shared by the models and exposed unchanged through the graph."""

from enum import StrEnum


class OrgLevel(StrEnum):
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"
    GRID = "GRID"
    DEPARTMENT = "DEPARTMENT"
    ENTERPRISE = "ENTERPRISE"


class LinkKind(StrEnum):
    CO_BUILDING = "CO_BUILDING"  # 支部联建: a department paired with a village branch
    RIVER_PAIRING = "RIVER_PAIRING"  # 挂钩联系: a unit paired with a river or segment
    RESPONSIBILITY = "RESPONSIBILITY"  # an enterprise river chief's responsibility area
    BASIN = "BASIN"  # 流域大党委: a basin committee directing everything along its basin
    KEY_PROJECT = "KEY_PROJECT"  # 三挂三包: a county leader holding a key project at the unit


# The link kinds that widen a unit's scope for reading and field work (``policies.engine``);
# a BASIN link widens its committee's for every right, the others widen nothing.
PAIRING_KINDS = (LinkKind.CO_BUILDING, LinkKind.RIVER_PAIRING)


class WaterKind(StrEnum):
    BASIN = "BASIN"
    RIVER = "RIVER"
    SEGMENT = "SEGMENT"
    LAKE = "LAKE"


class TaskStatus(StrEnum):
    DRAFT = "DRAFT"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    SUBMITTED = "SUBMITTED"
    REJECTED = "REJECTED"
    VERIFIED = "VERIFIED"
    CANCELLED = "CANCELLED"


# A closed task (verified: 销号, or cancelled) changes no more; every other status is open.
CLOSED_STATUSES = frozenset({TaskStatus.VERIFIED, TaskStatus.CANCELLED})
OPEN_STATUSES = frozenset(TaskStatus) - CLOSED_STATUSES


class TaskOrigin(StrEnum):
    """Where a task came from: handed down, reported up (上报), or a complaint of the public."""

    ISSUED = "ISSUED"
    REPORTED = "REPORTED"
    COMPLAINT = "COMPLAINT"


class TaskCategory(StrEnum):
    FISHING_BAN = "FISHING_BAN"
    POLLUTION_TREATMENT = "POLLUTION_TREATMENT"
    AGRICULTURAL_NONPOINT = "AGRICULTURAL_NONPOINT"
    ECOLOGICAL_RESTORATION = "ECOLOGICAL_RESTORATION"
    GREEN_INDUSTRY = "GREEN_INDUSTRY"
    BEAUTIFUL_VILLAGE = "BEAUTIFUL_VILLAGE"
    PATROL = "PATROL"
    CLEANUP = "CLEANUP"
    KEY_PROJECT = "KEY_PROJECT"
    OTHER = "OTHER"


class RecordType(StrEnum):
    PATROL = "PATROL"
    CLEANUP = "CLEANUP"
    PLEDGE = "PLEDGE"
    ASSESSMENT = "ASSESSMENT"
    REWARD = "REWARD"
    PENALTY = "PENALTY"
    INSPECTION_FINDING = "INSPECTION_FINDING"
    ESCALATION = "ESCALATION"


class Aggregation(StrEnum):
    SUM = "SUM"
    LATEST = "LATEST"
    AVERAGE = "AVERAGE"


class AuditAction(StrEnum):
    """Every action an audit event records, as stored: ``<entity>.<verb>`` in lower case.

    The member's name is the value with its dot as an underscore, upper case
    (``task.verify`` is ``TASK_VERIFY``): the graph's ``AuditAction`` enum."""

    TASK_CREATE = "task.create"
    TASK_ASSIGN = "task.assign"
    TASK_DECOMPOSE = "task.decompose"
    TASK_START = "task.start"
    TASK_SUBMIT = "task.submit"
    TASK_VERIFY = "task.verify"
    TASK_REJECT = "task.reject"
    TASK_CANCEL = "task.cancel"
    TASK_RETURN = "task.return"
    TASK_URGE = "task.urge"
    TASK_REPLY = "task.reply"
    TASK_ESCALATE = "task.escalate"
    RECORD_CREATE = "record.create"
    ROLE_GRANT = "role.grant"
    ROLE_REVOKE = "role.revoke"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_LOGIN_THROTTLED = "user.login_throttled"
    USER_DEACTIVATE = "user.deactivate"
    ORG_UNIT_CREATE = "org_unit.create"
    POLICY_ADD = "policy.add"
    POLICY_REMOVE = "policy.remove"
    OBSERVATION_REPORT = "observation.report"
    AUDIT_MIGRATE = "audit.migrate"
    EVIDENCE_UPLOAD = "evidence.upload"
    EVIDENCE_CITE = "evidence.cite"
    NOTIFICATION_READ = "notification.read"


class AuditEntity(StrEnum):
    """What kind of object an audit event is about, as stored (lower case)."""

    TASK = "task"
    RECORD = "record"
    USER = "user"
    ORG_UNIT = "org_unit"
    ROLE_POLICY = "role_policy"
    OBSERVATION = "observation"
    AUDIT = "audit"
    EVIDENCE = "evidence"
