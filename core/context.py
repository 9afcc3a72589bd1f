"""What every resolver receives: who is asking, for which request, with per-request caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.task_events import TaskEvent, TaskEventHub
    from policies.engine import PolicyEngine


@dataclass(frozen=True)
class Viewer:
    """An authenticated account, as the bearer token and the database agree it is."""

    id: int
    username: str
    person_id: int | None
    # The account row the token was checked against, so `me` needs no second read.
    account: Any = field(default=None, compare=False, repr=False)

    @property
    def subject(self) -> str:
        return f"user:{self.id}"


@dataclass
class RequestContext:
    """Built once per GraphQL operation; caches here live and die with the request."""

    viewer: Viewer | None
    policy: PolicyEngine
    request_id: str
    secret: str
    token_ttl_seconds: int
    client_address: str = ""
    request: Any = None
    response: Any = None
    cache: dict[Any, Any] = field(default_factory=dict)
    debug: bool = False
    sql_statements: int = 0
    # The whole HTTP request's count (its token check included), when the transport made one.
    request_statements: Any = None
    elapsed_ms: float = 0.0
    task_events: TaskEventHub | None = None
    pending_events: list[TaskEvent] = field(default_factory=list)
    connection_params: dict[str, Any] | None = None
