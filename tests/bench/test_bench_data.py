"""``riverchief bench-data``: a county's shape, a history the service could have written
(hash chain included), the same rows for the same seed, and the real service reading it
through the real authorization."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import Tortoise, connections
from tortoise.models import Model

from app.cli import main
from bench.data import BENCH_ACCOUNTS, BENCH_PASSWORD, BenchSummary, build_bench_data
from bench.data_generate import Scale, generate
from bench.data_indicators import Catalogue
from bench.data_tables import Row
from core.db import apply_migrations, tortoise_config
from models.audit import AuditEvent
from models.enums import (
    CLOSED_STATUSES,
    LinkKind,
    OrgLevel,
    RecordType,
    TaskCategory,
    TaskStatus,
    WaterKind,
)
from models.indicator import Indicator, Observation
from models.org import OrgLink, OrgUnit, WaterBody
from models.paths import upper_bound
from models.people import Person, User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.audit_log import log_named, stored_jurisdictions
from resolvers.audit_queries import verify_log
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.http.client import running_app

TASKS = 2_000
UNITS = {
    OrgLevel.COUNTY: 1,
    OrgLevel.DEPARTMENT: 10,
    OrgLevel.TOWNSHIP: 10,
    OrgLevel.VILLAGE: 150,
    OrgLevel.GRID: 3000,
}
HEAD_ROLES = {
    OrgLevel.COUNTY: "county_admin",
    OrgLevel.DEPARTMENT: "department_head",
    OrgLevel.TOWNSHIP: "township_head",
    OrgLevel.VILLAGE: "village_secretary",
    OrgLevel.GRID: "grid_leader",
}
PEOPLE_PER_UNIT = {
    OrgLevel.COUNTY: 8,
    OrgLevel.DEPARTMENT: 5,
    OrgLevel.TOWNSHIP: 6,
    OrgLevel.VILLAGE: 8,
    OrgLevel.GRID: 6,
}
DEFAULT_GRANTS = sum(UNITS.values()) + 2  # every head, and two inspectors
FLAG_REASONS = {"distance impossible in the time given", "duration longer than a day's patrol"}
TASK_COUNT = "{ tasks { totalCount } }"
ME = "{ me { username roles { role orgUnit { level } } } }"


# -- databases -------------------------------------------------------------------------------


async def _admin(statement: str) -> None:
    server = TEST_DATABASE_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database(directory: Path, name: str) -> Iterator[str]:
    """One more empty database of the suite's kind (``empty_database_url`` gives one)."""
    if not ON_POSTGRES:
        yield f"sqlite://{directory / f'{name}.sqlite3'}"
        return
    database = f"rc_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    try:
        yield f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{database}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@dataclass(frozen=True)
