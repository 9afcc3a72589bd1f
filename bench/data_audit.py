"""The audit trail of the generated history, hash-chained exactly as the service chains it.

Events are planned out of order (a task's whole life at once), so they wait in one bucket
per day; once no later planning can add to a day, its events are sorted by time and
appended with ``resolvers.audit.chain_hash``, seq 1, 2, … in time order.

Hundreds of thousands of events wait at once (months of history, every county), so a day's
bucket is one buffer of marshalled events: small objects that outlive the ones made around
them would fragment the heap and hold on to far more memory than they use.
"""

from __future__ import annotations

import marshal
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Final, cast

from tortoise.fields.data import JSON_DUMPS, JSON_LOADS

from bench.data_clock import at, day_of
from bench.data_tables import AUDIT_EVENT, Rows
from models.audit import AuditEvent
from resolvers.audit import GENESIS_HASH, chain_hash

Json = dict[str, Any] | None

# (time, tiebreak, action, entity_type, entity_id, actor_id, org_path, before, after, request),
# before and after as the JSON text stored.
Pending = tuple[int, int, str, str, str, int | None, str, str | None, str | None, str]
FRAME: Final = 4  # bytes of an event's length in a day's buffer


class Chain:
    """Takes events as they are planned; writes them to the trail once their day is done."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self._days: defaultdict[int, bytearray] = defaultdict(bytearray)
        self._order = 0  # breaks ties between events planned for the same microsecond
        self._next_day = 0  # days before this one are written
        self.seq = 0
        self.head = GENESIS_HASH
        # One scratch event: ``chain_hash`` reads its fields, and building a model per event
        # would cost more than the hash itself.
        self._event = AuditEvent.__new__(AuditEvent)

    def add(
        self,
        when: int,
        action: str,
        entity_type: str,
        entity_id: int,
        actor_id: int | None,
        org_path: str,
        *,
        before: Json = None,
        after: Json = None,
        request_id: str,
    ) -> None:
        day = day_of(when)
        if day < self._next_day:
            raise ValueError(f"{action} at day {day} comes after the trail was written up to it")
        self._order += 1
        event = marshal.dumps(
            (
                when,
                self._order,
                action,
                entity_type,
                str(entity_id),
                actor_id,
                org_path,
                None if before is None else JSON_DUMPS(before),
                None if after is None else JSON_DUMPS(after),
                request_id,
            )
        )
        bucket = self._days[day]
        bucket += len(event).to_bytes(FRAME, "little")
        bucket += event

    def write_until(self, day: int) -> None:
        """Append every event before ``day``: nothing planned from now on falls before it."""
        while self._next_day < day:
            for pending in sorted(_unpack(self._days.pop(self._next_day, bytearray()))):
                self._append(pending)
            self._next_day += 1

    def write_all(self) -> None:
        if self._days:
            self.write_until(max(self._days) + 1)

    def _append(self, pending: Pending) -> None:
        when, _, action, entity_type, entity_id, actor_id, org_path, before, after, request = (
            pending
        )
        self.seq += 1
        moment = at(when)
        # Straight into the instance: the fields are plain values, and the model's own
        # ``__setattr__`` (relation checks) costs more than the hash.
        vars(self._event).update(
            seq=self.seq,
            at=moment,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            org_path=org_path,
            before=None if before is None else JSON_LOADS(before),
            after=None if after is None else JSON_LOADS(after),
            request_id=request,
        )
        digest = chain_hash(self.head, self._event)
        self.rows.add(
            AUDIT_EVENT,
            (
                self.seq,
                moment,
                action,
                entity_type,
                entity_id,
                actor_id,
                org_path,
                before,
                after,
                request,
                self.head,
                digest,
            ),
        )
        self.head = digest


def _unpack(bucket: bytearray) -> Iterator[Pending]:
    view, offset = memoryview(bucket), 0
    while offset < len(view):
        size = int.from_bytes(view[offset : offset + FRAME], "little")
        offset += FRAME
        yield cast(Pending, marshal.loads(view[offset : offset + size]))  # noqa: S302 - our own bytes
        offset += size
