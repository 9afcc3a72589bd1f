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
