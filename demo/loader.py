"""Loads the demo dataset (Weixin county, Yangzonghai) from ``demo/data/*.yaml``.

The data files are for people to read and edit, so this module does two separate things:
``read_demo`` checks every file and resolves nothing but keys, raising a ``DemoDataError``
that names the file and the entry; ``load_demo`` writes what was read into an empty database
in one transaction. Entries refer to each other by stable string keys, never by ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

import yaml
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from core import clock
from core.security import hash_password
from demo.geometry import GEOMETRY_FILE, Geometries, read_geometries
from demo.history import (
    DemoEngine,
    Replay,
    accounts_of,
    plan_history,
    remind,
    replay_complaints,
    replay_reports,
)
from models.enums import (
    Aggregation,
    LinkKind,
    OrgLevel,
    RecordType,
    TaskCategory,
    TaskStatus,
    WaterKind,
)
from models.indicator import Indicator, Observation
from models.org import HierarchyError, OrgLink, OrgUnit, WaterBody, check_parent
from models.people import Person, User
from models.record import AccountabilityRecord
from models.record_shown import shown_details
from models.task import Task
from policies.engine import ROLES, read_role_policy
from policies.rights import FIELD_WORK, JUDGEMENTS, RECORD_RIGHTS
from policies.store import adopt_untracked_grants, policy_is_empty
from resolvers.indicator_sums import add_observations
from resolvers.observations import cleanup_day, cleanup_figures
from resolvers.role_policy import seed_role_policy

DEMO_DIR: Final = Path(__file__).parent / "data"
REGION_FILES: Final = ("weixin.yaml", "yangzonghai.yaml")
ACCOUNTS_FILE: Final = "accounts.yaml"
TASKS_FILE: Final = "tasks.yaml"
RECORDS_FILE: Final = "records.yaml"
INDICATORS_FILE: Final = "indicators.yaml"

# Times in the files are local to the programmes (Yunnan); the database stores UTC.
BEIJING: Final = timezone(timedelta(hours=8), "CST")
DUE_TIME: Final = time(18, 0)
DEFAULT_START: Final = time(9, 0)
FILED_AFTER: Final = timedelta(hours=1)
SIX_GOODS: Final = "six_goods"

# The role of an illustrative account (``DemoData.illustrative``) by its unit's level, and
# the end of its username (``<unit key>_<suffix>``).
ILLUSTRATIVE_ROLES: Final = {
    OrgLevel.TOWNSHIP: "township_head",
    OrgLevel.VILLAGE: "village_secretary",
    OrgLevel.GRID: "grid_leader",
    OrgLevel.DEPARTMENT: "department_head",
    OrgLevel.ENTERPRISE: "enterprise_chief",
}
SUBMITTED_STATUSES: Final = frozenset(
    {TaskStatus.SUBMITTED, TaskStatus.REJECTED, TaskStatus.VERIFIED}
)
ILLUSTRATIVE_SUFFIX: Final = {
    "township_head": "head",
    "village_secretary": "sec",
    "grid_leader": "leader",
    "department_head": "head",
    "enterprise_chief": "chief",
}


class DemoDataError(ValueError):
    """A data file is malformed; the message names the file and the entry."""


def _fail(where: str, message: str) -> NoReturn:
    raise DemoDataError(f"{where}: {message}")


# -- what the files hold, once checked ----------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    key: str
    code: str
    name: str
    level: OrgLevel
    parent: str | None
    where: str


@dataclass(frozen=True)
class PersonSpec:
    key: str
    unit: str
    name: str
    title: str
    party_member: bool
    phone: str
    id_number: str
    where: str


@dataclass(frozen=True)
class LinkSpec:
    unit: str
    kind: LinkKind
    partner: str | None
    water_body: str | None
    note: str
    where: str
    person: str | None = None  # a KEY_PROJECT's county leader


@dataclass
class WaterSpec:
    key: str
    code: str
    name: str
    kind: WaterKind
    parent: str | None
    length_km: Decimal | None
    units: list[str]
    where: str


@dataclass(frozen=True)
class AccountSpec:
    username: str
    role: str
    unit: str
    person: str
    where: str


@dataclass(frozen=True)
class TaskSpec:
    key: str
    title: str
    description: str
    category: TaskCategory
    status: TaskStatus
    unit: str
    issuer: str
    parent: str | None
    assignee: str | None
    due_in_days: int | None
    quota_target: int | None
    quota_record_type: RecordType | None
    where: str


@dataclass(frozen=True)
class RecordSpec:
    key: str
    type: RecordType
    unit: str
    days_ago: int
    start: time
    summary: str
    details: dict[str, Any]
    person: str | None
    author: str | None
    task: str | None
    water_body: str | None
    corrects: str | None
    flag_reason: str
    where: str
    authority: str | None = None  # the unit of the author's grant, once checked
    # Instead of ``days_ago``: the day of the month before the load's (the last day of a
    # shorter month), so that the last full month always holds the record (``last_month``).
    last_month_day: int | None = None


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    name: str
    unit: str
    aggregation: Aggregation
    dimension_name: str
    where: str


@dataclass(frozen=True)
class ObservationSpec:
    indicator: str
    unit: str
    period: date
    dimension: str
    value: Decimal
    where: str


@dataclass(frozen=True)
class Figure:
    """An indicator's rollup at one unit: the total and, for a dimension, each key's share."""

    total: Decimal
    by_dimension: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedFigures:
    """The published figures the demo observations must reproduce at ``unit``."""

    unit: str
    unit_name: str
    figures: dict[str, Figure]


@dataclass
class DemoData:
    """Everything in the data files, checked, in an order that can be written top-down."""

    password: str = ""
    units: list[UnitSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)
    links: list[LinkSpec] = field(default_factory=list)
    water: list[WaterSpec] = field(default_factory=list)
    accounts: list[AccountSpec] = field(default_factory=list)
    # Accounts the loader adds for the heads of units that hold demo tasks but have no demo
    # account, so that every step of a task's history has someone to take it.
    illustrative: list[AccountSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    records: list[RecordSpec] = field(default_factory=list)
    indicators: list[IndicatorSpec] = field(default_factory=list)
    observations: list[ObservationSpec] = field(default_factory=list)
    seed: SeedFigures | None = None
    geometries: Geometries = field(default_factory=Geometries)


# -- reading one entry --------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


class _Entry:
    """One mapping of a data file, read with errors that say where it came from."""

    def __init__(self, raw: object, where: str, allowed: Iterable[str]) -> None:
        if not isinstance(raw, dict):
            _fail(where, f"expected a mapping, got {type(raw).__name__}")
        unknown = sorted(str(k) for k in raw if k not in set(allowed))
        if unknown:
            _fail(where, f"unknown field(s) {', '.join(unknown)}")
        self.raw: dict[str, Any] = raw
        self.where = where

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw.get(name, default)
        if value is None:
            _fail(self.where, f"{name} is required")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            _fail(self.where, f"{name} must be text")
        return str(value)

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(self.where, f"{name} must be a whole number")
        return value

    def optional_integer(self, name: str) -> int | None:
        return self.integer(name) if self.has(name) else None

    def decimal(self, name: str) -> Decimal:
        return _decimal(self.raw.get(name), f"{self.where}: {name}")

    def flag(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            _fail(self.where, f"{name} must be true or false")
        return value

    def items(self, name: str) -> list[Any]:
        value = self.raw.get(name) or []
        if not isinstance(value, list):
            _fail(self.where, f"{name} must be a list")
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            _fail(self.where, f"{name} must be a mapping")
        return value

    def choice(self, name: str, enum: type[E], default: E | None = None) -> E:
        value = self.raw.get(name, default)
        if isinstance(value, str) and value in enum.__members__.values():
            return enum(value)
        allowed = " ".join(member.value for member in enum)
        _fail(self.where, f"bad {name} {value!r} (one of: {allowed})")


def _fits(where: str, model: type[Model], **values: str) -> None:
    """Check text against its column's length here, where the error can name the entry."""
    for name, value in values.items():
        limit = getattr(model._meta.fields_map[name], "max_length", None)
        if limit is not None and len(value) > limit:
            _fail(where, f"{name} has {len(value)} characters, more than {limit}")


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _fail(where, "must be a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        _fail(where, f"{value!r} is not a number")


def _load_yaml(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(name, f"cannot read: {exc}")
    except yaml.YAMLError as exc:
        _fail(name, f"not valid YAML: {exc}")
    if not isinstance(content, dict):
        _fail(name, "expected a mapping at the top level")
    return content


# -- reading the files --------------------------------------------------------------------

UNIT_FIELDS: Final = (
    "key",
    "code",
    "name",
    "level",
    "children",
    "people",
    "links",
    "grids",
    "demonstration",
)
PERSON_FIELDS: Final = ("key", "name", "title", "party", "phone", "id_number")
LINK_FIELDS: Final = ("kind", "partner", "water_body", "person", "note")
WATER_FIELDS: Final = ("key", "code", "name", "kind", "length_km", "units", "children")
TASK_FIELDS: Final = (
    "key",
    "title",
    "description",
    "category",
    "status",
    "unit",
    "issuer",
    "assignee",
    "due_in_days",
    "quota",
    "subtasks",
)
RECORD_FIELDS: Final = (
    "key",
    "type",
    "unit",
    "days_ago",
    "last_month_day",
    "start",
    "summary",
    "details",
    "person",
    "author",
    "task",
    "water_body",
    "corrects",
    "flag_reason",
)


@dataclass(frozen=True)
class _Demonstration:
    """A demonstration village's entry, expanded once the tasks are known."""

    village: str
    river: str
    scores: list[Any]
    status: TaskStatus
    config: dict[str, Any]
    where: str


class _Reader:
    """Reads every file into a ``DemoData``, checking keys as it goes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = DemoData()
        self.units: dict[str, UnitSpec] = {}
        self.codes: set[str] = set()
        self.people: dict[str, PersonSpec] = {}
        self.people_at: dict[str, list[PersonSpec]] = defaultdict(list)
        self.water: dict[str, WaterSpec] = {}
        self.accounts: dict[str, AccountSpec] = {}
        self.tasks: dict[str, TaskSpec] = {}
        self.records: dict[str, RecordSpec] = {}
        self.demonstrations: list[_Demonstration] = []
        self.rights: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for rule in read_role_policy():
            self.rights[rule.role].add((rule.resource, rule.action))

    def read(self) -> DemoData:
        for name in REGION_FILES:
            self._region(name)
        self._check_links_and_water()
        self._geometries()
        self._accounts()
        self._tasks()
        self._records()
        self._demonstrations()
        self._illustrative_accounts()
        self._indicators()
        self.data.units = list(self.units.values())
        return self.data

    # -- the regions: units, people, links, water bodies ----------------------------------

    def _region(self, name: str) -> None:
        content = _load_yaml(self.directory, name)
        top = _Entry(content, name, ("units", "water_bodies", "demonstration"))
        config = top.mapping("demonstration")
        for raw in top.items("units"):
            self._unit(raw, None, name, config)
        for raw in top.items("water_bodies"):
            self._water_body(raw, None, name)

    def _unit(
        self, raw: object, parent: UnitSpec | None, file: str, config: dict[str, Any]
    ) -> None:
        key = raw.get("key") if isinstance(raw, dict) else None
        where = f"{file}: unit {key!r}"
        entry = _Entry(raw, where, UNIT_FIELDS)
        key = entry.text("key")
        level = entry.choice("level", OrgLevel)
        unit = self._add_unit(
            UnitSpec(
                key,
                entry.text("code", key),
                entry.text("name"),
                level,
                parent.key if parent else None,
                where,
            ),
            parent,
        )
        for person in entry.items("people"):
            self._person(person, unit, file)
        for link in entry.items("links"):
            self._link(link, unit, file)
        for number, grid_name in enumerate(entry.items("grids"), start=1):
            if not isinstance(grid_name, str):
                _fail(where, "grids lists grid names")
            self._add_unit(
                UnitSpec(
                    f"{key}_g{number}",
                    f"{key}_g{number}",
                    f"{unit.name}{grid_name}",
                    OrgLevel.GRID,
                    key,
                    f"{where}, grid {grid_name!r}",
                ),
                unit,
            )
        if entry.has("demonstration"):
            self._demonstration(entry, unit, config)
        for child in entry.items("children"):
            self._unit(child, unit, file, config)

    def _add_unit(self, unit: UnitSpec, parent: UnitSpec | None) -> UnitSpec:
        if unit.key in self.units:
            _fail(unit.where, f"key {unit.key!r} is used twice")
        if unit.code in self.codes:
            _fail(unit.where, f"code {unit.code!r} is used twice")
        _fits(unit.where, OrgUnit, code=unit.code, name=unit.name)
        try:
            check_parent(unit.level, parent.level if parent else None)
        except HierarchyError as exc:
            _fail(unit.where, f"bad level: {exc}")
        self.units[unit.key] = unit
        self.codes.add(unit.code)
        return unit

    def _person(self, raw: object, unit: UnitSpec, file: str) -> None:
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{file}: unit {unit.key!r}, person {name!r}"
        entry = _Entry(raw, where, PERSON_FIELDS)
        name = entry.text("name")
        if any(p.name == name for p in self.people_at[unit.key]):
            _fail(where, "two people of the same name at one unit")
        person = PersonSpec(
            key=entry.text("key", f"{unit.key}:{name}"),
            unit=unit.key,
            name=name,
            title=entry.text("title", ""),
            party_member=entry.flag("party"),
            phone=entry.text("phone", ""),
            id_number=entry.text("id_number", ""),
            where=where,
        )
        if person.key in self.people:
            _fail(where, f"person key {person.key!r} is used twice")
        _fits(
            where,
            Person,
            name=person.name,
            title=person.title,
            phone=person.phone,
            id_number=person.id_number,
        )
        self.people[person.key] = person
        self.people_at[unit.key].append(person)
        self.data.people.append(person)

    def _link(self, raw: object, unit: UnitSpec, file: str) -> None:
        where = f"{file}: unit {unit.key!r}, link"
        entry = _Entry(raw, where, LINK_FIELDS)
        kind = entry.choice("kind", LinkKind)
        partner, water_body = entry.optional_text("partner"), entry.optional_text("water_body")
        person = entry.optional_text("person")
        if kind is LinkKind.KEY_PROJECT:
            if person is None or partner is not None or water_body is not None:
                _fail(where, "a KEY_PROJECT link names a person (the county leader) and no more")
            if not entry.text("note", ""):
                _fail(where, "a KEY_PROJECT link names its project in `note`")
        elif person is not None:
            _fail(where, f"a {kind.value} link names no person")
        elif kind is LinkKind.CO_BUILDING and (partner is None or water_body is not None):
            _fail(where, "a CO_BUILDING link names a partner unit and no water body")
        elif kind is not LinkKind.CO_BUILDING and (water_body is None or partner is not None):
            _fail(where, f"a {kind.value} link names a water body and no partner unit")
        note = entry.text("note", "")
        _fits(where, OrgLink, note=note)
        self.data.links.append(
            LinkSpec(unit.key, kind, partner, water_body, note, where, person=person)
        )

    def _water_body(self, raw: object, parent: WaterSpec | None, file: str) -> None:
        key = raw.get("key") if isinstance(raw, dict) else None
        where = f"{file}: water body {key!r}"
        entry = _Entry(raw, where, WATER_FIELDS)
        key = entry.text("key")
        if key in self.water:
            _fail(where, f"key {key!r} is used twice")
        units = entry.items("units")
        if not all(isinstance(u, str) for u in units):
            _fail(where, "units lists unit keys")
        body = WaterSpec(
            key=key,
            code=entry.text("code", key),
            name=entry.text("name"),
            kind=entry.choice("kind", WaterKind),
            parent=parent.key if parent else None,
            length_km=entry.decimal("length_km") if entry.has("length_km") else None,
            units=list(units),
            where=where,
        )
        if body.code in {w.code for w in self.water.values()}:
            _fail(where, f"code {body.code!r} is used twice")
        _fits(where, WaterBody, code=body.code, name=body.name)
        self.water[key] = body
        self.data.water.append(body)
        for child in entry.items("children"):
            self._water_body(child, body, file)

    def _geometries(self) -> None:
        content = _load_yaml(self.directory, GEOMETRY_FILE)
        geometries, problem = read_geometries(content, set(self.water), set(self.units))
        if problem is not None or geometries is None:
            _fail(GEOMETRY_FILE, problem or "unreadable")
        self.data.geometries = geometries

    def _check_links_and_water(self) -> None:
        for body in self.data.water:
            for unit in body.units:
                self._unit_key(unit, body.where)
        for link in self.data.links:
            if link.partner is not None:
                self._unit_key(link.partner, link.where)
                if self.within(link.partner, link.unit) or self.within(link.unit, link.partner):
                    _fail(link.where, f"{link.partner!r} is not outside the unit's own line")
            if link.water_body is not None:
                self._water_key(link.water_body, link.where)
            if link.person is not None:
                self._person_key(link.person, link.where)
                leader = self.people[link.person].unit
                if self.units[leader].level is not OrgLevel.COUNTY:
                    _fail(link.where, f"{link.person!r} is not a county leader")

    def _demonstration(self, entry: _Entry, unit: UnitSpec, config: dict[str, Any]) -> None:
        if unit.level is not OrgLevel.VILLAGE:
            _fail(entry.where, "only a village can be a demonstration village")
        if not config:
            _fail(entry.where, "a demonstration village needs the file's demonstration section")
        demo = _Entry(
            entry.raw["demonstration"],
            f"{entry.where}, demonstration",
            ("river", "scores", "status"),
        )
        self.demonstrations.append(
            _Demonstration(
                unit.key,
                demo.text("river"),
                demo.items("scores"),
                demo.choice("status", TaskStatus),
                config,
                demo.where,
            )
        )

    # -- accounts -------------------------------------------------------------------------

    def _accounts(self) -> None:
        top = _Entry(
            _load_yaml(self.directory, ACCOUNTS_FILE), ACCOUNTS_FILE, ("password", "accounts")
        )
        self.data.password = top.text("password")
        for raw in top.items("accounts"):
            name = raw.get("username") if isinstance(raw, dict) else None
            where = f"{ACCOUNTS_FILE}: account {name!r}"
            entry = _Entry(raw, where, ("username", "person", "role", "unit"))
            account = AccountSpec(
                entry.text("username"),
                entry.text("role"),
                entry.text("unit"),
                entry.text("person"),
                where,
            )
            if account.username in self.accounts:
                _fail(where, "username used twice")
            _fits(where, User, username=account.username)
            if account.role not in ROLES:
                _fail(where, f"unknown role {account.role!r} (one of: {' '.join(ROLES)})")
            self._unit_key(account.unit, where)
            self._person_key(account.person, where)
            self.accounts[account.username] = account
            self.data.accounts.append(account)

    def _illustrative_accounts(self) -> None:
        """An account for the first person of each unit that submits a demo task (it is
        SUBMITTED, REJECTED or VERIFIED) or issues one of its own, and has no demo account,
        with the role of its level: work is submitted by its own unit, so the issuing side signs
        off on someone else's, and a task is issued by an account of its issuing unit.
        Other steps at units without an account are taken by the nearest account above."""
        served = {a.unit for a in self.data.accounts}
        used = set(self.accounts)
        for unit in self.units.values():
            role = ILLUSTRATIVE_ROLES.get(unit.level)
            people = self.people_at[unit.key]
            holds = any(
                (t.unit == unit.key and t.status in SUBMITTED_STATUSES)
                or (t.issuer == unit.key and t.parent is None)
                for t in self.data.tasks
            )
            if role is None or not people or not holds or unit.key in served:
                continue
            username = f"{unit.key}_{ILLUSTRATIVE_SUFFIX[role]}"
            where = f"illustrative account {username!r} of unit {unit.key!r}"
            if username in used:
                _fail(where, "username used twice")
            _fits(where, User, username=username)
            used.add(username)
            self.data.illustrative.append(
                AccountSpec(username, role, unit.key, people[0].key, where)
            )

    # -- tasks ----------------------------------------------------------------------------

    def _tasks(self) -> None:
        top = _Entry(_load_yaml(self.directory, TASKS_FILE), TASKS_FILE, ("tasks",))
        for number, raw in enumerate(top.items("tasks"), start=1):
            self._task(raw, None, f"{TASKS_FILE}#{number}")

    def _task(self, raw: object, parent: TaskSpec | None, path: str) -> None:
        title = raw.get("title") if isinstance(raw, dict) else None
        where = f"{TASKS_FILE}: task {title!r}"
        entry = _Entry(raw, where, TASK_FIELDS)
        unit = self._unit_key(entry.text("unit"), where)
        if parent is None and not entry.has("issuer"):
            _fail(where, "a top-level task names its issuer")
        issuer = self._unit_key(entry.text("issuer", parent.unit if parent else None), where)
        quota = _Entry(entry.mapping("quota"), f"{where}, quota", ("target", "record_type"))
        task = TaskSpec(
            key=entry.text("key", path),
            title=entry.text("title"),
            description=entry.text("description", ""),
            category=entry.choice("category", TaskCategory),
            status=entry.choice("status", TaskStatus),
            unit=unit,
            issuer=issuer,
            parent=parent.key if parent else None,
            assignee=self._person_key(entry.optional_text("assignee"), where),
            due_in_days=entry.optional_integer("due_in_days"),
            quota_target=quota.optional_integer("target"),
            quota_record_type=(
                quota.choice("record_type", RecordType) if quota.has("record_type") else None
            ),
            where=where,
        )
        self._add_task(task)
        for number, child in enumerate(entry.items("subtasks"), start=1):
            self._task(child, task, f"{path}.{number}")

    def _add_task(self, task: TaskSpec) -> None:
        if task.key in self.tasks:
            _fail(task.where, f"task key {task.key!r} is used twice")
        _fits(task.where, Task, title=task.title)
        if not self.within(task.unit, task.issuer) and not any(
            self.within(task.unit, unit) for unit in self.basin_units(task.issuer)
        ):
            _fail(
                task.where,
                f"issuer {task.issuer!r} is not {task.unit!r}, above it, or a basin committee "
                "whose basin runs through it",
            )
        if task.parent is not None and not self.within(task.unit, self.tasks[task.parent].unit):
            _fail(task.where, "a subtask's unit lies inside its parent task's unit")
        if task.assignee is not None and not self.within(
            self.people[task.assignee].unit, task.unit
        ):
            _fail(task.where, f"the assignee {task.assignee!r} is not of the task's unit")
        if (task.quota_target is None) != (task.quota_record_type is None):
            _fail(task.where, "a quota needs both a target and a record type")
        if task.quota_target is not None and task.quota_target <= 0:
            _fail(task.where, "a quota target is positive")
        self.tasks[task.key] = task
        self.data.tasks.append(task)

    # -- records --------------------------------------------------------------------------

    def _records(self) -> None:
        top = _Entry(_load_yaml(self.directory, RECORDS_FILE), RECORDS_FILE, ("records",))
        for number, raw in enumerate(top.items("records"), start=1):
            summary = raw.get("summary") if isinstance(raw, dict) else None
            where = f"{RECORDS_FILE}: record #{number} {summary!r}"
            entry = _Entry(raw, where, RECORD_FIELDS)
            start = entry.text("start", DEFAULT_START.strftime("%H:%M"))
            try:
                started = time.fromisoformat(start)
            except ValueError:
                _fail(where, f"start {start!r} is not a time like 08:30")
            self._add_record(
                RecordSpec(
                    key=entry.text("key", f"{RECORDS_FILE}#{number}"),
                    type=entry.choice("type", RecordType),
                    unit=self._unit_key(entry.text("unit"), where),
                    days_ago=entry.integer("days_ago", 1 if entry.has("last_month_day") else None),
                    start=started,
                    summary=entry.text("summary", ""),
                    details=entry.mapping("details"),
                    person=self._person_key(entry.optional_text("person"), where),
                    author=entry.optional_text("author"),
                    task=entry.optional_text("task"),
                    water_body=entry.optional_text("water_body"),
                    corrects=entry.optional_text("corrects"),
                    flag_reason=entry.text("flag_reason", ""),
                    where=where,
                    last_month_day=_month_day(entry, "last_month_day", "days_ago"),
                )
            )

    def _add_record(self, record: RecordSpec) -> None:
        where = record.where
        if record.key in self.records:
            _fail(where, f"record key {record.key!r} is used twice")
        _fits(where, AccountabilityRecord, summary=record.summary, flag_reason=record.flag_reason)
        if record.days_ago < 1:
            _fail(where, "days_ago is at least 1: records describe the past")
        if record.author is None or record.author not in self.accounts:
            _fail(where, f"author {record.author!r} is not a username in {ACCOUNTS_FILE}")
        if record.task is not None and record.task not in self.tasks:
            _fail(where, f"unknown task key {record.task!r}")
        if record.water_body is not None:
            self._water_key(record.water_body, where)
        author = self.accounts[record.author]
        record = replace(record, authority=self._authority(record))
        if record.corrects is not None:
            original = self.records.get(record.corrects)
            if original is None:
                _fail(where, f"corrects {record.corrects!r}, which is not an earlier record")
            if original.type is not record.type or original.unit != record.unit:
                _fail(where, "a correction keeps the type and unit of the record it corrects")
            if original.author != author.username and not self.within(
                original.authority or original.unit, author.unit
            ):
                _fail(where, "only its author, or a holder at or above its authority, corrects it")
        _check_details(record)
        self.records[record.key] = record
        self.data.records.append(record)

    def _authority(self, record: RecordSpec) -> str:
        """The unit under whose authority the author files the record, by the API's rules
        (``policies.authority``): its role holds the type's right, the unit lies in its grant's
        subtree (or a paired unit, for field work), a judgement goes strictly below and never
        to the author's own unit, and an escalation comes from the task's issuing side."""
        account = self.accounts[record.author or ""]
        held = self.rights[account.role]
        refused = f"{account.username} ({account.role} at {account.unit}) may not file this"
        if record.type is RecordType.ESCALATION:
            task = self.tasks.get(record.task or "")
            if (
                task is None
                or ("task", "update") not in held
                or not self.within(task.issuer, account.unit)
                or task.unit != record.unit
            ):
                _fail(record.where, f"{refused}: an escalation presses a task from its issuer")
            return account.unit
        right = RECORD_RIGHTS[record.type]
        if (right.resource, right.action) not in held:
            _fail(record.where, f"{refused}: the role has no {right}")
        inside = self.within(record.unit, account.unit)
        paired = right in FIELD_WORK and any(
            self.within(record.unit, unit) for unit in self._paired_with(account.unit)
        )
        if not inside and not paired:
            _fail(record.where, f"{refused}: {record.unit!r} is outside its scope")
        if record.type in JUDGEMENTS and (
            not inside
            or record.unit == account.unit
            or self.within(self.people[account.person].unit, record.unit)
        ):
            _fail(record.where, f"{refused}: judgements go strictly below, never to oneself")
        return account.unit

    def basin_units(self, unit: str) -> list[str]:
        """The units a basin committee at ``unit`` directs (``BASIN`` links): those its basin
        and the basin's parts run through, as ``policies.engine`` reads them."""
        basins = [
            link.water_body
            for link in self.data.links
            if link.unit == unit and link.kind is LinkKind.BASIN and link.water_body is not None
        ]
        found: list[str] = []
        while basins:
            key = basins.pop()
            found += self.water[key].units
            basins += [w.key for w in self.data.water if w.parent == key]
        return found

    def _paired_with(self, unit: str) -> list[str]:
        """The units a grant at ``unit`` reaches beyond its subtree."""
        reached = []
        for link in self.data.links:
            if link.unit == unit and link.partner is not None:
                reached.append(link.partner)
            if link.unit == unit and link.water_body is not None:
                reached += self.water[link.water_body].units
        return reached

    # -- demonstration villages -----------------------------------------------------------

    def _demonstrations(self) -> None:
        """Each demonstration village: on its river, a creation task, a six-goods score."""
        for demo in self.demonstrations:
            config = _Entry(
                demo.config,
                f"{demo.where} (demonstration section)",
                (
                    "plan_task",
                    "programme",
                    "task_due_in_days",
                    "assessed_last_month_day",
                    "criteria",
                ),
            )
            plan = self.tasks.get(config.text("plan_task"))
            if plan is None:
                _fail(config.where, f"unknown plan_task {config.text('plan_task')!r}")
            river = self.water[self._water_key(demo.river, demo.where)]
            if river.kind is not WaterKind.RIVER:
                _fail(demo.where, f"{demo.river!r} is a {river.kind.value}, not a RIVER")
            criteria = config.items("criteria")
            if len(demo.scores) != len(criteria):
                _fail(demo.where, f"{len(criteria)} scores expected, one per criterion")
            scored = [
                {
                    "name": _Entry(c, config.where, ("name", "max")).text("name"),
                    "max": c["max"],
                    "awarded": score,
                }
                for c, score in zip(criteria, demo.scores, strict=True)
            ]
            village = self.units[demo.village]
            programme = config.text("programme")
            if demo.village not in river.units:
                river.units.append(demo.village)
            people = self.people_at[village.key]
            task_key = f"{village.key}:demonstration"
            self._add_task(
                TaskSpec(
                    key=task_key,
                    title=f"{village.name}{programme}创建",
                    description=f"沿{river.name}，按“六个好”标准创建。",
                    category=TaskCategory.KEY_PROJECT,
                    status=demo.status,
                    unit=village.key,
                    issuer=plan.unit,
                    parent=plan.key,
                    assignee=people[0].key if people else None,
                    due_in_days=config.integer("task_due_in_days"),
                    quota_target=None,
                    quota_record_type=None,
                    where=demo.where,
                )
            )
            total = sum(item["awarded"] for item in scored)
            assessor = next((a.username for a in self.data.accounts if a.unit == plan.unit), None)
            self._add_record(
                RecordSpec(
                    key=f"{village.key}:six_goods",
                    type=RecordType.ASSESSMENT,
                    unit=village.key,
                    days_ago=1,
                    last_month_day=_month_day(config, "assessed_last_month_day", None),
                    start=time(10, 0),
                    summary=f"{village.name}{programme}“六个好”考评：{total} 分",
                    details={
                        "scheme": SIX_GOODS,
                        "programme": programme,
                        "river": river.name,
                        "criteria": scored,
                        "total": total,
                        "max_total": sum(item["max"] for item in scored),
                    },
                    person=None,
                    author=assessor,
                    task=task_key,
                    water_body=river.key,
                    corrects=None,
                    flag_reason="",
                    where=demo.where,
                )
            )

    # -- indicators -----------------------------------------------------------------------

    def _indicators(self) -> None:
        top = _Entry(
            _load_yaml(self.directory, INDICATORS_FILE),
            INDICATORS_FILE,
            ("indicators", "observations", "expected"),
        )
        catalogue: dict[str, IndicatorSpec] = {}
        for raw in top.items("indicators"):
            code = raw.get("code") if isinstance(raw, dict) else None
            where = f"{INDICATORS_FILE}: indicator {code!r}"
            entry = _Entry(raw, where, ("code", "name", "unit", "aggregation", "dimension_name"))
            indicator = IndicatorSpec(
                entry.text("code"),
                entry.text("name"),
                entry.text("unit"),
                entry.choice("aggregation", Aggregation, Aggregation.SUM),
                entry.text("dimension_name", ""),
                where,
            )
            if indicator.code in catalogue:
                _fail(where, "indicator code used twice")
            _fits(
                where,
                Indicator,
                code=indicator.code,
                name=indicator.name,
                unit=indicator.unit,
                dimension_name=indicator.dimension_name,
            )
            catalogue[indicator.code] = indicator
        self.data.indicators = list(catalogue.values())
        for code, rows in top.mapping("observations").items():
            observed = catalogue.get(code)
            if observed is None:
                _fail(f"{INDICATORS_FILE}: observations of {code!r}", "unknown indicator")
            if not isinstance(rows, list):
                _fail(f"{INDICATORS_FILE}: observations of {code!r}", "expected a list")
            for number, raw in enumerate(rows, start=1):
                self._observation(raw, observed, f"{INDICATORS_FILE}: {code} #{number}")
        self.data.seed = self._seed(
            _Entry(top.mapping("expected"), f"{INDICATORS_FILE}: expected", ("unit", "figures")),
            catalogue,
        )

    def _observation(self, raw: object, indicator: IndicatorSpec, where: str) -> None:
        entry = _Entry(raw, where, ("unit", "period", "dimension", "value"))
        period = entry.raw.get("period")
        if not isinstance(period, date) or isinstance(period, datetime):
            _fail(where, "period is a date like 2021-05-01")
        dimension = entry.text("dimension", "")
        _fits(where, Observation, dimension=dimension)
        if bool(dimension) != bool(indicator.dimension_name):
            _fail(
                where,
                f"a dimension is given exactly when the indicator has one "
                f"({indicator.dimension_name or 'none'})",
            )
        self.data.observations.append(
            ObservationSpec(
                indicator.code,
                self._unit_key(entry.text("unit"), where),
                period,
                dimension,
                entry.decimal("value"),
                where,
            )
        )

    def _seed(self, entry: _Entry, catalogue: dict[str, IndicatorSpec]) -> SeedFigures:
        """The published figures, checked against the rollup of the observations."""
        unit = self._unit_key(entry.text("unit"), entry.where)
        figures: dict[str, Figure] = {}
        for code, raw in entry.mapping("figures").items():
            where = f"{entry.where}, {code}"
            indicator = catalogue.get(code)
            if indicator is None:
                _fail(where, "unknown indicator")
            figure = _Entry(raw, where, ("total", "by_dimension"))
            expected = Figure(
                figure.decimal("total"),
                {
                    str(k): _decimal(v, f"{where}: {k}")
                    for k, v in figure.mapping("by_dimension").items()
                },
            )
            rows = [
                o
                for o in self.data.observations
                if o.indicator == code and self.within(o.unit, unit)
            ]
            actual = rollup(indicator.aggregation, rows)
            if actual.total != expected.total or (
                expected.by_dimension and actual.by_dimension != expected.by_dimension
            ):
                _fail(
                    where,
                    f"the observations roll up to {_show(actual)}, "
                    f"not the expected {_show(expected)}",
                )
            figures[code] = expected
        return SeedFigures(unit, self.units[unit].name, figures)

    # -- keys -----------------------------------------------------------------------------

    def within(self, key: str, ancestor: str) -> bool:
        current: str | None = key
        while current is not None:
            if current == ancestor:
                return True
            current = self.units[current].parent
        return False

    def _unit_key(self, key: str, where: str) -> str:
        if key not in self.units:
            _fail(where, f"unknown unit key {key!r}")
        return key

    def _water_key(self, key: str, where: str) -> str:
        if key not in self.water:
            _fail(where, f"unknown water body key {key!r}")
        return key

    def _person_key(self, key: str | None, where: str) -> str | None:
        if key is not None and key not in self.people:
            _fail(where, f"unknown person key {key!r}")
        return key


def _month_day(entry: _Entry, name: str, instead_of: str | None) -> int | None:
    """A day of the last full month (1 to 31), given instead of ``instead_of``."""
    if not entry.has(name):
        if instead_of is None:
            _fail(entry.where, f"{name} is required")
        return None
    if instead_of is not None and entry.has(instead_of):
        _fail(entry.where, f"{name} or {instead_of}, not both")
    day = entry.integer(name)
    if not 1 <= day <= 31:
        _fail(entry.where, f"{name} is a day of a month, 1 to 31")
    return day


def last_month(today: date) -> date:
    """The first day of the last full month before ``today`` (Beijing time)."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def on_last_month(data: DemoData, today: date) -> DemoData:
    """``data`` with each record given by a day of the last full month dated ``days_ago``."""
    first = last_month(today)
    length = (today.replace(day=1) - first).days

    def dated(record: RecordSpec) -> RecordSpec:
        if record.last_month_day is None:
            return record
        day = first + timedelta(days=min(record.last_month_day, length) - 1)
        return replace(record, days_ago=(today - day).days)

    return replace(data, records=[dated(r) for r in data.records])


def _check_details(record: RecordSpec) -> None:
    """The same per-type rules the API applies to a new record."""

    def number(source: dict[str, Any], name: str) -> float:
        value = source.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            _fail(record.where, f"details.{name} must be a number ≥ 0")
        return float(value)

    if record.type is RecordType.PATROL:
        number(record.details, "duration_min")
        number(record.details, "distance_km")
    elif record.type is RecordType.CLEANUP:
        number(record.details, "participants")
        number(record.details, "garbage_kg")
    elif record.type is RecordType.ASSESSMENT:
        criteria = record.details.get("criteria")
        if not isinstance(criteria, list) or not criteria:
            _fail(record.where, "an assessment lists its criteria")
        for item in criteria:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                _fail(record.where, "each criterion has a name")
            if number(item, "awarded") > number(item, "max"):
                _fail(record.where, f"{item['name']}: awarded exceeds the maximum")


def rollup(how: Aggregation, rows: Iterable[ObservationSpec]) -> Figure:
    """SUM adds; LATEST averages the most recent period; AVERAGE averages (per dimension too)."""
    rows = list(rows)

    def aggregate(part: list[ObservationSpec]) -> Decimal:
        if not part:
            return Decimal(0)
        if how is Aggregation.LATEST:
            latest = max(o.period for o in part)
            part = [o for o in part if o.period == latest]
        total = sum((o.value for o in part), Decimal(0))
        return total if how is Aggregation.SUM else total / len(part)

    dimensions: dict[str, list[ObservationSpec]] = defaultdict(list)
    for row in rows:
        if row.dimension:
            dimensions[row.dimension].append(row)
    return Figure(aggregate(rows), {k: aggregate(v) for k, v in sorted(dimensions.items())})


def _show(figure: Figure) -> str:
    parts = ", ".join(f"{k} {v.normalize():f}" for k, v in figure.by_dimension.items())
    return f"{figure.total.normalize():f}" + (f" ({parts})" if parts else "")


def read_demo(directory: Path = DEMO_DIR) -> DemoData:
    """Read and check every data file; nothing touches the database."""
    return _Reader(directory).read()


def seed_figures(directory: Path = DEMO_DIR) -> SeedFigures:
    """The published figures the demo reproduces (already checked against the observations)."""
    seed = read_demo(directory).seed
    if seed is None:
        _fail(INDICATORS_FILE, "no expected figures")
    return seed


# -- writing ------------------------------------------------------------------------------


async def load_demo(directory: Path = DEMO_DIR, *, now: datetime | None = None) -> bool:
    """Load the demo into an empty database: False (and no change) if any unit exists.

    Everything is written in one transaction, so a failure leaves the database as it was.
    Dates in the files are relative to ``now`` (default: the current time), so the demo
    always has tasks due soon and tasks overdue.
    """
    data = read_demo(directory)
    if await OrgUnit.all().exists():
        return False
    password_hash = hash_password(data.password)  # once: argon2 is slow by design
    async with in_transaction() as conn:
        if await OrgUnit.all().using_db(conn).exists():
            return False
        moment = now or datetime.now(UTC)
        writer = _Writer(conn, data, moment, password_hash)
        if await policy_is_empty(conn) and writer.plan.accounts_from is not None:
            # A fresh installation: its role policy was in force before the demo's first
            # grant, so a question about a past moment is decided with it (accessHolders).
            with clock.at(writer.plan.accounts_from - timedelta(hours=1)):
                await seed_role_policy()
        await writer.write()
        # Each grant's history, from its role.grant event where the demo has one.
        await adopt_untracked_grants(conn, at=moment)
    return True


class _Writer:
    """Writes checked data, resolving keys to the ids the database hands out."""

    def __init__(
        self, conn: BaseDBAsyncClient, data: DemoData, now: datetime, password_hash: str
    ) -> None:
        self.conn = conn
        self.now = now
        self.today = now.astimezone(BEIJING).date()
        self.data = data = on_last_month(data, self.today)
        self.password_hash = password_hash
        self.plan = plan_history(data, now, BEIJING, DUE_TIME)
        self.units: dict[str, OrgUnit] = {}
        self.water: dict[str, int] = {}
        self.people: dict[str, int] = {}
        self.users: dict[str, User] = {}
        self.tasks: dict[str, int] = {}
        self.records: dict[str, int] = {}  # the ids of records another one corrects
        self.written: set[str] = set()

    async def write(self) -> None:
        await self._units()
        await self._water()
        await self._people()
        await self._links()
        await self._accounts()
        await self._history()
        await self._records()
        await self._indicators()

    async def _units(self) -> None:
        # One at a time, parents first: ``place`` enforces the level rules and sets the path.
        for spec in self.data.units:
            self.units[spec.key] = await OrgUnit.place(
                code=spec.code,
                name=spec.name,
                level=spec.level,
                parent=self.units[spec.parent] if spec.parent else None,
                using_db=self.conn,
            )
        for key, geometry in self.data.geometries.units.items():
            self.units[key].geometry = geometry
            await self.units[key].save(update_fields=["geometry"], using_db=self.conn)

    async def _water(self) -> None:
        for spec in self.data.water:
            body = await WaterBody.create(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                parent_id=self.water[spec.parent] if spec.parent else None,
                length_km=spec.length_km,
                geometry=self.data.geometries.water.get(spec.key),
                using_db=self.conn,
            )
            self.water[spec.key] = body.id
            await body.units.add(*(self.units[k] for k in spec.units), using_db=self.conn)

    async def _links(self) -> None:
        await OrgLink.bulk_create(
            [
                OrgLink(
                    unit_id=self.units[link.unit].id,
                    partner_id=self.units[link.partner].id if link.partner else None,
                    water_body_id=self.water[link.water_body] if link.water_body else None,
                    person_id=self.people[link.person] if link.person else None,
                    kind=link.kind,
                    note=link.note,
                )
                for link in self.data.links
            ],
            using_db=self.conn,
        )

    async def _people(self) -> None:
        # Bulk-created rows come back without ids; a name is unique within its unit.
        await Person.bulk_create(
            [
                Person(
                    name=p.name,
                    org_unit_id=self.units[p.unit].id,
                    title=p.title,
                    party_member=p.party_member,
                    phone=p.phone,
                    id_number=p.id_number,
                    created_at=self.plan.accounts_from,
                )
                for p in self.data.people
            ],
            using_db=self.conn,
        )
        ids = {
            (unit_id, name): person_id
            for person_id, unit_id, name in await Person.all()
            .using_db(self.conn)
            .values_list("id", "org_unit_id", "name")
        }
        self.people = {p.key: ids[(self.units[p.unit].id, p.name)] for p in self.data.people}

    async def _accounts(self) -> None:
        # Grants are not written here: the history's first steps make them (``_history``).
        accounts = accounts_of(self.data)
        await User.bulk_create(
            [
                User(
                    username=a.username,
                    password_hash=self.password_hash,
                    person_id=self.people[a.person],
                    created_at=self.plan.accounts_from,
                )
                for a in accounts
            ],
            using_db=self.conn,
        )
        self.users = {
            user.username: user
            for user in await User.filter(username__in=[a.username for a in accounts]).using_db(
                self.conn
            )
        }

    def _due(self, days: int | None) -> datetime | None:
        if days is None:
            return None
        return datetime.combine(self.today + timedelta(days=days), DUE_TIME, tzinfo=BEIJING)

    async def _history(self) -> None:
        """Grants and tasks through the API's own functions, as the demo accounts, at the
        past times of the plan (``demo.history``): every change writes its audit event."""
        engine = DemoEngine()
        await engine.seed_if_empty()
        await engine.reload()  # the role policy and the pairings just written; no grants yet
        replay = Replay(
            self.data,
            engine,
            self.users,
            self.units,
            self.people,
            {t.key: self._due(t.due_in_days) for t in self.data.tasks},
            self._records_of,
        )
        await replay.grants(self.plan.grants)
        await replay.steps(self.plan.steps)
        await replay.settle()
        self.tasks = replay.ids
        await replay_reports(replay, self.today, BEIJING)
        await replay_complaints(replay, self.today, BEIJING)
        held_from = max((g.at for g in self.plan.grants), default=None)
        await remind(self.now, BEIJING, held_from)  # what the periodic job wrote

    def _record(self, spec: RecordSpec) -> AccountabilityRecord:
        occurred_at = datetime.combine(
            self.today - timedelta(days=spec.days_ago), spec.start, tzinfo=BEIJING
        )
        duration = spec.details.get("duration_min")
        person = self.people[spec.person] if spec.person else None
        if person is None and spec.author is not None:
            person = self.people[self._account(spec.author).person]
        ended_at = (
            occurred_at + timedelta(minutes=duration)
            if spec.type is RecordType.PATROL and duration is not None
            else None
        )
        # Filed an hour after the work ended (or the day after), and never after the load.
        filed = min((ended_at or occurred_at) + FILED_AFTER, self.now - timedelta(minutes=1))
        return AccountabilityRecord(
            type=spec.type,
            org_unit_id=self.units[spec.unit].id,
            author_id=self.users[spec.author].id if spec.author else None,
            authority_unit_id=self.units[spec.authority].id if spec.authority else None,
            person_id=person,
            task_id=self.tasks[spec.task] if spec.task else None,
            water_body_id=self.water[spec.water_body] if spec.water_body else None,
            corrects_id=self.records[spec.corrects] if spec.corrects else None,
            occurred_at=occurred_at,
            ended_at=ended_at,
            created_at=filed,
            summary=spec.summary,
            details=spec.details,
            details_shown=shown_details(spec.details),  # bulk_create does not call save()
            flagged=bool(spec.flag_reason),
            flag_reason=spec.flag_reason,
        )

    def _account(self, username: str) -> AccountSpec:
        return next(a for a in self.data.accounts if a.username == username)

    async def _records_of(self, task_key: str, task_id: int) -> None:
        """The records filed against a task, written as soon as the history has created it (a
        quota task is verified only once its records count). A correction whose original is
        not written yet waits for the rest (``_records``)."""
        self.tasks[task_key] = task_id
        batch: list[RecordSpec] = []
        for spec in self.data.records:
            if spec.task != task_key or spec.key in self.written:
                continue
            if (
                spec.corrects is None
                or spec.corrects in self.written
                or spec.corrects in {b.key for b in batch}
            ):
                batch.append(spec)
        await self._write(batch)

    async def _records(self) -> None:
        await self._write([r for r in self.data.records if r.key not in self.written])

    async def _write(self, specs: list[RecordSpec]) -> None:
        # Records another one corrects are saved first, one by one, for their ids; the rest
        # (file order puts an original before its correction) go in one bulk insert.
        referenced = {r.corrects for r in self.data.records if r.corrects}
        rest = []
        for spec in specs:
            if spec.key in referenced:
                record = self._record(spec)
                await record.save(using_db=self.conn)
                self.records[spec.key] = record.id
            else:
                rest.append(spec)
            self.written.add(spec.key)
        await AccountabilityRecord.bulk_create(
            [self._record(spec) for spec in rest], using_db=self.conn
        )

    async def _indicators(self) -> None:
        await Indicator.bulk_create(
            [
                Indicator(
                    code=i.code,
                    name=i.name,
                    unit=i.unit,
                    aggregation=i.aggregation,
                    dimension_name=i.dimension_name,
                )
                for i in self.data.indicators
            ],
            using_db=self.conn,
        )
        ids = dict(
            await Indicator.filter(code__in=[i.code for i in self.data.indicators])
            .using_db(self.conn)
            .values_list("code", "id")
        )
        observed = [
            (
                Observation(
                    indicator_id=ids[o.indicator],
                    org_unit_id=self.units[o.unit].id,
                    period=o.period,
                    dimension=o.dimension,
                    value=o.value,
                ),
                self.units[o.unit].path,
            )
            for o in self.data.observations
        ]
        await Observation.bulk_create([o for o, _ in observed], using_db=self.conn)
        await add_observations(self.conn, observed)
        await self._cleanup_observations(ids)

    async def _cleanup_observations(self, ids: dict[str, int]) -> None:
        """What the recorded clean-ups observe, as the API feeds it (``resolvers.observations``):
        garbage in tonnes and participants on the clean-up's day, the current version of each
        clean-up only (a corrected record feeds nothing)."""
        corrected = {r.corrects for r in self.data.records if r.corrects}
        paths = {unit.id: unit.path for unit in self.units.values()}
        cleanups = await (
            AccountabilityRecord.filter(type=RecordType.CLEANUP)
            .exclude(id__in=[self.records[key] for key in corrected])
            .using_db(self.conn)
            .order_by("id")
        )
        observed = []
        for record in cleanups:
            day = cleanup_day(record.occurred_at)
            for code, value in cleanup_figures(record.details).items():
                if code not in ids:
                    continue
                observation = Observation(
                    indicator_id=ids[code],
                    org_unit_id=record.org_unit_id,
                    period=day,
                    period_end=day,
                    value=value,
                    record_id=record.id,
                )
                observed.append((observation, paths[record.org_unit_id]))
        await Observation.bulk_create([o for o, _ in observed], using_db=self.conn)
        await add_observations(self.conn, observed)