class Built:
    url: str
    summary: BenchSummary


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One county with 2,000 tasks, built once: the tests below read it (and log in)."""
    with fresh_database(tmp_path_factory.mktemp("bench"), "county") as url:
        yield Built(url, asyncio.run(build_bench_data(url, TASKS)))


@pytest.fixture
async def bench(county: Built) -> AsyncIterator[Built]:
    await Tortoise.init(config=tortoise_config(county.url))
    try:
        yield county
    finally:
        await Tortoise.close_connections()


async def _units() -> dict[int, dict[str, Any]]:
    return {u["id"]: u for u in await OrgUnit.all().values("id", "path", "level", "parent_id")}


# -- the shape of a county -----------------------------------------------------------------


async def test_the_summary_counts_what_a_county_holds(bench: Built) -> None:
    models: list[type[Model]] = [OrgUnit, Person, User, Task, AccountabilityRecord, Observation]
    stored = {m._meta.db_table: await m.all().count() for m in models}
    stored["audit_event"] = await AuditEvent.all().count()
    stored["casbin_rule"] = await CasbinRule.filter(ptype="g").count()

    assert {table: bench.summary.rows[table] for table in stored} == stored
    assert stored["task"] == TASKS
    assert stored["accountability_record"] == TASKS * 5 // 2
    assert stored["observation"] == TASKS // 2
    assert stored["org_unit"] == sum(UNITS.values())
    assert stored["person"] == sum(n * PEOPLE_PER_UNIT[level] for level, n in UNITS.items())
    assert stored["user_account"] == stored["casbin_rule"] == DEFAULT_GRANTS
    assert (bench.summary.counties, bench.summary.grants) == (1, DEFAULT_GRANTS)
    levels = Counter(await OrgUnit.all().values_list("level", flat=True))
    assert levels == UNITS
    codes = await Indicator.all().order_by("id").values_list("code", flat=True)
    assert codes[:3] == ["fish_fry_released", "garbage_cleared_t", "participants"]
    assert codes == [spec["code"] for spec in Catalogue().indicators]  # the demo's catalogue


async def test_paths_and_depths_follow_the_parents(bench: Built) -> None:
    units = await _units()
    depths = dict(await OrgUnit.all().values_list("id", "depth"))

    for unit in units.values():
        parent = units.get(unit["parent_id"]) if unit["parent_id"] else None
        expected = f"{parent['path'] if parent else '/'}{unit['id']}/"
        assert unit["path"] == expected
        assert depths[unit["id"]] == (depths[parent["id"]] + 1 if parent else 0)
    per_parent = Counter(u["parent_id"] for u in units.values() if u["level"] is OrgLevel.GRID)
    assert set(per_parent.values()) == {20}


async def test_departments_pair_with_villages_and_rivers_run_through_the_tree(
    bench: Built,
) -> None:
    units = await _units()
    links = await OrgLink.all().values("unit_id", "partner_id", "water_body_id", "kind")
    co_building = [link for link in links if link["kind"] is LinkKind.CO_BUILDING]
    kinds = Counter(await WaterBody.all().values_list("kind", flat=True))

    assert Counter(link["unit_id"] for link in co_building) == {
        u: 3 for u, unit in units.items() if unit["level"] is OrgLevel.DEPARTMENT
    }
    assert {units[link["partner_id"]]["level"] for link in co_building} == {OrgLevel.VILLAGE}
    assert len({link["partner_id"] for link in co_building}) == 30
    assert sum(link["kind"] is LinkKind.RIVER_PAIRING for link in links) == 5
    assert kinds == {WaterKind.RIVER: 3, WaterKind.SEGMENT: 12}
    rivers = await WaterBody.filter(kind=WaterKind.RIVER).prefetch_related("units")
    through = {unit.id for river in rivers for unit in river.units}
    assert through == {u for u, unit in units.items() if unit["level"] is OrgLevel.TOWNSHIP}


async def test_every_head_holds_one_grant_at_its_own_unit(bench: Built) -> None:
    units = await _units()
    person_unit = dict(await Person.all().values_list("id", "org_unit_id"))
    heads = {}
    for person_id, unit_id in sorted(person_unit.items(), reverse=True):
        heads[unit_id] = person_id  # a unit's head is its first person
    users = {u["id"]: u for u in await User.all().values("id", "username", "person_id")}
    grants = await CasbinRule.filter(ptype="g").values_list("v0", "v1", "v2")

    held: defaultdict[int, list[tuple[str, int]]] = defaultdict(list)
    for subject, role, domain in grants:
        user = users[int(subject.removeprefix("user:"))]
        unit_id = person_unit[user["person_id"]]
        assert domain == f"{units[unit_id]['path']}*"
        held[unit_id].append((role, user["person_id"]))
    assert Counter(subject for subject, _, _ in grants).most_common(1)[0][1] == 1
    for unit_id, unit in units.items():
        head_grants = [g for g in held[unit_id] if g[1] == heads[unit_id]]
        assert head_grants == [(HEAD_ROLES[unit["level"]], heads[unit_id])]
    county_id = next(u for u, unit in units.items() if unit["level"] is OrgLevel.COUNTY)
    assert sorted(role for role, _ in held[county_id]) == [
        "county_admin",
        "inspector",
        "inspector",
    ]


async def test_the_benchmark_accounts_sit_where_the_design_puts_them(bench: Built) -> None:
    township = await OrgUnit.get(code="BC001-T01")
    village = await OrgUnit.get(code="BC001-T01-V01")
    places = {
        "bench_county": ("county_admin", "BC001"),
        "bench_township": ("township_head", "BC001-T01"),
        "bench_village": ("village_secretary", "BC001-T01-V01"),
        "bench_grid": ("grid_leader", "BC001-T01-V01-G01"),
        "bench_inspector": ("inspector", "BC001"),
        "bench_department": ("department_head", "BC001-D01"),
    }
    found = {}
    for username in BENCH_ACCOUNTS:
        user = await User.get(username=username)
        rule = await CasbinRule.get(ptype="g", v0=f"user:{user.id}")
        unit = await OrgUnit.get(path=rule.v2.removesuffix("*"))
        found[username] = (rule.v1, unit.code)

    assert found == places
    assert township.parent_id == (await OrgUnit.get(code="BC001")).id
    assert village.parent_id == township.id


async def _indexes(url: str) -> list[tuple[str, str]]:
    """Every index as its definition (the load drops the secondary ones, then rebuilds them)."""
    query = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        if ON_POSTGRES
        else "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    )
    await Tortoise.init(config=tortoise_config(url))
    try:
        _, rows = await connections.get("default").execute_query(query)
        return sorted((str(row[0]), str(row[1])) for row in rows)
    finally:
        await Tortoise.close_connections()


def test_the_load_leaves_the_indexes_the_migrations_made(county: Built, tmp_path: Path) -> None:
    with fresh_database(tmp_path, "migrated") as migrated:
        asyncio.run(apply_migrations(migrated))
        expected = asyncio.run(_indexes(migrated))

    found = asyncio.run(_indexes(county.url))

    assert found == expected
    assert any("audit_event" in definition for _, definition in found)


# -- the history -----------------------------------------------------------------------------

TASK_FIELDS = (
    "id",
    "parent_id",
    "org_unit_id",
    "issuer_unit_id",
    "issued_by_id",
    "assignee_id",
    "status",
    "category",
    "version",
    "due_at",
    "created_at",
    "updated_at",
    "closed_at",
    "quota_target",
)


async def test_tasks_flow_down_the_hierarchy(bench: Built) -> None:
    units = await _units()
    tasks = {t["id"]: t for t in await Task.all().values(*TASK_FIELDS)}
    person_unit = dict(await Person.all().values_list("id", "org_unit_id"))
    user_unit = {
        user_id: person_unit[person_id]
        for user_id, person_id in await User.all().values_list("id", "person_id")
    }
    paired = defaultdict(set)
    for department, village in await OrgLink.filter(kind=LinkKind.CO_BUILDING).values_list(
        "unit_id", "partner_id"
    ):
        paired[department].add(village)

    for task in tasks.values():
        unit, issuer = units[task["org_unit_id"]], units[task["issuer_unit_id"]]
        below = unit["path"].startswith(issuer["path"]) and unit["id"] != issuer["id"]
        assert below or unit["id"] in paired[issuer["id"]]
        assert user_unit[task["issued_by_id"]] == issuer["id"]
        assert task["assignee_id"] is None or person_unit[task["assignee_id"]] == unit["id"]
        assert task["version"] >= 1
        assert task["created_at"] <= task["updated_at"] < datetime(2026, 1, 1, tzinfo=UTC)
        closed = task["status"] in CLOSED_STATUSES
        assert (task["closed_at"] is not None) == closed
        if closed:
            assert task["closed_at"] == task["updated_at"]
        parent = tasks.get(task["parent_id"])
        if parent is not None:
            assert task["issuer_unit_id"] == parent["org_unit_id"]
            assert task["created_at"] > parent["created_at"]
            assert task["due_at"] <= parent["due_at"]
            if parent["status"] is TaskStatus.VERIFIED:
                assert task["closed_at"] < parent["closed_at"]
    levels = Counter(units[t["org_unit_id"]]["level"] for t in tasks.values())
    assert levels[OrgLevel.GRID] > 0.8 * TASKS
    assert levels[OrgLevel.VILLAGE] > levels[OrgLevel.TOWNSHIP] > 0
    assert sum(t["parent_id"] is not None for t in tasks.values()) > 0.05 * TASKS
    assert {t["status"] for t in tasks.values()} == set(TaskStatus)
    assert {t["category"] for t in tasks.values()} == set(TaskCategory)
    statuses = Counter(t["status"] for t in tasks.values())
    assert statuses[TaskStatus.VERIFIED] > 0.7 * TASKS
    assert sum(t["quota_target"] is not None for t in tasks.values()) > 0.1 * TASKS


@pytest.mark.parametrize("when", [date(2026, 1, 15), date(2026, 9, 1), date(2027, 12, 1)])
async def test_some_open_tasks_are_overdue_and_some_not_in_2026_and_2027(
    bench: Built, when: date
) -> None:
    moment = datetime(when.year, when.month, when.day, tzinfo=UTC)
    open_tasks = Task.exclude(status__in=list(CLOSED_STATUSES))

    overdue = await open_tasks.filter(due_at__lt=moment).count()
    ahead = await open_tasks.filter(due_at__gte=moment).count()

    assert overdue > 0
    assert ahead > 0


async def test_records_fulfil_tasks_with_the_details_of_their_type(bench: Built) -> None:
    records = await AccountabilityRecord.all().values(
        "type", "org_unit_id", "task_id", "occurred_at", "ended_at", "details", "flag_reason"
    )
    task_info = {
        t["id"]: t for t in await Task.all().values("id", "org_unit_id", "created_at", "status")
    }

    types = Counter(r["type"] for r in records)
    assert set(types) == set(RecordType)
    assert types[RecordType.PATROL] + types[RecordType.CLEANUP] > 0.8 * len(records)
    assert sum(r["task_id"] is not None for r in records) > 0.5 * len(records)
    for record in records:
        task = task_info.get(record["task_id"])
        if task is not None and record["type"] in (RecordType.PATROL, RecordType.CLEANUP):
            assert record["org_unit_id"] == task["org_unit_id"]
            assert record["occurred_at"] > task["created_at"]
        if record["type"] is RecordType.PATROL:
            details = record["details"]
            assert {"distance_km", "duration_min", "findings", "photos"} <= set(details)
            ended = record["occurred_at"] + timedelta(minutes=details["duration_min"])
            assert record["ended_at"] == ended
            assert record["flag_reason"] in FLAG_REASONS | {""}
        if record["type"] is RecordType.CLEANUP:
            details = record["details"]
            assert details["participants"] == details["party_members"] + details["villagers"]
        if record["type"] is RecordType.ESCALATION:
            assert task is not None and task["status"] not in CLOSED_STATUSES
    assert any(r["flag_reason"] for r in records)


async def test_records_are_filed_under_the_grant_of_their_author(bench: Built) -> None:
    """Each record names the unit of its author's grant: a unit at or above the record's (an
    assessment, reward or penalty strictly below it), or for an escalation the task's issuer."""
    paths = dict(await OrgUnit.all().values_list("id", "path"))
    granted = {
        int(subject.removeprefix("user:")): domain.removesuffix("*")
        for subject, domain in await CasbinRule.filter(ptype="g").values_list("v0", "v2")
    }
    issuers = dict(await Task.all().values_list("id", "issuer_unit_id"))
    records = await AccountabilityRecord.all().values(
        "type", "org_unit_id", "author_id", "authority_unit_id", "task_id"
    )

    judgements = {RecordType.ASSESSMENT, RecordType.REWARD, RecordType.PENALTY}
    for record in records:
        authority, unit = paths[record["authority_unit_id"]], paths[record["org_unit_id"]]
        assert granted[record["author_id"]] == authority, record
        if record["type"] is RecordType.ESCALATION:
            assert authority == paths[issuers[record["task_id"]]], record
        else:
            assert unit.startswith(authority), record
        if record["type"] in judgements:
            assert unit != authority, record


