"""Per-request dataloaders: one query per relation per level of a GraphQL query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.models import Model

from core.context import RequestContext
from models.org import OrgUnit, WaterBody
from models.people import Person, User
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.dataloader import DataLoader


def _by_id(model: type[Model]) -> DataLoader[int, Any]:
    async def load(ids: Sequence[int]) -> list[Any]:
        rows = {row.pk: row for row in await model.filter(pk__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    """Created lazily per request: a module-level loader would cache across users."""

    def __init__(self) -> None:
        self.unit: DataLoader[int, OrgUnit | None] = _by_id(OrgUnit)
        self.person: DataLoader[int, Person | None] = _by_id(Person)
        self.user: DataLoader[int, User | None] = _by_id(User)
        self.task: DataLoader[int, Task | None] = _by_id(Task)
        self.record: DataLoader[int, AccountabilityRecord | None] = _by_id(AccountabilityRecord)
        self.water_body: DataLoader[int, WaterBody | None] = _by_id(WaterBody)


class Batches:
    """The per-request batched relations (see ``resolvers.batches``)."""

    def __init__(self, context: RequestContext) -> None:
        from resolvers import batches, task_stats

        self.child_units = batches.child_units(context)
        self.subtasks = batches.subtasks(context)
        self.task_records = batches.task_records(context)
        self.task_histories = batches.task_histories()
        self.task_stats = task_stats.task_stats(context)


def batches(context: RequestContext) -> Batches:
    return context.memo.get(Batches, lambda: Batches(context))


def loaders(context: RequestContext) -> Loaders:
    return context.memo.get(Loaders, Loaders)
