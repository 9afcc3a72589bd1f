"""Enums of the graph, the same values the models store."""

import strawberry

from models import enums

OrgLevel = strawberry.enum(enums.OrgLevel, description="A unit's level in the hierarchy.")
TaskStatus = strawberry.enum(enums.TaskStatus, description="Where a task is in its workflow.")
TaskCategory = strawberry.enum(
    enums.TaskCategory, description="The six major actions, patrols, clean-ups and the rest."
)
