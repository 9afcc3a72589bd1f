"""Arguments several fields share, each with its description written once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias

import strawberry

from schema.connection import AFTER_DESCRIPTION, FIRST_DESCRIPTION
from schema.enums import TaskOrder
from schema.task_filter import TaskFilter

First: TypeAlias = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After: TypeAlias = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]
At: TypeAlias = Annotated[
    datetime | None,
    strawberry.argument(
        description="The moment asked about: decided with the role policy and the grants in "
        "force then (pairings and the org tree as they are now). Now when omitted."
    ),
]
FilterArgument: TypeAlias = Annotated[
    TaskFilter | None,
    strawberry.argument(description="Narrows the list; every condition given must hold."),
]
OrderArgument: TypeAlias = Annotated[
    TaskOrder, strawberry.argument(description="How the list is sorted: NEWEST when omitted.")
]