async def test_the_audit_trail_is_a_valid_log_per_county_of_every_change(bench: Built) -> None:
    jurisdictions = await stored_jurisdictions()
    reports = [await verify_log(await log_named(j), None) for j in jurisdictions]
    events = (
        await AuditEvent.all()
        .order_by("seq")
        .values("seq", "at", "action", "entity_type", "entity_id", "after", "hash")
    )
    counties = await OrgUnit.filter(parent_id=None).values_list("id", flat=True)

    assert [r.problem for r in reports] == [None] * len(reports)
    assert set(counties) <= set(jurisdictions) <= {0, *counties}
    assert sum(r.checked for r in reports) == len(events) == bench.summary.rows["audit_event"]
    assert max(r.head_seq for r in reports) == events[-1]["seq"]
    assert all(a["at"] <= b["at"] for a, b in itertools.pairwise(events))
    creates = Counter(e["entity_id"] for e in events if e["action"] == "task.create")
    assert creates == {str(task_id): 1 for task_id in await Task.all().values_list("id", flat=True)}
    recorded = Counter(e["entity_id"] for e in events if e["action"] == "record.create")
    assert len(recorded) == TASKS * 5 // 2 and set(recorded.values()) == {1}
    last_seen: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["entity_type"] == "task" and "status" in (event["after"] or {}):
            last_seen[event["entity_id"]] = event["after"]
    for task_id, status, version in await Task.all().values_list("id", "status", "version"):
        assert last_seen[str(task_id)]["status"] == status.value
        assert last_seen[str(task_id)]["version"] <= version
    actions = {e["action"] for e in events}
    assert {"task.create", "task.start", "task.submit", "task.verify", "task.reject"} <= actions
    assert {"task.cancel", "task.assign", "task.decompose", "task.escalate"} <= actions


