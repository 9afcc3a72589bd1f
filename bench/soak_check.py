"""What the database holds after a soak or a fault, held against what clients were told.

- Nothing acknowledged is missing, and nothing is stored that no client asked for.
- No write is half applied: each stored task has exactly one ``task.create`` event, each
  shared task's version moved exactly as many times as it has transition events, and every
  event since the start belongs to one of those writes.
- With no unknown outcomes, audit events equal acknowledged mutations exactly.
- The dashboards' counters and the indicator sums equal a recount of what is stored (drift 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench import probe
from bench.soak_workload import Ledger
from resolvers import indicator_sums, task_counters

TRANSITION_ACTIONS = ("task.urge", "task.reply")


@dataclass(frozen=True)
class Baseline:
    """The database before the load: the chain's head and the shared tasks' versions."""

    seq: int
    versions: dict[int, int]


async def baseline(database_url: str, shared: set[int]) -> Baseline:
    seq = await probe.scalar(database_url, "SELECT COALESCE(MAX(seq), 0) FROM audit_event")
    versions = await _versions(database_url, shared)
    return Baseline(int(seq), versions)


async def _versions(database_url: str, ids: set[int]) -> dict[int, int]:
    rows = await probe.fetch(database_url, "SELECT id, version FROM task")
    return {int(task): int(version) for task, version in rows if int(task) in ids}


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    stored_creates: int = 0
    stored_transitions: int = 0
    audit_events: int = 0
    counter_drift: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def expect(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)


async def check(database_url: str, run_id: str, ledger: Ledger, before: Baseline) -> Findings:
    found = Findings()
    prefix = f"soak {run_id} "
    tasks = {
        str(title): int(task)
        for task, title in await probe.fetch(database_url, "SELECT id, title FROM task")
        if str(title).startswith(prefix)
    }
    events = await probe.fetch(
        database_url,
        "SELECT action, entity_type, entity_id FROM audit_event WHERE seq > $1",
        before.seq,
    )
    found.audit_events = len(events)
    found.stored_creates = len(tasks)

    missing = sorted(set(ledger.created) - set(tasks))
    found.expect(not missing, f"{len(missing)} acknowledged tasks are missing: {missing[:3]}")
    phantom = sorted(set(tasks) - set(ledger.created) - ledger.created_unknown)
    found.expect(not phantom, f"{len(phantom)} tasks stored that no client asked for")
    wrong = [t for t, task in ledger.created.items() if tasks.get(t, task) != task]
    found.expect(not wrong, f"{len(wrong)} acknowledged ids differ from the stored ones")

    creates = Counter(str(entity) for action, _, entity in events if action == "task.create")
    transitions = Counter(
        int(entity) for action, _, entity in events if action in TRANSITION_ACTIONS
    )
    found.stored_transitions = sum(transitions.values())
    unaudited = [t for t, task in tasks.items() if creates[str(task)] != 1]
    found.expect(not unaudited, f"{len(unaudited)} stored tasks without exactly one event")
    stray = set(creates) - {str(task) for task in tasks.values()}
    found.expect(not stray, f"task.create events for tasks not stored: {sorted(stray)[:3]}")
    others = Counter(a for a, _, _ in events if a != "task.create" and a not in TRANSITION_ACTIONS)
    found.expect(not others, f"events no client's write explains: {dict(others)}")

    after = await _versions(database_url, set(before.versions))
    for task, version in before.versions.items():
        moved = after.get(task, version) - version
        found.expect(
            moved == transitions[task],
            f"task {task}: version moved {moved}, with {transitions[task]} transition events",
        )
        acknowledged, unknown = ledger.transitions[task], ledger.transitions_unknown[task]
        found.expect(
            acknowledged <= transitions[task] <= acknowledged + unknown,
            f"task {task}: {transitions[task]} stored transitions, {acknowledged} acknowledged"
            f" and {unknown} unknown",
        )
    untracked = set(transitions) - set(before.versions)
    found.expect(not untracked, f"transitions on tasks no client shared: {sorted(untracked)}")
    if ledger.unknown_mutations == 0:
        found.expect(
            found.audit_events == ledger.acknowledged_mutations,
            f"{found.audit_events} audit events for {ledger.acknowledged_mutations}"
            " acknowledged mutations",
        )
    found.counter_drift = await counter_drift(database_url)
    found.expect(found.counter_drift == 0, f"{found.counter_drift} counters differ from a recount")
    return found


async def counter_drift(database_url: str) -> int:
    """How many task counters and indicator sums differ from a recount of the tables."""
    postgres = not database_url.startswith("sqlite://")
    statements = [*task_counters.drift_sql(postgres).values(), indicator_sums.drift_sql(postgres)]
    return sum([len(await probe.fetch(database_url, sql)) for sql in statements])
