"""Tasks handed down the hierarchy, a family at a time, with the history the service writes.

Each task's life is planned whole: its final status (from how its deadline stands at the
snapshot), then when each transition happened, with subtasks created while it is open and
closed before it is submitted, the patrols and clean-ups done for it, urges and escalations
when it runs late. ``data_replay`` then plays that life through the workflow.
"""

from __future__ import annotations

from random import Random
from typing import Any, Final

from bench import data_text as text
from bench.data_audit import Chain
from bench.data_clock import BASE_US, DAY, HOUR, MINUTE, SECOND, deadline
from bench.data_families import Families, Spec
from bench.data_records import LAST_RECORD, RecordMaker
from bench.data_replay import Planned, Replay, Split, request_id
from bench.data_tables import Rows
from bench.data_tree import County, Ids, Unit
from models.enums import CLOSED_STATUSES, RecordType, TaskCategory, TaskStatus
from resolvers.workflow import TRANSITIONS, TaskAction

# How long a task of each category runs, in days (from, to).
RUNS: Final[dict[TaskCategory, tuple[int, int]]] = {
    TaskCategory.FISHING_BAN: (30, 365),
    TaskCategory.POLLUTION_TREATMENT: (60, 540),
    TaskCategory.AGRICULTURAL_NONPOINT: (60, 540),
    TaskCategory.ECOLOGICAL_RESTORATION: (90, 720),
    TaskCategory.GREEN_INDUSTRY: (90, 720),
    TaskCategory.BEAUTIFUL_VILLAGE: (60, 540),
    TaskCategory.PATROL: (5, 35),
    TaskCategory.CLEANUP: (1, 14),
    TaskCategory.KEY_PROJECT: (180, 1000),
    TaskCategory.OTHER: (3, 60),
}
S = TaskStatus
# Final statuses by how the deadline stands at the snapshot: long past, just past, ahead.
LONG_PAST: Final = ((S.VERIFIED, 86), (S.CANCELLED, 5), (S.IN_PROGRESS, 4), (S.ASSIGNED, 2),
                    (S.SUBMITTED, 2), (S.REJECTED, 1), (S.DRAFT, 1))  # fmt: skip
JUST_PAST: Final = ((S.VERIFIED, 55), (S.CANCELLED, 3), (S.IN_PROGRESS, 18), (S.SUBMITTED, 12),
                    (S.ASSIGNED, 7), (S.REJECTED, 5), (S.DRAFT, 2))  # fmt: skip
AHEAD: Final = ((S.VERIFIED, 15), (S.CANCELLED, 2), (S.IN_PROGRESS, 35), (S.SUBMITTED, 12),
                (S.ASSIGNED, 28), (S.REJECTED, 5), (S.DRAFT, 3))  # fmt: skip
# The open tasks an issuer may press (urge, escalate): those past DRAFT.
PRESSABLE: Final = TRANSITIONS[TaskAction.URGE].sources
SPLIT_STEP: Final = 2_000  # µs between the inserts of one decomposition