async def test_the_orm_reads_the_rows_back_with_their_python_types(bench: Built) -> None:
    task = await Task.filter(status=TaskStatus.VERIFIED, quota_target__not_isnull=True).first()
    record = await AccountabilityRecord.filter(type=RecordType.PATROL).first()
    observation = await Observation.first()
    event = await AuditEvent.filter(action="task.verify").first()
    segment = await WaterBody.filter(kind=WaterKind.SEGMENT).first()
    assert task and record and observation and event and segment

    assert task.status is TaskStatus.VERIFIED
    assert isinstance(task.category, TaskCategory)
    assert isinstance(task.quota_record_type, RecordType)
    assert task.closed_at is not None and task.closed_at.utcoffset() == timedelta(0)
    assert task.due_at is not None and (task.due_at.hour, task.due_at.minute) == (10, 0)
    assert isinstance(record.details, dict) and isinstance(record.details["findings"], list)
    assert record.occurred_at.tzinfo is not None
    assert isinstance(observation.value, Decimal) and isinstance(observation.period, date)
    assert observation.value == observation.value.quantize(Decimal("0.0001"))
    assert event.before is not None and event.before["status"] == "SUBMITTED"
    assert event.after is not None and event.after["status"] == "VERIFIED"
    assert isinstance(segment.length_km, Decimal) and segment.parent_id is not None


