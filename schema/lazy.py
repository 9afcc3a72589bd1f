"""Types that import the module asking for them, looked up when first needed.

``schema.task`` imports ``schema.org`` and ``schema.record``, which return tasks too. Like
Strawberry's own lazy references (``strawberry.lazy``), the class is found by module name at
run time, so no module imports another that imports it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from strawberry.types.lazy_type import LazyType

if TYPE_CHECKING:
    from schema.links import OrgLink
    from schema.task import Task


def task_type() -> type[Task]:
    return cast("type[Task]", LazyType("Task", "schema.task").resolve_type())


def link_type() -> type[OrgLink]:
    return cast("type[OrgLink]", LazyType("OrgLink", "schema.links").resolve_type())
