"""Replaying a planned task's life through the workflow, as the service would have written it.

Each transition goes through ``resolvers.workflow.TRANSITIONS`` (a planned step the workflow
would refuse is a bug, and raises), bumps the version as ``apply_change`` does, and appends
the audit event with the same actor, snapshot and note; subtasks bump their parent as
``claim`` does, a decomposition writes ``task.decompose``, an escalation its record and
``task.escalate``. The task's row is what is left at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Any

from bench import data_text as text
from bench.data_audit import Chain
from bench.data_clock import DAY, at
from bench.data_families import Spec
from bench.data_records import ESCALATION_STEP, RecordMaker
from bench.data_tables import TASK, Rows
from models.enums import CLOSED_STATUSES, TaskOrigin, TaskStatus
from policies.rights import On
from resolvers.workflow import TRANSITIONS, TaskAction

S = TaskStatus


@dataclass(eq=False)
class Planned:
    """A task placed in time: its final status and the steps (``acts``) that lead there.

    An act is ``(time, order, kind, payload)``: a workflow action (``START``…), ``ASSIGN``
    (payload: the person), ``CLAIM`` (a subtask created), ``DECOMPOSE`` (a ``Split``) or
    ``ESCALATE`` (payload: the note).
    """

    id: int
    spec: Spec
    parent: Planned | None
    created: int
    due: int
    status: TaskStatus
    request_id: str
    first_assignee: int | None
    acts: list[tuple[int, int, str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Split:
    """A decomposition: the parent claimed at ``claimed``, these subtasks created."""

    claimed: int
    subtask_ids: list[int]
    request_id: str


def request_id(rng: Random) -> str:
    """A request id like the service's (``uuid4().hex``), from the seeded generator."""
    return f"{rng.getrandbits(128):032x}"


class Replay:
    """Writes planned tasks: their rows, their events, their escalation records."""

    def __init__(self, rng: Random, rows: Rows, chain: Chain, records: RecordMaker) -> None:
        self.rng = rng
        self.rows = rows
        self.chain = chain
        self.records = records

    def write(self, task: Planned) -> None:
        """Replay the task's transitions as the service would, writing its row and events."""
        spec, chain = task.spec, self.chain
        unit, issuer = spec.unit, spec.issuer
        due_at = at(task.due)
        state: dict[str, Any] = {
            "status": S.ASSIGNED.value,
            "org_unit_id": unit.id,
            "issuer_unit_id": issuer.id,
            "assignee_id": task.first_assignee,
            "due_at": due_at.isoformat(),
            "version": 1,
        }
        parent_id = task.parent.id if task.parent else None
        chain.add(
            task.created,
            "task.create",
            "task",
            task.id,
            issuer.head_user,
            unit.path,
            after={"title": spec.title, "parent_id": parent_id, **state},
            request_id=task.request_id,
        )
        updated, closed, submitted_by = task.created, None, None
        for when, _, kind, payload in sorted(task.acts):
            if kind == "CLAIM":
                state["version"] += 1
                updated = when
                continue
            if kind == "DECOMPOSE":
                before = {"version": state["version"]}
                state["version"] += 1
                updated = payload.claimed
                after = {"subtask_ids": payload.subtask_ids, "version": state["version"]}
                chain.add(
                    when,
                    "task.decompose",
                    "task",
                    task.id,
                    unit.head_user,
                    unit.path,
                    before=before,
                    after=after,
                    request_id=payload.request_id,
                )
                continue
            if kind == "ESCALATE":
                self._escalate(task, when, payload, state["status"])
                continue
            before = dict(state)
            if kind == "ASSIGN":
                actor, action, note = issuer.head_user, "task.assign", ""
                state["assignee_id"] = payload
                if state["status"] in (S.DRAFT.value, S.REJECTED.value):
                    state["status"] = S.ASSIGNED.value
            else:
                move = TaskAction(kind)
                rule = TRANSITIONS[move]
                if S(state["status"]) not in rule.sources:
                    raise RuntimeError(f"task {task.id}: cannot {kind} from {state['status']}")
                side = issuer if rule.right.on is On.ISSUER else unit
                actor, action = side.head_user, f"task.{kind.lower()}"
                note = payload or self.rng.choice(text.NOTES.get(kind, ("",)))
                if rule.target is not None:
                    state["status"] = rule.target.value
                    if rule.target in CLOSED_STATUSES:
                        closed = when
                if move is TaskAction.SUBMIT:
                    submitted_by = unit.head_user
            state["version"] += 1
            updated = when
            after = dict(state)
            if note:
                after["note"] = note
            chain.add(
                when,
                action,
                "task",
                task.id,
                actor,
                unit.path,
                before=before,
                after=after,
                request_id=request_id(self.rng),
            )
        if state["status"] != task.status.value:
            raise RuntimeError(f"task {task.id} ended {state['status']}, not {task.status.value}")
        quota_target, quota_type = spec.quota if spec.quota else (None, None)
        self.rows.add(
            TASK,
            (
                task.id,
                spec.title,
                text.TASK_DESCRIPTIONS[spec.category],
                spec.category.value,
                task.status.value,
                unit.id,
                issuer.id,
                issuer.head_user,
                state["assignee_id"],
                parent_id,
                due_at,
                quota_target,
                quota_type.value if quota_type else None,
                submitted_by,
                state["version"],
                at(task.created),
                at(updated),
                None if closed is None else at(closed),
                TaskOrigin.ISSUED.value,  # every bench task is handed down
            ),
        )

    def _escalate(self, task: Planned, when: int, note: str, status: str) -> None:
        """``resolvers/escalation.py``: an ESCALATION record, then ``task.escalate``."""
        spec = task.spec
        request = request_id(self.rng)
        details = {
            "due_at": at(task.due).isoformat(),
            "days_overdue": (when - task.due) // DAY,
            "status": status,
            "issuer_unit_id": spec.issuer.id,
        }
        record_id = self.records.escalation(
            spec.unit, spec.issuer, task.id, when, details, note, request
        )
        self.chain.add(
            when + 2 * ESCALATION_STEP,
            "task.escalate",
            "task",
            task.id,
            spec.issuer.head_user,
            spec.unit.path,
            after={"record_id": record_id, "note": note},
            request_id=request,
        )
