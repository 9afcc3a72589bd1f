"""The demo's past: who granted each role, and who created, assigned, started, submitted,
verified, returned, rejected, urged and cancelled each task, and when.

``plan_history`` is pure: from the checked data and the load time it decides every step, its
actor and its time (a seeded ``random.Random`` per task key, times relative to ``now``), so
the same ``now`` always gives the same trail. ``replay`` then takes each step through the
functions the API runs (``bootstrap_grant``, ``grant_role``, ``create_task``,
``decompose_task``, ``assign_task``, ``transition_task``), acting as the step's account with
``core.clock`` set to the step's time: every change writes its own audit event.

Who acts (README, "The demo's past"): the holding side of a task is the account at its unit
(or the nearest one above it); the issuing side is the account at its issuing unit; a task is
verified by the issuing side unless that account submitted it, then by the nearest account
above. Units that submit demo work or issue their own tasks without a demo account get an
illustrative account for their head (``DemoData.illustrative``). The first grant is the
installation's bootstrap (county_admin at 威信县); grants nobody may make (Yangzonghai's
administrator, a second root; the inspector, whose findings no county administrator may
file) are the operator's; every other grant is made by its root's county administrator.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from core import clock
from core.complaint_settings import ComplaintSettings
from core.context import RequestContext, Viewer
from core.errors import DomainError
from models.enums import CLOSED_STATUSES, TaskCategory, TaskStatus
from models.org import OrgUnit
from models.people import User
from models.task import Task
from policies.engine import ALL_LEVELS, PolicyEngine, read_role_policy
from resolvers.complaints import NewComplaint, new_receipt, receipt_hash, submit_complaint
from resolvers.decomposition import Part, decompose_task
from resolvers.grants import _write_grant, bootstrap_grant, grant_role
from resolvers.reminders import remind_cleanup, remind_overdue
from resolvers.reporting import NewReport, report_issue
from resolvers.task_commands import NewTask, assign_task, create_task, transition_task
from resolvers.workflow import TaskAction

if TYPE_CHECKING:
    from demo.loader import AccountSpec, DemoData, TaskSpec

SEED: Final = "riverchief-demo-1"
REQUEST_ID: Final = "demo-load"
HOUR: Final = timedelta(hours=1)
DAY: Final = timedelta(days=1)
# What each kind of step says, where the workflow asks for a note.
NOTES: Final = {
    TaskAction.URGE: "已逾期，请抓紧办理并报告进度。",
    TaskAction.REPLY: "已收到督办，正在加紧推进，完成后及时报送。",
    TaskAction.REJECT: "佐证材料不全，请补充后重新提交。",
    TaskAction.RETURN: "本单位暂不具备实施条件，申请退回重新安排。",
    TaskAction.CANCEL: "项目调整，任务取消。",
}


class Kind(StrEnum):
    CREATE = "CREATE"
    DECOMPOSE = "DECOMPOSE"
    ASSIGN = "ASSIGN"
    TRANSITION = "TRANSITION"


@dataclass(frozen=True)
class GrantStep:
    at: datetime
    username: str
    role: str
    unit: str
    granter: str | None  # None: the operator (the bootstrap, or a root with nothing above)
    bootstrap: bool = False


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: Kind
    actor: str
    tasks: tuple[str, ...]  # the task acted on; for CREATE/DECOMPOSE, the tasks created
    action: TaskAction | None = None
    note: str | None = None
    assign_later: frozenset[str] = frozenset()  # created without their assignee


@dataclass
class Plan:
    grants: list[GrantStep] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # Tasks and accounts exist from these times on (a task's first step, an account's grant).
    created: dict[str, datetime] = field(default_factory=dict)
    accounts_from: datetime | None = None


class DemoEngine(PolicyEngine):
    """The policy engine the loader replays with: the same decisions, each computed once.

    A decision depends on the path only through the matcher's functions (policies/model.conf):
    which of the subject's grants cover the path (``g``), pair with it (``pairedWith``) or lie
    below it (``holdsBelow``). Decisions are kept by that shape, so a county administrator
    granting at forty units asks Casbin once per right, not once per unit. A new grant changes
    its subject's shape; a reload forgets everything.
    """

    def __init__(self) -> None:
        super().__init__()
        self._decisions: dict[tuple[object, ...], bool] = {}

    def enforce(self, subject: str, path: str, level: str, resource: str, action: str) -> bool:
        if not subject or not path:
            return False
        shape = tuple(
            (
                grant.role,
                any(path.startswith(p) for p in self.covers(grant.prefix)),
                any(path.startswith(p) for p in self.reach(grant.prefix)),
                grant.prefix.startswith(path),
            )
            for grant in self.grants_of(subject)
        )
        key = (subject, shape, level, resource, action)
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = super().enforce(subject, path, level, resource, action)
        return found

    async def reload(self) -> None:
        self._decisions.clear()
        await super().reload()


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join([SEED, *(str(p) for p in parts)]))


class _Planner:
    def __init__(self, data: DemoData, now: datetime, tz: tzinfo, due_time: time) -> None:
        self.data = data
        self.now = now
        self.units = {u.key: u for u in data.units}
        self.tasks = {t.key: t for t in data.tasks}
        self.children: dict[str, list[TaskSpec]] = defaultdict(list)
        for task in data.tasks:
            if task.parent is not None:
                self.children[task.parent].append(task)
        self.acting: dict[str, str] = {}
        for account in (*data.accounts, *data.illustrative):
            if account.role != "inspector":
                self.acting.setdefault(account.unit, account.username)
        self.tz = tz
        self.due_time = due_time
        self.today = now.astimezone(tz).date()

    # -- who acts -------------------------------------------------------------------------

    def holder(self, unit: str | None, *, other_than: str | None = None) -> str:
        """The account at ``unit`` or the nearest one above it (not ``other_than``)."""
        current = unit
        while current is not None:
            found = self.acting.get(current)
            if found is not None and found != other_than:
                return found
            current = self.units[current].parent
        raise ValueError(f"no demo account acts at or above {unit!r}")

    # -- when -----------------------------------------------------------------------------

    def due(self, task: TaskSpec) -> datetime | None:
        if task.due_in_days is None:
            return None
        day = self.today + timedelta(days=task.due_in_days)
        return datetime.combine(day, self.due_time, tzinfo=self.tz)

    def office(self, day: date, rng: random.Random) -> datetime:
        moment = time(rng.randint(8, 11), rng.randint(0, 59))
        return datetime.combine(day, moment, tzinfo=self.tz)

    def record_times(self) -> dict[str, datetime]:
        """The earliest record pointing at each task: the task was issued before it."""
        earliest: dict[str, datetime] = {}
        for record in self.data.records:
            if record.task is None:
                continue
            day = self.today - timedelta(days=record.days_ago)
            moment = datetime.combine(day, record.start, tzinfo=self.tz)
            earliest[record.task] = min(moment, earliest.get(record.task, moment))
        return earliest

    def quota_records_filed(self) -> dict[str, datetime]:
        """When the last record of its quota's type was filed against each quota task (a day
        after it happened at the latest): the task is submitted only after it."""
        latest: dict[str, datetime] = {}
        for record in self.data.records:
            task = self.tasks.get(record.task or "")
            if task is None or task.quota_record_type is not record.type:
                continue
            day = self.today - timedelta(days=record.days_ago)
            moment = datetime.combine(day, record.start, tzinfo=self.tz) + DAY
            latest[task.key] = max(moment, latest.get(task.key, moment))
        return latest

    # -- the plan -------------------------------------------------------------------------

    def plan(self) -> Plan:
        plan = Plan()
        created = self.creation_times()
        groups = self.decomposition_groups()
        closes: dict[str, datetime] = {}
        # Children before parents: a parent is verified after its subtasks are closed.
        for task in reversed(self.data.tasks):
            closes[task.key] = self.task_steps(task, created[task.key], closes, plan)
        plan.steps = self.started_with_subtasks(plan.steps)
        plan.created = created
        self.creation_steps(created, groups, plan)
        plan.steps.sort(key=lambda s: s.at)
        first = min([*created.values(), *self.record_times().values()])
        plan.grants = self.grants(first)
        plan.accounts_from = plan.grants[0].at - HOUR
        return plan

    def creation_times(self) -> dict[str, datetime]:
        """When each task was issued: some days before it was due (or before now), before its
        records, after its parent, and at one time for subtasks made by one decomposition."""
        created: dict[str, datetime] = {}
        for task in self.data.tasks:
            rng = _rng(task.key, "created")
            due = self.due(task)
            end = min(due, self.now) if due is not None else self.now
            recent = task.status in (TaskStatus.ASSIGNED, TaskStatus.DRAFT) and (
                due is None or due > self.now
            )
            lead = rng.randint(3, 12) if recent else rng.randint(15, 45)
            created[task.key] = self.office((end - lead * DAY).astimezone(self.tz).date(), rng)
        for key, moment in self.record_times().items():
            if created[key] > moment - DAY:
                day = (moment - DAY * _rng(key, "record").randint(2, 6)).astimezone(self.tz)
                created[key] = self.office(day.date(), _rng(key, "record"))
        groups = self.decomposition_groups()
        changed = True
        while changed:
            changed = False
            for children in groups.values():
                together = min(created[c] for c in children)
                for child in children:
                    if created[child] != together:
                        created[child], changed = together, True
            for task in reversed(self.data.tasks):
                if task.parent is None:
                    continue
                latest = created[task.key] - DAY * _rng(task.key, "parent").randint(1, 4)
                if created[task.parent] > latest:
                    created[task.parent], changed = latest, True
        return created

    def decomposition_groups(self) -> dict[str, list[str]]:
        """Subtasks that are their parent split by unit (逐级分解): the parent's category and
        description, no quota, due no later than the parent. Two or more make a group."""
        groups: dict[str, list[str]] = {}
        for parent_key, children in self.children.items():
            parent = self.tasks[parent_key]
            due = parent.due_in_days
            fits = [
                c.key
                for c in children
                if c.category is parent.category
                and c.description == parent.description
                and c.quota_target is None
                and (c.due_in_days is None) == (due is None)
                and (due is None or (c.due_in_days is not None and c.due_in_days <= due))
            ]
            if len(fits) >= 2:
                groups[parent_key] = fits
        return groups

    def creation_steps(
        self, created: dict[str, datetime], groups: dict[str, list[str]], plan: Plan
    ) -> None:
        later = {
            s.tasks[0] for s in plan.steps if s.kind is Kind.ASSIGN
        }  # created without their assignee, assigned afterwards
        grouped = {child for children in groups.values() for child in children}
        for parent, children in groups.items():
            plan.steps.append(
                Step(
                    created[children[0]],
                    Kind.DECOMPOSE,
                    self.holder(self.tasks[parent].unit),
                    tuple(children),
                    assign_later=frozenset(c for c in children if c in later),
                )
            )
        for task in self.data.tasks:
            if task.key in grouped:
                continue
            creator = self.holder(task.issuer)
            plan.steps.append(
                Step(
                    created[task.key],
                    Kind.CREATE,
                    creator,
                    (task.key,),
                    assign_later=frozenset({task.key} & later),
                )
            )

    def task_steps(
        self, task: TaskSpec, created: datetime, closes: dict[str, datetime], plan: Plan
    ) -> datetime:
        """The steps after its creation that bring ``task`` to its status; when it closed."""
        rng = _rng(task.key, "steps")
        due = self.due(task)
        end = min(due, self.now) if due is not None else self.now
        end -= HOUR * rng.randint(2, 30)
        holder = self.holder(task.unit)
        issuer = self.holder(task.issuer)
        status = task.status
        actions: list[TaskAction] = []
        if status in (TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED, TaskStatus.REJECTED):
            actions.append(TaskAction.START)
        if status in (TaskStatus.SUBMITTED, TaskStatus.REJECTED):
            actions.append(TaskAction.SUBMIT)
        if status is TaskStatus.REJECTED:
            actions.append(TaskAction.REJECT)
        if status is TaskStatus.VERIFIED:
            actions += [TaskAction.START, TaskAction.SUBMIT]
            if rng.random() < 0.35:  # sent back once before it was signed off
                actions += [TaskAction.REJECT, TaskAction.START, TaskAction.SUBMIT]
            actions.append(TaskAction.VERIFY)
        if status is TaskStatus.CANCELLED:
            if rng.random() < 0.5:
                actions.append(TaskAction.START)
            actions.append(TaskAction.CANCEL)
        steps: list[Step] = []
        start = created
        if task.assignee is not None and status is not TaskStatus.DRAFT and rng.random() < 0.4:
            # the person is named a day or two later
            start = created + min(HOUR * rng.randint(20, 60), (end - created) / 3)
            steps.append(Step(start, Kind.ASSIGN, issuer, (task.key,)))
        if status is TaskStatus.DRAFT:  # handed back within the day it arrived
            steps.append(
                Step(
                    created + HOUR * rng.randint(1, 6),
                    Kind.TRANSITION,
                    holder,
                    (task.key,),
                    TaskAction.RETURN,
                    NOTES[TaskAction.RETURN],
                )
            )
        span = max(end - start, HOUR * (len(actions) + 1))
        fractions = sorted(rng.uniform(0.05, 0.95) for _ in actions)
        floor = self.submit_floor(task, closes, rng)
        submitter: str | None = None
        for number, (action, fraction) in enumerate(zip(actions, fractions, strict=True)):
            moment = start + span * fraction + timedelta(minutes=number)
            actor = holder
            if action in (TaskAction.REJECT, TaskAction.CANCEL):
                actor = issuer
            if action is TaskAction.VERIFY:
                actor = self.verifier(task, submitter)
            if action is TaskAction.SUBMIT:
                submitter = actor
            if submitter is not None and floor is not None:
                moment = max(moment, floor + timedelta(minutes=number))
            if steps and moment <= steps[-1].at:
                moment = steps[-1].at + timedelta(minutes=1)
            steps.append(
                Step(moment, Kind.TRANSITION, actor, (task.key,), action, NOTES.get(action))
            )
        closed = steps[-1].at if status in CLOSED_STATUSES and steps else self.now
        if due is not None and due < self.now and status not in CLOSED_STATUSES:
            self.overdue_steps(task, due, holder, issuer, steps, rng)
        latest = self.now - timedelta(minutes=1)
        for step in steps:
            if step.at >= latest:
                raise ValueError(f"{task.where}: a step of its history falls after the load")
        plan.steps += steps
        return closed

    def submit_floor(
        self, task: TaskSpec, closes: dict[str, datetime], rng: random.Random
    ) -> datetime | None:
        """The earliest a task is submitted: after its subtasks closed (every one of them, or
        the workflow refuses) and after the records its quota counts were filed."""
        children = self.children[task.key]
        submits = task.status in (TaskStatus.SUBMITTED, TaskStatus.REJECTED, TaskStatus.VERIFIED)
        still_open = [c for c in children if c.status not in CLOSED_STATUSES]
        if submits and still_open:
            raise ValueError(
                f"{task.where}: {task.status.value} with {len(still_open)} subtask(s) still open"
            )
        moments = [closes[c.key] + HOUR * rng.randint(2, 20) for c in children]
        filed = self.quota_records_filed().get(task.key)
        if filed is not None:
            moments.append(filed)
        return max(moments) if moments else None

    def started_with_subtasks(self, steps: list[Step]) -> list[Step]:
        """A parent starts with its first subtask to start (the workflow moves an ASSIGNED
        parent to IN_PROGRESS then): its own START, if later, is not taken."""
        first: dict[str, Step] = {}
        for step in sorted(steps, key=lambda s: s.at):
            if step.action is TaskAction.START:
                first.setdefault(step.tasks[0], step)
        started: dict[str, datetime] = {}
        for task in reversed(self.data.tasks):  # subtasks before their parents
            moments = [first[task.key].at] if task.key in first else []
            moments += [started[c.key] for c in self.children[task.key] if c.key in started]
            if not moments:
                continue
            started[task.key] = min(moments)
            if task.status in (TaskStatus.ASSIGNED, TaskStatus.DRAFT):
                raise ValueError(
                    f"{task.where}: a subtask has started, so it is no longer {task.status.value}"
                )
        taken_over = {id(step) for key, step in first.items() if started[key] < step.at}
        return [s for s in steps if id(s) not in taken_over]

    def verifier(self, task: TaskSpec, submitter: str | None) -> str:
        """The issuing side signs off; nobody verifies their own submission."""
        return self.holder(task.issuer, other_than=submitter)

    def overdue_steps(
        self,
        task: TaskSpec,
        due: datetime,
        holder: str,
        issuer: str,
        steps: list[Step],
        rng: random.Random,
    ) -> None:
        """An overdue task is urged by its issuer after the due date; most get a reply."""
        if task.status is TaskStatus.DRAFT:
            return
        after = max([due, *(s.at for s in steps)])
        room = self.now - after
        urged = after + room * rng.uniform(0.2, 0.5)
        steps.append(
            Step(
                urged, Kind.TRANSITION, issuer, (task.key,), TaskAction.URGE, NOTES[TaskAction.URGE]
            )
        )
        if rng.random() < 0.7:
            replied = urged + (self.now - urged) * rng.uniform(0.2, 0.6)
            steps.append(
                Step(
                    replied,
                    Kind.TRANSITION,
                    holder,
                    (task.key,),
                    TaskAction.REPLY,
                    NOTES[TaskAction.REPLY],
                )
            )

    def grants(self, first: datetime) -> list[GrantStep]:
        """Every account's grant, top-down, on the day before the first task was issued."""
        accounts = sorted(
            (*self.data.accounts, *self.data.illustrative),
            key=lambda a: (self.depth(a.unit), a.role != "county_admin"),
        )
        day = (first - 2 * DAY).astimezone(self.tz).date()
        moment = datetime.combine(day, time(8, 0), tzinfo=self.tz)
        steps = []
        bootstrapped = False
        for account in accounts:
            root = self.root(account.unit)
            admin = next(
                (
                    a.username
                    for a in self.data.accounts
                    if a.role == "county_admin" and a.unit == root
                ),
                None,
            )
            if account.username == admin or admin is None or not self.may_grant(account.role):
                steps.append(
                    GrantStep(
                        moment, account.username, account.role, account.unit, None, not bootstrapped
                    )
                )
                bootstrapped = True
            else:
                steps.append(GrantStep(moment, account.username, account.role, account.unit, admin))
            moment += timedelta(minutes=5)
        return steps

    def may_grant(self, role: str) -> bool:
        """Whether a county administrator holds every right of ``role`` (no escalation)."""
        held: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        for rule in read_role_policy():
            held[rule.role].add((rule.resource, rule.action, rule.level))
        admin = held["county_admin"]
        return all(
            (resource, action, ALL_LEVELS) in admin or (resource, action, level) in admin
            for resource, action, level in held[role]
        )

    def depth(self, unit: str) -> int:
        depth, current = 0, self.units[unit].parent
        while current is not None:
            depth, current = depth + 1, self.units[current].parent
        return depth

    def root(self, unit: str) -> str:
        while (parent := self.units[unit].parent) is not None:
            unit = parent
        return unit