# -- the service, through the real authorization ------------------------------------------


async def _tasks_within(*paths: str) -> int:
    ids: set[int] = set()
    for path in paths:
        within = Task.filter(org_unit__path__gte=path, org_unit__path__lt=upper_bound(path))
        ids.update(await within.values_list("id", flat=True))
    return len(ids)


async def test_the_service_shows_each_bench_account_its_own_subtree(bench: Built) -> None:
    township = await OrgUnit.get(code="BC001-T01")
    village = await OrgUnit.get(code="BC001-T01-V01")
    grid = await OrgUnit.get(code="BC001-T01-V01-G01")
    department = await OrgUnit.get(code="BC001-D01")
    paired = await OrgUnit.filter(partner_links__unit_id=department.id).values_list(
        "path", flat=True
    )
    river_link = await OrgLink.get(unit_id=department.id, kind=LinkKind.RIVER_PAIRING)
    segment = await WaterBody.get(id=river_link.water_body_id).prefetch_related("units")
    grid_tasks = Task.filter(
        org_unit__level=OrgLevel.GRID, org_unit__path__startswith=township.path
    ).values_list("org_unit_id", flat=True)
    busy_grid = await OrgUnit.get(id=Counter(await grid_tasks).most_common(1)[0][0])

    seen = {}
    async with running_app() as client:
        for username in [*BENCH_ACCOUNTS, f"head_{busy_grid.id}"]:
            token = await client.login(username, BENCH_PASSWORD)
            body = await client.run(TASK_COUNT, token=token)
            seen[username] = body["data"]["tasks"]["totalCount"]
        me = await client.run(ME, token=await client.login("bench_township", BENCH_PASSWORD))

    roles = me["data"]["me"]["roles"]
    assert [(r["role"], r["orgUnit"]["level"]) for r in roles] == [("township_head", "TOWNSHIP")]
    assert seen["bench_county"] == seen["bench_inspector"] == TASKS
    assert seen["bench_township"] == await _tasks_within(township.path)
    assert seen["bench_village"] == await _tasks_within(village.path)
    assert seen["bench_grid"] == await _tasks_within(grid.path)
    assert seen["bench_grid"] < seen["bench_village"] < seen["bench_township"] < TASKS
    assert seen[f"head_{busy_grid.id}"] == await _tasks_within(busy_grid.path) > 0
    reach = [department.path, *paired, *(unit.path for unit in segment.units)]
    assert seen["bench_department"] == await _tasks_within(*reach) > 0


# -- determinism, refusal, the command line -----------------------------------------------