class TaskMaker:
    """Plans one county's task families and writes them, their records and their events."""

    def __init__(
        self, rng: Random, county: County, ids: Ids, rows: Rows, chain: Chain, records: RecordMaker
    ) -> None:
        self.rng = rng
        self.county = county
        self.ids = ids
        self.records = records
        self.families = Families(rng, county)
        self.replay = Replay(rng, rows, chain, records)
        self._order = 0

    def family(self, created: int, budget: int) -> int:
        """Plan and write one family created at ``created``, of at most ``budget`` tasks."""
        spec = self.families.draw(created, budget)
        planned: list[Planned] = []
        self._plan(spec, None, created, BASE_US, None, planned, self._request())
        for task in planned:
            self.replay.write(task)
        return len(planned)

    # -- placing a task in time ---------------------------------------------------------------

    def _plan(
        self,
        spec: Spec,
        parent: Planned | None,
        created: int,
        limit: int,
        forced: tuple[tuple[TaskStatus, int], ...] | None,
        planned: list[Planned],
        request_id: str,
    ) -> Planned:
        """Plan ``spec`` created at ``created``, its life over before ``limit``."""
        rng = self.rng
        due = spec.due
        if due is None:
            due = deadline(created + rng.randrange(*RUNS[spec.category]) * DAY)
        if parent is not None:
            due = min(due, parent.due)
        status = self._status(due, created, limit, forced, leaf=not spec.children)
        end = self._end(status, created, due, limit)
        person = self._person(spec.unit)
        draw = rng.random()
        first = None if draw < 0.1 else person
        task = Planned(self.ids.take("task"), spec, parent, created, due, status, request_id, first)
        planned.append(task)
        start, work_end, child_from, child_until = self._layout(task, end)
        if first is None and draw < 0.07 and status is not S.DRAFT:
            span = (start or end) - created
            self._act(task, created + max(1, span // 50), "ASSIGN", person)
        self._follow_up(task)
        if spec.children:
            self._children(task, child_from, child_until, planned)
        self._records(task, start, work_end, end)
        return task

    def _status(
        self,
        due: int,
        created: int,
        limit: int,
        forced: tuple[tuple[TaskStatus, int], ...] | None,
        leaf: bool,
    ) -> TaskStatus:
        if forced is None and min(limit, BASE_US) - created < 2 * HOUR:
            return S.ASSIGNED
        mix = forced or (LONG_PAST if due < BASE_US - 30 * DAY else JUST_PAST)
        if forced is None and due >= BASE_US:
            mix = AHEAD
        status = self.rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
        return S.ASSIGNED if status is S.DRAFT and not leaf else status

    def _end(self, status: TaskStatus, created: int, due: int, limit: int) -> int:
        """When the task's last transition happens (the snapshot's eve, for open tasks)."""
        horizon = min(limit, BASE_US) - MINUTE
        if status not in CLOSED_STATUSES:
            return horizon
        room = horizon - created
        closing = horizon + 1
        if due > created:
            closing = created + int((due - created) * self.rng.uniform(0.5, 1.1))
        if not created + room // 20 <= closing <= horizon:
            # Not around the deadline, then: somewhere late in the time it has.
            closing = created + int(room * self.rng.uniform(0.3, 0.98))
        return max(closing, created + 1)

    def _layout(self, task: Planned, end: int) -> tuple[int | None, int, int, int]:
        """The transitions' times; returns (start, end of work, children from, until)."""
        rng, created, status = self.rng, task.created, task.status
        span = end - created

        def share(low: float, high: float) -> int:
            return created + int(span * rng.uniform(low, high))

        steps: list[tuple[int, str]] = []
        if status is S.DRAFT:
            steps = [(created + min(rng.randrange(HOUR, 20 * HOUR), span * 9 // 10), "RETURN")]
        elif status is S.IN_PROGRESS:
            steps = [(share(0.01, 0.2), "START")]
        elif status is S.SUBMITTED:
            steps = [(share(0.01, 0.15), "START"), (share(0.6, 0.95), "SUBMIT")]
        elif status is S.REJECTED:
            steps = [(share(0.01, 0.15), "START"), (share(0.55, 0.8), "SUBMIT")]
            steps.append((share(0.82, 0.98), "REJECT"))
        elif status is S.VERIFIED and rng.random() < 0.12:
            steps = [(share(0.01, 0.1), "START"), (share(0.45, 0.55), "SUBMIT")]
            steps += [(share(0.58, 0.65), "REJECT"), (share(0.68, 0.74), "START")]
            steps += [(share(0.8, 0.92), "SUBMIT"), (end, "VERIFY")]
        elif status is S.VERIFIED:
            steps = [(share(0.01, 0.15), "START"), (share(0.7, 0.93), "SUBMIT"), (end, "VERIFY")]
        elif status is S.CANCELLED:
            steps = [(share(0.02, 0.3), "START")] if rng.random() < 0.5 else []
            steps.append((end, "CANCEL"))
        moment = created
        for when, kind in steps:
            moment = max(when, moment + 1)
            self._act(task, moment, kind, None)
        times = {kind: when for when, _, kind, _ in reversed(task.acts)}  # the first of each
        start = times.get("START")
        until = times.get("SUBMIT", times.get("CANCEL", end))
        child_from = (start or created) + max(1, int(span * rng.uniform(0.002, 0.02)))
        return start, until, child_from, until

    def _follow_up(self, task: Planned) -> None:
        """An overdue open task gets urged (and answers), or escalated (督办)."""
        rng, due = self.rng, task.due
        if task.status not in PRESSABLE or due >= BASE_US - 2 * DAY:
            return
        room = BASE_US - HOUR - due
        if rng.random() < 0.3:
            urged = due + rng.randrange(DAY, max(DAY + 1, min(20 * DAY, room)))
            if task.created + MINUTE < urged < BASE_US - HOUR:
                self._act(task, urged, "URGE", rng.choice(text.NOTES["URGE"]))
                answered = urged + rng.randrange(HOUR, 2 * DAY)
                if rng.random() < 0.6 and answered < BASE_US - HOUR:
                    self._act(task, answered, "REPLY", rng.choice(text.NOTES["REPLY"]))
        if rng.random() < 0.2 and self.records.left > 0 and room > 4 * DAY:
            escalated = due + rng.randrange(3 * DAY, room)
            if escalated > task.created + MINUTE:
                self._act(task, escalated, "ESCALATE", rng.choice(text.NOTES["ESCALATE"]))

    def _children(self, task: Planned, start: int, until: int, planned: list[Planned]) -> None:
        """Subtasks, created while the parent is open; closed before it is submitted."""
        rng = self.rng
        forced: tuple[tuple[TaskStatus, int], ...] | None = None
        if task.status is S.CANCELLED:
            forced = ((S.CANCELLED, 60), (S.VERIFIED, 40))
        elif task.status in (S.SUBMITTED, S.REJECTED, S.VERIFIED):
            forced = ((S.VERIFIED, 93), (S.CANCELLED, 7))
        parts = task.spec.children
        if task.spec.decompose:
            request = self._request()
            ids = []
            for i, part in enumerate(parts):
                created = start + (i + 1) * SPLIT_STEP
                ids.append(self._plan(part, task, created, until, forced, planned, request).id)
            moment = start + (len(parts) + 1) * SPLIT_STEP
            self._act(task, moment, "DECOMPOSE", Split(start, ids, request))
            return
        step = max(1, (until - start) // (2 * len(parts) + 2))
        moment = start
        for part in parts:
            moment += max(1, min(rng.randrange(30 * SECOND, 10 * MINUTE), step))
            self._act(task, moment, "CLAIM", None)
            self._plan(part, task, moment, until, forced, planned, self._request())

    def _records(self, task: Planned, start: int | None, work_end: int, end: int) -> None:
        """The patrols or clean-ups done for the task, and now and then a finding."""
        rng, spec, status = self.rng, task.spec, task.status
        if status is not S.DRAFT and rng.random() < 0.02:
            last = min(end, LAST_RECORD)
            if last > task.created + 1:
                self.records.finding(spec.unit, rng.randrange(task.created + 1, last), task.id)
        kind = spec.quota[1] if spec.quota else WORK_RECORDS.get(spec.category)
        if kind is None or start is None:
            return
        if spec.quota is not None:
            target = spec.quota[0]
            if status is S.VERIFIED:
                count = target + (rng.random() < 0.3)
            elif status in (S.SUBMITTED, S.REJECTED):
                count = max(0, target - rng.randrange(2))
            elif status is S.IN_PROGRESS:
                done = (BASE_US - start) / max(1, task.due - start)
                count = int(target * min(1.0, done))
            else:
                count = rng.randrange(target // 2 + 1)
        elif status in (S.VERIFIED, S.SUBMITTED, S.REJECTED):
            count = rng.randrange(1, 3)
        elif status is S.IN_PROGRESS:
            count = rng.randrange(3)
        else:
            count = rng.randrange(2)
        count = min(count, self.records.left)
        if count > 0:
            self.records.for_task(kind, spec.unit, task.id, start, work_end, count)

    # -- small helpers -------------------------------------------------------------------------

    def _act(self, task: Planned, when: int, kind: str, payload: Any) -> None:
        self._order += 1
        task.acts.append((when, self._order, kind, payload))

    def _person(self, unit: Unit) -> int:
        """Mostly the unit's head; now and then another of its people."""
        if self.rng.random() < 0.7:
            return unit.head_person
        return unit.first_person + self.rng.randrange(1, unit.people)

    def _request(self) -> str:
        return request_id(self.rng)


WORK_RECORDS: Final = {
    TaskCategory.PATROL: RecordType.PATROL,
    TaskCategory.FISHING_BAN: RecordType.PATROL,
    TaskCategory.CLEANUP: RecordType.CLEANUP,
}
