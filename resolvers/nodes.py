"""Objects by global ID: one loader per type, each reading through that type's own check.

``Query.node`` looks the type up here; a type missing from ``NODES``, or an object the
viewer may not read, is ``None`` — never a different answer for "exists but hidden".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.context import RequestContext
from models.indicator import Indicator
from policies.guard import holds_anywhere
from policies.rights import INDICATOR_READ
from resolvers.audit_queries import get_event
from resolvers.evidence import get_evidence
from resolvers.inbox import get_notification
from resolvers.loaders import loaders
from resolvers.org import get_unit
from resolvers.people import visible_person
from resolvers.records import get_record
from resolvers.tasks import get_task
from resolvers.users import user_in_scope
from resolvers.water import get_water_body

NodeLoader = Callable[[RequestContext, int], Awaitable[object | None]]


async def _indicator(context: RequestContext, pk: int) -> object | None:
    """The metric catalogue is shared: whoever reads indicators anywhere reads it."""
    if not holds_anywhere(context, INDICATOR_READ):
        return None
    return await Indicator.get_or_none(id=pk)


async def _person(context: RequestContext, pk: int) -> object | None:
    return await visible_person(context, await loaders(context).person.load(pk))


NODES: dict[str, NodeLoader] = {
    "OrgUnit": get_unit,
    "Task": get_task,
    "AuditEvent": get_event,
    "WaterBody": get_water_body,
    "Indicator": _indicator,
    "Record": get_record,
    "Person": _person,
    "User": user_in_scope,
    "Evidence": get_evidence,
    "Notification": get_notification,
}


async def load_node(context: RequestContext, type_name: str, pk: int) -> object | None:
    loader = NODES.get(type_name)
    return await loader(context, pk) if loader is not None else None
