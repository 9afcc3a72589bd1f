"""Live updates over graphql-transport-ws: task changes inside the subscriber's scope.

The transport watches the authority behind an open subscription (``app.websocket``): it ends
the subscription within about a second of the token expiring or the account being
deactivated or signed out. The source checks the account again before each event it would
describe, so nothing is told in the meantime; and it recomputes the scope for each event
from the grants held at that moment.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from models.paths import upper_bound
from policies.guard import guard
from policies.rights import TASK_READ
from resolvers import org as org_resolvers
from resolvers.accounts import still_signed_in
from resolvers.tasks import get_task
from schema.context import ctx
from schema.enums import AuditAction
from schema.node import pk_of
from schema.task import Task

SIGNED_OUT = "The account was deactivated or its tokens revoked. Log in again."


@strawberry.type(description="A task that changed, and how.")
class TaskChange:
    action: str = strawberry.field(description="The audit action, e.g. `task.verify`.")
    kind: AuditAction = strawberry.field(description="`action` as an enum value: TASK_VERIFY.")
    seq: int = strawberry.field(description="The audit event's position in the chain.")
    task: Task = strawberry.field(description="The task as it is now.")


@strawberry.type(description="Live updates over graphql-transport-ws on `/graphql`.")
class Subscription:
    @strawberry.subscription(
        extensions=guard(TASK_READ),
        description="Every change to a task you can see, optionally only under one unit. "
        'Authenticate with `connection_params: { authorization: "Bearer <token>" }`.',
    )
    async def task_changed(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only changes to tasks of this unit and the units below it."
            ),
        ] = None,
    ) -> AsyncGenerator[TaskChange, None]:
        context = ctx(info)
        hub = context.task_events
        if hub is None:
            return
        low, high = "", "\uffff"
        if org_unit_id is not None:
            unit = await org_resolvers.get_unit(context, pk_of(org_unit_id, "OrgUnit"))
            if unit is None:
                return
            low, high = unit.path, upper_bound(unit.path)
        async with hub.subscription() as queue:
            while True:
                event = await queue.get()
                if not low <= event.org_path < high:
                    continue
                if context.viewer is None or not await still_signed_in(context.viewer):
                    raise GraphQLError(SIGNED_OUT, extensions={"code": "UNAUTHENTICATED"})
                context.memo.clear()  # fresh rows and scope: grants may have changed
                task = await get_task(context, event.task_id)
                if task is None:
                    continue
                yield TaskChange(
                    action=event.action,
                    kind=AuditAction(event.action),
                    seq=event.seq,
                    task=Task.of(task),
                )
