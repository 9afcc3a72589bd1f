"""What a task family holds, before it is placed in time.

A family is a task and the subtasks split from it (逐级分解). Most are a single grid patrol
or clean-up a village hands down; the rest come from a township, a county programme (one of
the six actions, or a key project) split township › villages › grids, a department and its
co-building village, or the county's yearly targets for its departments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random
from typing import Final

from bench import data_text as text
from bench.data_clock import BASE_US, DAY, at, month_end, us, year_end
from bench.data_tree import County, Unit
from models.enums import RecordType, TaskCategory

FAMILIES: Final = (("routine", 88.0), ("township", 7.5), ("programme", 1.2), ("pairing", 2.3),
                   ("department", 1.0))  # fmt: skip
PROGRAMMES: Final = (
    (TaskCategory.FISHING_BAN, 3),
    (TaskCategory.POLLUTION_TREATMENT, 3),
    (TaskCategory.AGRICULTURAL_NONPOINT, 2),
    (TaskCategory.ECOLOGICAL_RESTORATION, 2),
    (TaskCategory.GREEN_INDUSTRY, 1),
    (TaskCategory.BEAUTIFUL_VILLAGE, 3),
    (TaskCategory.KEY_PROJECT, 2),
    (TaskCategory.OTHER, 1),
)
# Multi-year responsibility targets handed to grids late in the history: still open, and
# due at moments spread over 2026-2028, whatever day the data is looked at.
LONG_TARGETS: Final = (
    ("2026年度", year_end(2026), 1.0),
    ("2026—2027年度", year_end(2027), 2.0),
    ("2026—2028年三年行动", us(datetime(2028, 6, 30, 10, tzinfo=UTC)), 2.5),
)
CLEANING: Final = frozenset(
    {TaskCategory.POLLUTION_TREATMENT, TaskCategory.BEAUTIFUL_VILLAGE, TaskCategory.CLEANUP}
)
DEPARTMENT_WORK: Final = (
    TaskCategory.POLLUTION_TREATMENT,
    TaskCategory.ECOLOGICAL_RESTORATION,
    TaskCategory.KEY_PROJECT,
    TaskCategory.AGRICULTURAL_NONPOINT,
    TaskCategory.GREEN_INDUSTRY,
)


@dataclass(eq=False)
class Spec:
    """A task before it is placed in time."""

    unit: Unit
    issuer: Unit
    category: TaskCategory
    title: str
    quota: tuple[int, RecordType] | None = None
    due: int | None = None
    decompose: bool = True  # children in one decomposition, or created one by one
    children: list[Spec] = field(default_factory=list)


class Families:
    """Draws families for one county, each within a budget of tasks."""

    def __init__(self, rng: Random, county: County) -> None:
        self.rng = rng
        self.county = county
        self._left = 0
        self._kinds = [name for name, _ in FAMILIES]
        self._kind_weights = [weight for _, weight in FAMILIES]

    def draw(self, created: int, budget: int) -> Spec:
        """A family created at ``created``, of at most ``budget`` tasks."""
        self._left = budget - 1
        kind = self.rng.choices(self._kinds, self._kind_weights)[0]
        spec: Spec = getattr(self, f"_{kind}")(created)
        return spec

    def _routine(self, created: int) -> Spec:
        """A village hands one of its grids a patrol or a clean-up, often with a target."""
        rng = self.rng
        grid = rng.choice(self.county.grids)
        patrol = rng.random() < 0.6
        category = TaskCategory.PATROL if patrol else TaskCategory.CLEANUP
        kind = RecordType.PATROL if patrol else RecordType.CLEANUP
        work = "巡河" if patrol else "“1110”日保洁"
        assert grid.parent is not None
        if created >= BASE_US - 60 * DAY and rng.random() < 0.25:
            label, due, years = rng.choice(LONG_TARGETS)
            target = int((12 if patrol else 24) * years)
            title = f"{grid.name}{label}{work}（不少于 {target} 次）"
            return Spec(grid, grid.parent, category, title, (target, kind), due)
        if rng.random() < 0.2:
            due = month_end(created + 3 * DAY)
            if due - created < 7 * DAY:
                due = month_end(due + DAY)
            target = 4
            month = at(due)
            title = f"{grid.name}{month.year}年{month.month}月{work}（不少于 {target} 次）"
            return Spec(grid, grid.parent, category, title, (target, kind), due)
        return Spec(grid, grid.parent, category, text.task_title(rng, category, grid.name))

    def _township(self, created: int) -> Spec:
        """A township tasks one village, which splits it over some of its grids."""
        rng = self.rng
        township = rng.choice(self.county.townships)
        village = rng.choice(township.children)
        category = rng.choices(
            (
                TaskCategory.PATROL,
                TaskCategory.CLEANUP,
                TaskCategory.BEAUTIFUL_VILLAGE,
                TaskCategory.FISHING_BAN,
                TaskCategory.OTHER,
            ),
            (35, 20, 15, 15, 15),
        )[0]
        if category is TaskCategory.PATROL and rng.random() < 0.5:
            target = rng.randrange(2, 5)
            title = f"{village.name}村级河长每月巡河（不少于 {target} 次）"
            spec = Spec(
                village, township, category, title, (target, RecordType.PATROL), month_end(created)
            )
        else:
            spec = Spec(village, township, category, text.task_title(rng, category, village.name))
        if rng.random() < 0.7:
            for grid in rng.sample(village.children, rng.randrange(2, 11)):
                self._child(spec, Spec(grid, village, category, self._title(category, grid)))
        return spec

    def _programme(self, created: int) -> Spec:
        """One of the six actions (or a key project), county → township → villages → grids."""
        rng = self.rng
        township = rng.choice(self.county.townships)
        category = rng.choices([c for c, _ in PROGRAMMES], [w for _, w in PROGRAMMES])[0]
        spec = Spec(township, self.county.unit, category, self._title(category, township))
        for village in rng.sample(township.children, rng.randrange(3, 9)):
            part = Spec(
                village, township, category, self._title(category, village), decompose=False
            )
            if not self._child(spec, part) or rng.random() >= 0.6:
                continue
            work = TaskCategory.CLEANUP if category in CLEANING else TaskCategory.PATROL
            for grid in rng.sample(village.children, rng.randrange(1, 7)):
                self._child(part, Spec(grid, village, work, self._title(work, grid)))
        return spec

    def _pairing(self, created: int) -> Spec:
        """A county department and its co-building village (支部联建)."""
        rng = self.rng
        department = rng.choice(self.county.departments)
        village = rng.choice(self.county.paired_villages[department.id])
        category = rng.choices(
            (TaskCategory.OTHER, TaskCategory.CLEANUP, TaskCategory.PATROL), (30, 40, 30)
        )[0]
        titles = {
            TaskCategory.OTHER: f"{village.name}与{department.name}支部联建主题党日",
            TaskCategory.CLEANUP: f"{department.name}包保{village.name}周五清河",
            TaskCategory.PATROL: f"{department.name}挂钩{village.name}河段巡河",
        }
        spec = Spec(village, department, category, titles[category], decompose=False)
        if category is not TaskCategory.OTHER and rng.random() < 0.5:
            for grid in rng.sample(village.children, rng.randrange(1, 5)):
                self._child(spec, Spec(grid, village, category, self._title(category, grid)))
        return spec

    def _department(self, created: int) -> Spec:
        """The county tasks a department: a yearly patrol target on its river, or a project."""
        rng = self.rng
        department = rng.choice(self.county.departments)
        county = self.county.unit
        if rng.random() < 0.5:
            year = at(created).year
            if year_end(year) - created < 30 * DAY:
                year += 1
            title = f"{department.name}挂钩河段{year}年度巡河（不少于 6 次）"
            quota = (6, RecordType.PATROL)
            return Spec(department, county, TaskCategory.PATROL, title, quota, year_end(year))
        category = rng.choice(DEPARTMENT_WORK)
        return Spec(department, county, category, self._title(category, department))

    def _child(self, parent: Spec, child: Spec) -> bool:
        if self._left <= 0:
            return False
        self._left -= 1
        parent.children.append(child)
        return True

    def _title(self, category: TaskCategory, unit: Unit) -> str:
        return text.task_title(self.rng, category, unit.name)
