"""Enums of the graph: the model enums themselves, registered with Strawberry once."""

from typing import TypeAlias

import strawberry

from models import enums

strawberry.enum(enums.OrgLevel, description="A unit's level in the hierarchy.")
strawberry.enum(enums.TaskStatus, description="Where a task is in its workflow.")
strawberry.enum(
    enums.TaskCategory, description="The six major actions, patrols, clean-ups and the rest."
)

OrgLevel: TypeAlias = enums.OrgLevel
TaskStatus: TypeAlias = enums.TaskStatus
TaskCategory: TypeAlias = enums.TaskCategory
