"""What every resolver receives: who is asking, for which request, with per-request state.

The context carries no secrets: issuing a token goes through ``signer``, which keeps its key
to itself. Per-request state (dataloaders, memoised decisions and scopes) lives in ``memo``,
one object per type, created on first use and dropped with the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from core.instrumentation import StatementCount
from core.settings import DEFAULT_CLOCK_SKEW_SECONDS

if TYPE_CHECKING:
    from core.checkpoint import LogKeys
    from core.evidence_files import EvidenceStore
    from core.policy import Policy
    from core.security import TokenSigner
    from core.task_events import TaskEvent, TaskEventHub

T = TypeVar("T")


class Account(NamedTuple):
    """The account row a token was checked against, as read for this request: a plain tuple,
    so the check on every request builds no ORM object."""

    id: int
    username: str
    person_id: int | None
    token_version: int


@dataclass(frozen=True)
class Viewer:
    """An authenticated account, as the bearer token and the database agree it is."""

    id: int
    username: str
    person_id: int | None
    # The account row the token was checked against, so `me` needs no second read.
    account: Account | None = field(default=None, compare=False, repr=False)

    @property
    def subject(self) -> str:
        return f"user:{self.id}"


class RequestMemo:
    """Per-request singletons keyed by their type: ``memo.get(Loaders, Loaders)``."""

    def __init__(self) -> None:
        self._slots: dict[type, object] = {}

    def get(self, kind: type[T], make: Callable[[], T]) -> T:
        found = self._slots.get(kind)
        if found is None:
            found = self._slots[kind] = make()
        return cast(T, found)

    def clear(self) -> None:
        """Forget everything (a long-lived connection starting a fresh operation)."""
        self._slots.clear()


@dataclass
class RequestContext:
    """Built once per GraphQL operation; its memo lives and dies with the request."""

    viewer: Viewer | None
    policy: Policy
    request_id: str
    signer: TokenSigner | None = None  # None where no token may be issued (the CLI)
    # Signs audit checkpoints and knows the keys they verify under (None: none are issued).
    log_keys: LogKeys | None = None
    client_address: str = ""
    # The caller's W3C trace headers (``traceparent``, ``tracestate``) and nothing else of
    # the request's headers, which hold its credentials.
    trace_headers: dict[str, str] = field(default_factory=dict)
    debug: bool = False
    memo: RequestMemo = field(default_factory=RequestMemo)
    denials: int = 0  # refusals logged so far in this request
    sql_statements: int = 0
    # The whole HTTP request's count (its token check included), when the transport made one.
    request_statements: StatementCount | None = None
    elapsed_ms: float = 0.0
    task_events: TaskEventHub | None = None
    pending_events: list[TaskEvent] = field(default_factory=list)
    connection_params: dict[str, Any] | None = None
    # Whether the operation may run as compiled SQL (``compiled``: HTTP requests), and how
    # it ran: "compiled" or "resolved" (reported under ``extensions.debug.executor``).
    compiled_reads: bool = False
    executor: str = "resolved"
    # How far a record's time may run ahead of the server's clock before it reads as
    # IN_FUTURE (a phone's clock and the server's disagree a little): RIVERCHIEF_CLOCK_SKEW.
    clock_skew: timedelta = timedelta(seconds=DEFAULT_CLOCK_SKEW_SECONDS)
    # Where uploaded evidence is kept (``core.evidence_files``); None where nothing may be
    # uploaded (the CLI, the websocket: uploads are HTTP multipart requests only).
    evidence: EvidenceStore | None = None
