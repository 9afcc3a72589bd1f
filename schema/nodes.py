"""The GraphQL type for each object ``resolvers.nodes`` loads by global ID."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.context import RequestContext
from models.audit import AuditEvent as AuditEventModel
from models.evidence import Evidence as EvidenceModel
from models.indicator import Indicator as IndicatorModel
from models.notification import Notification as NotificationModel
from models.org import OrgUnit as OrgUnitModel
from models.org import WaterBody as WaterBodyModel
from models.people import Person as PersonModel
from models.people import User as UserModel
from models.record import AccountabilityRecord
from models.task import Task as TaskModel
from schema.audit import AuditEvent
from schema.evidence import Evidence
from schema.node import Node
from schema.notification import Notification
from schema.org import OrgUnit
from schema.people import Person, User
from schema.record import Record
from schema.task import Task
from schema.water import Indicator, WaterBody

SHAPES: dict[type, Callable[[Any], Node]] = {
    OrgUnitModel: OrgUnit.of,
    TaskModel: Task.of,
    WaterBodyModel: WaterBody.of,
    IndicatorModel: Indicator.of,
    AccountabilityRecord: Record.of,
    PersonModel: Person.of,
    UserModel: User.of,
    EvidenceModel: Evidence.of,
    NotificationModel: Notification.of,
}


async def as_node(context: RequestContext, found: object | None) -> Node | None:
    if isinstance(found, AuditEventModel):  # shown as the viewer may see it
        (event,) = await AuditEvent.shown(context, [found])
        return event
    shape = SHAPES.get(type(found))
    return shape(found) if shape is not None else None