def plan_history(data: DemoData, now: datetime, tz: tzinfo, due_time: time) -> Plan:
    """Every grant and task step of the demo's past, with its actor and time."""
    return _Planner(data, now, tz, due_time).plan()


# -- replaying the plan through the API's functions -----------------------------------------


class Replay:
    """Takes a plan's steps through the write paths, as the demo accounts, at past times."""

    def __init__(
        self,
        data: DemoData,
        engine: PolicyEngine,
        users: dict[str, User],
        units: dict[str, OrgUnit],
        people: dict[str, int],
        due: dict[str, datetime | None],
        filed: Callable[[str, int], Awaitable[None]] | None = None,
    ) -> None:
        self.data = data
        self.filed = filed  # writes the records filed against a task, once it exists
        self.engine = engine
        self.users = users
        self.units = units
        self.people = people
        self.due = due
        self.specs = {t.key: t for t in data.tasks}
        self.ids: dict[str, int] = {}
        self.last: dict[str, datetime] = {}

    def context(self, username: str | None) -> RequestContext:
        viewer = None
        if username is not None:
            user = self.users[username]
            viewer = Viewer(id=user.id, username=user.username, person_id=user.person_id)
        return RequestContext(viewer=viewer, policy=self.engine, request_id=REQUEST_ID)

    async def grants(self, steps: Iterable[GrantStep]) -> None:
        for step in steps:
            unit = self.units[step.unit]
            user = self.users[step.username]
            with clock.at(step.at):
                if step.bootstrap:
                    await bootstrap_grant(self.context(None), step.username, step.role, unit.code)
                elif step.granter is None:
                    # Nobody may grant this (a second root, or a role with a right no county
                    # administrator holds): the operator does, as it did the bootstrap.
                    await _write_grant(self.context(None), user, step.role, unit)
                else:
                    await grant_role(self.context(step.granter), user.id, step.role, unit.id)

    def new_task(self, key: str, *, with_assignee: bool, issued: datetime) -> NewTask:
        spec = self.specs[key]
        period = self.quota_period(key, issued)
        return NewTask(
            title=spec.title,
            category=spec.category,
            org_unit_id=self.units[spec.unit].id,
            description=spec.description,
            assignee_id=self.people[spec.assignee] if spec.assignee and with_assignee else None,
            due_at=self.due[key],
            parent_id=self.ids[spec.parent] if spec.parent else None,
            quota_target=spec.quota_target,
            quota_record_type=spec.quota_record_type,
            quota_from=period[0] if period else None,
            quota_to=period[1] if period else None,
        )

    def quota_period(self, key: str, issued: datetime) -> tuple[date, date] | None:
        """A demo quota counts from the day its task is issued to its due day (Beijing time),
        so that its figures do not depend on the day the demo is loaded; without a due date,
        the API's default (the calendar year of its creation)."""
        due = self.due[key]
        if self.specs[key].quota_target is None or due is None:
            return None
        return issued.astimezone(due.tzinfo).date(), due.date()  # the due moment is Beijing's

    async def steps(self, steps: Iterable[Step]) -> None:
        for step in steps:
            above = self.ancestors(step.tasks[0]) if step.action is TaskAction.START else []
            before = await self.statuses(above)
            try:
                await self.step(step)
            except DomainError as error:
                where = self.specs[step.tasks[0]].where
                raise ValueError(
                    f"{where}: {step.action or step.kind} by {step.actor} refused: "
                    f"{error.code.value} {error.message}"
                ) from error
            touched = {*step.tasks}
            if above:  # started with it (``resolvers.task_chain.start_parents``)
                after = await self.statuses(above)
                touched |= {key for key in above if after[key] != before[key]}
            if step.kind in (Kind.CREATE, Kind.DECOMPOSE):  # a new subtask claims its parent
                touched |= {p for k in step.tasks if (p := self.specs[k].parent) is not None}
            for key in touched:
                self.last[key] = step.at

    async def step(self, step: Step) -> None:
        context = self.context(step.actor)
        with clock.at(step.at):
            if step.kind is Kind.CREATE:
                (key,) = step.tasks
                new = self.new_task(key, with_assignee=key not in step.assign_later, issued=step.at)
                self.created(key, await create_task(context, new))
                await self.records_for([key])
            elif step.kind is Kind.DECOMPOSE:
                parent = self.specs[step.tasks[0]].parent or ""
                parts = []
                for key in step.tasks:
                    new = self.new_task(
                        key, with_assignee=key not in step.assign_later, issued=step.at
                    )
                    parts.append(Part(new.org_unit_id, new.title, new.assignee_id, new.due_at))
                made = await decompose_task(context, self.ids[parent], parts, None)
                for key, task in zip(step.tasks, made, strict=True):
                    self.created(key, task)
                await self.records_for(step.tasks)
            elif step.kind is Kind.ASSIGN:
                (key,) = step.tasks
                assignee = self.people[self.specs[key].assignee or ""]
                await assign_task(context, self.ids[key], None, assignee, None)
            else:
                (key,) = step.tasks
                assert step.action is not None
                await transition_task(context, self.ids[key], step.action, step.note, None)

    def ancestors(self, key: str) -> list[str]:
        found = []
        while (parent := self.specs[key].parent) is not None:
            found.append(parent)
            key = parent
        return found

    async def statuses(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = dict(
            await Task.filter(id__in=[self.ids[k] for k in keys]).values_list("id", "status")
        )
        return {key: str(rows[self.ids[key]]) for key in keys}

    def created(self, key: str, task: Task) -> None:
        spec = self.specs[key]
        if task.issuer_unit_id != self.units[spec.issuer].id:
            raise ValueError(f"{spec.where}: issued by another unit than {spec.issuer!r}")
        self.ids[key] = task.id
        self.last[key] = task.created_at

    async def records_for(self, keys: Iterable[str]) -> None:
        if self.filed is not None:
            for key in keys:
                await self.filed(key, self.ids[key])

    async def settle(self) -> None:
        """Each task was last changed at its last step, and ends in the status of the files.

        ``updated_at`` is stamped by the ORM on insert; the history's own time replaces it.
        """
        for key, task_id in self.ids.items():
            await Task.filter(id=task_id).update(updated_at=self.last[key])
        statuses = dict(
            await Task.filter(id__in=list(self.ids.values())).values_list("id", "status")
        )
        for key, task_id in self.ids.items():
            if statuses[task_id] != self.specs[key].status:
                raise ValueError(
                    f"{self.specs[key].where}: the history ends in {statuses[task_id]}, "
                    f"not {self.specs[key].status}"
                )


# -- the upward loop: issues reported by the grid leader of 石龙村一组 ------------------------


@dataclass(frozen=True)
class ReportedIssue:
    """An issue the demo grid leader reported to 石龙村, and how far it has got.

    The village hands it to the reporter's grid (the grid leader and its households clean
    up) and verifies that work; the report is then closed with ``feedback``."""

    title: str
    description: str
    category: TaskCategory
    days_ago: int  # reported on that day, at 09:10 Beijing time
    subtask: str  # the title of the part handed down to 石龙村一组
    feedback: str | None  # None: still being handled


REPORTER: Final = "grid_leader"
RECEIVER: Final = "village_sec"
CLOSER: Final = "zhaxi_head"
REPORTED_FROM: Final = "shilong_g1"
REPORTED_ISSUES: Final = (
    ReportedIssue(
        title="石龙村一组河段岸边发现倾倒生活垃圾",
        description="巡河发现一组河段下游岸边倾倒两袋生活垃圾，网格内无法当日清运，请村里安排。",
        category=TaskCategory.POLLUTION_TREATMENT,
        days_ago=9,
        subtask="一组河段岸边垃圾清运",
        feedback="已安排一组网格和保洁员清运完毕，并在岸边增设“禁止倾倒”警示牌。",
    ),
    ReportedIssue(
        title="一组河段疑似电鱼痕迹",
        description="夜间巡河发现岸边有电鱼器具包装和死鱼，请村里协调禁渔巡查。",
        category=TaskCategory.FISHING_BAN,
        days_ago=2,
        subtask="一组河段禁渔夜间加密巡查",
        feedback=None,
    ),
)
# The tasks each reported issue adds to the demo: the report and the part handed down.
REPORTED_TASKS: Final = 2 * len(REPORTED_ISSUES)


async def replay_reports(replay: Replay, today: date, tz: tzinfo) -> dict[str, int]:
    """Each issue through the API's functions, as the accounts that act, at past times: the
    grid leader reports it, the village hands it to the grid as a subtask and starts on it, the
    grid does the work, the village verifies it and submits the report, and 扎西镇 (the village
    signs off nobody's work it submitted itself) closes it with feedback. The ids by title."""
    ids: dict[str, int] = {}
    for issue in REPORTED_ISSUES:
        day = today - timedelta(days=issue.days_ago)

        def at(hours: float, day: date = day) -> datetime:
            return datetime.combine(day, time(9, 10), tzinfo=tz) + timedelta(hours=hours)

        unit = replay.units[REPORTED_FROM]
        spec = NewReport(
            title=issue.title,
            description=issue.description,
            category=issue.category,
            org_unit_id=unit.id,
        )
        with clock.at(at(0)):
            report = await report_issue(replay.context(REPORTER), spec)
        part_spec = NewTask(
            title=issue.subtask,
            category=issue.category,
            org_unit_id=unit.id,
            description=issue.description,
            parent_id=report.id,
        )
        with clock.at(at(5)):
            part = await create_task(replay.context(RECEIVER), part_spec)
        last = {report.id: at(5), part.id: at(5)}
        steps: list[tuple[str, int, TaskAction, float, str | None]] = [
            (RECEIVER, report.id, TaskAction.START, 5.5, None),
            (REPORTER, part.id, TaskAction.START, 23, None),
        ]
        if issue.feedback is not None:
            steps += [
                (REPORTER, part.id, TaskAction.SUBMIT, 30, None),
                (RECEIVER, part.id, TaskAction.VERIFY, 48, None),
                (RECEIVER, report.id, TaskAction.SUBMIT, 48.5, None),
                (CLOSER, report.id, TaskAction.VERIFY, 72, issue.feedback),
            ]
        for actor, task_id, action, hours, feedback in steps:
            with clock.at(at(hours)):
                await transition_task(
                    replay.context(actor), task_id, action, None, None, feedback=feedback
                )
            last[task_id] = at(hours)
        for task_id, moment in last.items():
            await Task.filter(id=task_id).update(updated_at=moment)
        ids[issue.title] = report.id
    return ids


# -- complaints from the public ----------------------------------------------------------------


@dataclass(frozen=True)
class PublicComplaint:
    """A complaint sent from a river sign's QR code, and how far its handling got."""

    segment: str  # the water body's code
    description: str
    contact: str
    days_ago: int  # received that day, at 08:30 Beijing time
    started: bool  # the township took it up
    feedback: str | None  # None: still open


# The township takes a complaint up and does the work; the county's river chief office signs
# it off with the feedback the receipt's holder reads.
COMPLAINT_HANDLER: Final = {"daoliu_luobu": "luobu_head", "zhaxi_river_town": "zhaxi_head"}
COMPLAINT_CLOSER: Final = "county_admin"
PUBLIC_COMPLAINTS: Final = (
    PublicComplaint(
        segment="daoliu_luobu",
        description="倒流河罗布段坪坝大桥下的河滩上堆了好几袋生活垃圾，涨水就会冲进河里。"
        "（扫河长公示牌二维码投诉）",
        contact="13987650123",
        days_ago=12,
        started=True,
        feedback="已组织坪坝村保洁员和党员志愿者清运河滩垃圾约0.6吨，并在桥头增设垃圾收集点。"
        "感谢您的监督。",
    ),
    PublicComplaint(
        segment="daoliu_luobu",
        description="倒流河罗布段河面漂着死鱼，有异味，怀疑上游有人电鱼或排污。",
        contact="",
        days_ago=3,
        started=True,
        feedback=None,
    ),
    PublicComplaint(
        segment="zhaxi_river_town",
        description="扎西河城区段河堤边有人倾倒建筑垃圾。",
        contact="13508701234",
        days_ago=1,
        started=False,
        feedback=None,
    ),
)
COMPLAINT_TASKS: Final = len(PUBLIC_COMPLAINTS)
# The demo's receipts are fixed, so the docs can cite one; a real receipt comes from secrets.
DEMO_RECEIPTS: Final = tuple(
    new_receipt(random.Random(f"riverchief-demo-complaint-{n}"))
    for n in range(len(PUBLIC_COMPLAINTS))
)
DEMO_COMPLAINT_LIMIT: Final = ComplaintSettings(limit=len(PUBLIC_COMPLAINTS))


async def replay_complaints(replay: Replay, today: date, tz: tzinfo) -> dict[str, int]:
    """Each complaint as the public sent it (no account), and its township taking it up and
    closing it with feedback for the receipt's holder. The task ids by receipt."""
    ids: dict[str, int] = {}
    for complaint, receipt in zip(PUBLIC_COMPLAINTS, DEMO_RECEIPTS, strict=True):
        received = datetime.combine(
            today - timedelta(days=complaint.days_ago), time(8, 30), tzinfo=tz
        )
        spec = NewComplaint(
            segment_code=complaint.segment,
            description=complaint.description,
            contact=complaint.contact,
        )
        with clock.at(received):
            await submit_complaint(
                replay.context(None), spec, settings=DEMO_COMPLAINT_LIMIT, receipt=receipt
            )
        task = await Task.get(complaint__receipt_hash=receipt_hash(receipt))
        handler = COMPLAINT_HANDLER[complaint.segment]
        steps: list[tuple[str, TaskAction, float, str | None]] = []
        if complaint.started:
            steps.append((handler, TaskAction.START, 3.0, None))
        if complaint.feedback is not None:  # handled, then signed off by someone else
            steps.append((handler, TaskAction.SUBMIT, 26.0, None))
            steps.append((COMPLAINT_CLOSER, TaskAction.VERIFY, 28.0, complaint.feedback))
        last = received
        for actor, action, hours, feedback in steps:
            last = received + timedelta(hours=hours)
            with clock.at(last):
                await transition_task(
                    replay.context(actor), task.id, action, None, None, feedback=feedback
                )
        await Task.filter(id=task.id).update(updated_at=last)
        ids[receipt] = task.id
    return ids


def accounts_of(data: DemoData) -> list[AccountSpec]:
    return [*data.accounts, *data.illustrative]


# -- the reminders the periodic job wrote ------------------------------------------------------

CLEANUP_DAYS: Final = ("FRI",)  # the 1110 mechanism's Friday clean-ups
CLEANUP_LEVELS: Final = ("VILLAGE", "GRID")
CLEANUP_MORNING: Final = time(8, 0)


async def remind(now: datetime, tz: tzinfo, since: datetime | None) -> None:
    """What ``riverchief notify-due`` wrote by ``now``: the last clean-up Friday's reminders,
    at 08:00 that day (if the accounts held their grants by then, ``since``), and a reminder of
    every task overdue now. The task changes' own notices (new tasks, urges, returns) were
    written by the replayed changes themselves, at their times."""
    today = now.astimezone(tz).date()
    friday = today - timedelta(days=(today.weekday() - 4) % 7)
    morning = datetime.combine(friday, CLEANUP_MORNING, tzinfo=tz)
    if morning > now:
        morning -= timedelta(days=7)
    if since is None or morning > since:
        await remind_cleanup(CLEANUP_DAYS, CLEANUP_LEVELS, morning)
    await remind_overdue(now)
