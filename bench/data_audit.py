"""The audit logs of the generated history, built exactly as the service builds them.

Events are planned out of order (a task's whole life at once), so they wait in one bucket
per day; once no later planning can add to a day, its events are sorted by time and
appended, seq 1, 2, … in time order, each to its jurisdiction's log (the county its org path
starts at) as the next leaf: chained with ``resolvers.audit.chain_hash`` to the log's previous
event, and with the tree nodes it completes (``core.merkle.CompactRange``).

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
from bench.data_tables import AUDIT_EVENT, AUDIT_NODE, Rows
from core.merkle import CompactRange
from models.audit import AuditEvent
from resolvers.audit import (
    GENESIS_HASH,
    body_leaf_hash,
    event_body,
    jurisdiction_of,
    link_hash,
)

Json = dict[str, Any] | None

# (time, tiebreak, action, entity_type, entity_id, actor_id, org_path, before, after, request),
# before and after as the JSON text stored.
Pending = tuple[int, int, str, str, str, int | None, str, str | None, str | None, str]
FRAME: Final = 4  # bytes of an event's length in a day's buffer


class Log:
    """One jurisdiction's log as it grows: its last hash and the frontier of its tree."""

    def __init__(self) -> None:
        self.head = GENESIS_HASH
        self.tree = CompactRange()


class Chain:
    """Takes events as they are planned; writes them to the logs once their day is done."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self._days: defaultdict[int, bytearray] = defaultdict(bytearray)
        self._order = 0  # breaks ties between events planned for the same microsecond
        self._next_day = 0  # days before this one are written
        self.seq = 0
        self.logs: dict[int, Log] = {}
        # One scratch event: ``event_body`` reads its fields, and building a model per event
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
        jurisdiction = jurisdiction_of(org_path)
        log = self.logs.get(jurisdiction)
        if log is None:
            log = self.logs[jurisdiction] = Log()
        index = log.tree.size
        # Straight into the instance: the fields are plain values, and the model's own
        # ``__setattr__`` (relation checks) costs more than the hash.
        vars(self._event).update(
            seq=self.seq,
            jurisdiction=jurisdiction,
            leaf_index=index,
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
        body = event_body(self._event)
        digest = link_hash(log.head, body)
        self.rows.add(
            AUDIT_EVENT,
            (
                self.seq,
                jurisdiction,
                index,
                moment,
                action,
                entity_type,
                entity_id,
                actor_id,
                org_path,
                before,
                after,
                request,
                log.head,
                digest,
            ),
        )
        for (level, position), value in log.tree.append(body_leaf_hash(body)):
            self.rows.add(AUDIT_NODE, (jurisdiction, level, position, value.hex()))
        log.head = digest


def _unpack(bucket: bytearray) -> Iterator[Pending]:
    view, offset = memoryview(bucket), 0
    while offset < len(view):
        size = int.from_bytes(view[offset : offset + FRAME], "little")
        offset += FRAME
        yield cast(Pending, marshal.loads(view[offset : offset + size]))  # noqa: S302 - our own bytes
        offset += size