async def _digest(url: str) -> str:
    """A digest of the generated rows, all but the password hash (argon2 salts it)."""
    await Tortoise.init(config=tortoise_config(url))
    try:
        digest = hashlib.sha256()
        tables = [
            OrgUnit.all().order_by("id").values_list("id", "code", "name", "path"),
            Person.all().order_by("id").values_list("id", "name", "org_unit_id", "id_number"),
            User.all().order_by("id").values_list("id", "username", "person_id"),
            CasbinRule.filter(ptype="g").order_by("id").values_list("v0", "v1", "v2"),
            Task.all().order_by("id").values_list(*TASK_FIELDS, "title"),
            AccountabilityRecord.all()
            .order_by("id")
            .values_list("id", "type", "org_unit_id", "task_id", "occurred_at", "details"),
            Observation.all().order_by("id").values_list("id", "org_unit_id", "period", "value"),
            AuditEvent.all().order_by("seq").values_list("seq", "at", "hash"),
        ]
        for rows in tables:
            digest.update(repr(await rows).encode())
        return digest.hexdigest()
    finally:
        await Tortoise.close_connections()


def _generated(scale: Scale) -> dict[str, list[Row]]:
    """The rows a build would write, without a database."""
    rows: defaultdict[str, list[Row]] = defaultdict(list)
    for batch in generate(scale, first_rule_id=1, password_hash="not-hashed"):
        for table, part in batch:
            rows[table.name].extend(part)
    return rows


def test_the_same_seed_gives_the_same_rows(empty_database_url: str, tmp_path: Path) -> None:
    with fresh_database(tmp_path, "again") as again:
        asyncio.run(build_bench_data(empty_database_url, 100, seed=7))
        asyncio.run(build_bench_data(again, 100, seed=7))

        first, second = (asyncio.run(_digest(url)) for url in (empty_database_url, again))

    assert first == second


def test_another_seed_gives_another_history_on_the_same_tree() -> None:
    seven, eight = _generated(Scale(100, seed=7)), _generated(Scale(100, seed=8))

    assert len(seven["task"]) == len(eight["task"]) == 100
    assert seven["task"] != eight["task"]
    assert seven["audit_event"][-1][-1] != eight["audit_event"][-1][-1]  # the chain heads
    assert [u[3] for u in seven["org_unit"]] == [u[3] for u in eight["org_unit"]]  # levels


def test_the_command_loads_once_and_refuses_a_second_run(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("RIVERCHIEF_SECRET", "s" * 40)

    assert main(["bench-data", "--tasks", "100", "--grants", "10"]) == 0
    out = capsys.readouterr().out
    assert "100 tasks in 1 county, seed 1, 10 grants" in out
    assert "accountability_record" in out and "250" in out

    assert main(["bench-data", "--tasks", "100"]) == 2
    assert "already holds 3171 org units" in capsys.readouterr().err

    async def stored() -> tuple[int, list[str]]:
        await Tortoise.init(config=tortoise_config(empty_database_url))
        try:
            users = await User.filter(
                id__in=[
                    int(subject.removeprefix("user:"))
                    for subject in await CasbinRule.filter(ptype="g").values_list("v0", flat=True)
                ]
            ).values_list("username", flat=True)
            return await Task.all().count(), sorted(users)
        finally:
            await Tortoise.close_connections()

    tasks, granted = asyncio.run(stored())
    assert tasks == 100
    assert len(granted) == 10
    assert set(BENCH_ACCOUNTS) <= set(granted)


def test_fewer_grants_keep_the_bench_accounts_and_more_add_deputies() -> None:
    fewer, more = _generated(Scale(1, grants=10)), _generated(Scale(1, grants=DEFAULT_GRANTS + 7))

    def granted(rows: dict[str, list[Row]]) -> dict[str, tuple[str, str, OrgLevel]]:
        users = {f"user:{u[0]}": (u[1], u[3]) for u in rows["user_account"]}
        unit_of = {p[0]: p[2] for p in rows["person"]}
        units = {u[0]: (u[5], OrgLevel(u[3])) for u in rows["org_unit"]}
        found = {}
        for _, _, subject, role, domain, *_ in rows["casbin_rule"]:
            username, person = users[subject]
            path, level = units[unit_of[person]]
            assert domain == f"{path}*"
            found[username] = (role, domain, level)
        return found

    assert len(fewer["casbin_rule"]) == 10
    assert set(BENCH_ACCOUNTS) <= set(granted(fewer))
    assert len(fewer["user_account"]) == DEFAULT_GRANTS  # the heads keep their accounts
    deputies = {k: v for k, v in granted(more).items() if k.startswith("deputy_")}
    assert len(more["casbin_rule"]) == DEFAULT_GRANTS + 7
    assert len(deputies) == 7
    assert {(role, level) for role, _, level in deputies.values()} == {
        ("village_secretary", OrgLevel.VILLAGE),
        ("grid_leader", OrgLevel.GRID),
    }
    assert fewer["task"] == more["task"]  # the grants change nothing else
