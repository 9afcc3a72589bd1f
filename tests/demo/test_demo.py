"""The demo dataset: it loads once and atomically, holds every DESIGN account with its grant,
every status, category and record type, and rolls up to Weixin's published figures."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from shapely.geometry import Point, shape
from tortoise.context import TortoiseContext

from core.context import RequestContext, Viewer
from core.errors import DomainError
from core.security import TokenSigner, verify_password
from demo.loader import DEMO_DIR, SIX_GOODS, DemoDataError, load_demo, read_demo, seed_figures
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
from policies.authority import acting_authority, require_correction, require_filing
from policies.engine import PolicyEngine
from policies.rights import TASK_MANAGE
from resolvers.indicators import rollup
from resolvers.observations import cleanup_day
from tests.conftest import demo_database

DESIGN_ACCOUNTS = (
    "county_admin",
    "zhaxi_head",
    "luobu_head",
    "village_sec",
    "grid_leader",
    "inspector",
    "dept_head",
    "yzh_admin",
    "enterprise_chief",
    "basin_secretary",
)
TABLES = (
    OrgUnit,
    OrgLink,
    WaterBody,
    Person,
    User,
    CasbinRule,
    Task,
    AccountabilityRecord,
    Indicator,
    Observation,
    AuditEvent,
)
# Weixin county's published outcome figures for the Chishui basin.
FISH = {
    "Schizothorax grahami": Decimal(78255),
    "Acrossocheilus yunnanensis": Decimal(38134),
    "Percocypris pingi": Decimal(3591),
}
SUMS = {
    "fish_fry_released": Decimal(119980),
    "garbage_cleared_t": Decimal(32000),
    "participants": Decimal(152000),
    "hydropower_removed": Decimal(8),
    "coal_mines_closed": Decimal(18),
    "gravel_pits_closed": Decimal(54),
    "reforested_mu": Decimal(120000),
    "erosion_treated_mu": Decimal(200000),
}
FOREST_COVER = Decimal("50.1")
# The counted mechanisms (seeds/000_013f2fb319da0daf.txt, line 25).
MECHANISMS = {
    "responsibility_zones": Decimal(3256),
    "demonstration_posts": Decimal(625),
    "vanguard_teams": Decimal(434),
    "pledges_signed": Decimal(7653),
}


# The tests below read the demo and change nothing: one load serves them all, in the module's
# event loop (the one the load's database connections belong to).
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[None]:
    async with demo_database():
        yield


async def _counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in TABLES}


async def _unit_named(name: str) -> OrgUnit:
    return await OrgUnit.get(name=name)


async def _grant(username: str) -> tuple[str, OrgUnit]:
    user = await User.get(username=username)
    rules = await CasbinRule.filter(ptype="g", v0=f"user:{user.id}")
    assert len(rules) == 1, username
    assert rules[0].v2.endswith("*")
    return rules[0].v1, await OrgUnit.get(path=rules[0].v2[:-1])


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEMO_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- loading ----------------------------------------------------------------------------------


async def test_loads_once_and_a_second_call_changes_nothing(db: TortoiseContext) -> None:
    assert await load_demo()
    counts = await _counts()

    assert not await load_demo()

    assert await _counts() == counts
    assert all(counts.values()), counts


async def test_refuses_a_database_that_already_has_units(db: TortoiseContext) -> None:
    await OrgUnit.place(code="X", name="已有县", level=OrgLevel.COUNTY)

    assert not await load_demo()

    assert await OrgUnit.all().count() == 1
    assert not await User.all().exists()


async def test_a_failure_while_writing_leaves_the_database_empty(
    db: TortoiseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    # The observations are written last, after every unit, task and record.
    monkeypatch.setattr(Observation, "bulk_create", fail)

    with pytest.raises(RuntimeError, match="disk full"):
        await load_demo()

    assert await _counts() == {model.__name__: 0 for model in TABLES}


# -- the data files ------------------------------------------------------------------------


def test_an_unknown_key_names_the_file_and_the_entry(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    _edit(
        data / "accounts.yaml",
        "role: enterprise_chief, unit: e06",
        "role: enterprise_chief, unit: e99",
    )

    with pytest.raises(DemoDataError, match=r"accounts\.yaml: account 'enterprise_chief'.*'e99'"):
        read_demo(data)


def test_a_code_too_long_for_its_column_is_refused(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    _edit(data / "yangzonghai.yaml", "code: YZH", f"code: {'Y' * 80}")

    with pytest.raises(DemoDataError, match=r"yangzonghai\.yaml: unit 'yangzonghai': code"):
        read_demo(data)


def test_a_bad_level_names_the_file_and_the_unit(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    _edit(
        data / "weixin.yaml",
        "name: 扎西镇\n        level: TOWNSHIP",
        "name: 扎西镇\n        level: VILLAGE",
    )

    with pytest.raises(DemoDataError, match=r"weixin\.yaml: unit 'zhaxi': bad level"):
        read_demo(data)


def test_observations_that_miss_the_published_figures_are_refused(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    _edit(
        data / "indicators.yaml",
        "dimension: Percocypris pingi, value: 1591",
        "dimension: Percocypris pingi, value: 1592",
    )

    with pytest.raises(DemoDataError, match=r"indicators\.yaml: expected, fish_fry_released"):
        read_demo(data)


def test_seed_figures_are_the_published_ones() -> None:
    seed = seed_figures()

    assert seed.unit_name == "威信县"
    assert {code: f.total for code, f in seed.figures.items()} == {
        **SUMS,
        **MECHANISMS,
        "forest_cover_pct": FOREST_COVER,
    }
    assert seed.figures["fish_fry_released"].by_dimension == FISH


# -- accounts and grants -------------------------------------------------------------------


@in_module_loop
async def test_every_design_account_logs_in_with_demo_pass(demo: None) -> None:
    users = {u.username: u for u in await User.filter(username__in=DESIGN_ACCOUNTS)}

    assert set(users) == set(DESIGN_ACCOUNTS)
    assert all(u.is_active and u.person_id is not None for u in users.values())
    # The loader hashes once for every account (argon2 is slow by design): checking each
    # distinct hash checks every account.
    for password_hash in {u.password_hash for u in users.values()}:
        assert verify_password(password_hash, "demo-pass")
        assert not verify_password(password_hash, "wrong-pass")


@in_module_loop
async def test_each_account_holds_its_role_at_the_right_unit(demo: None) -> None:
    weixin, zhaxi, luobu = (
        await _unit_named("威信县"),
        await _unit_named("扎西镇"),
        await _unit_named("罗布镇"),
    )
    yangzonghai = await OrgUnit.get(level=OrgLevel.COUNTY, name__contains="阳宗海")

    assert await _grant("county_admin") == ("county_admin", weixin)
    assert await _grant("inspector") == ("inspector", weixin)
    assert await _grant("zhaxi_head") == ("township_head", zhaxi)
    assert await _grant("luobu_head") == ("township_head", luobu)
    assert await _grant("yzh_admin") == ("county_admin", yangzonghai)
    assert await _grant("basin_secretary") == (
        "basin_secretary",
        await _unit_named("赤水河流域大党委"),
    )

    role, village = await _grant("village_sec")
    assert (role, village.level, village.parent_id) == (
        "village_secretary",
        OrgLevel.VILLAGE,
        zhaxi.id,
    )
    role, grid = await _grant("grid_leader")
    assert (role, grid.level) == ("grid_leader", OrgLevel.GRID)
    assert grid.path.startswith(village.path)

    role, department = await _grant("dept_head")
    assert (role, department.level, department.parent_id) == (
        "department_head",
        OrgLevel.DEPARTMENT,
        weixin.id,
    )
    paired = [
        link.partner
        for link in await OrgLink.filter(
            unit_id=department.id, kind=LinkKind.CO_BUILDING
        ).prefetch_related("partner")
    ]
    assert any(
        p is not None and p.level is OrgLevel.VILLAGE and p.parent_id == luobu.id for p in paired
    )

    role, enterprise = await _grant("enterprise_chief")
    assert (role, enterprise.level) == ("enterprise_chief", OrgLevel.ENTERPRISE)
    assert enterprise.path.startswith(yangzonghai.path)


@in_module_loop
async def test_the_policy_engine_reads_the_grants(demo: None) -> None:
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()
    dept_head = f"user:{(await User.get(username='dept_head')).id}"
    zhaxi_head = f"user:{(await User.get(username='zhaxi_head')).id}"
    _, department = await _grant("dept_head")
    paired = await OrgUnit.get(
        id=(await OrgLink.get(unit_id=department.id, kind=LinkKind.CO_BUILDING)).partner_id
    )
    luobu = await _unit_named("罗布镇")

    assert engine.enforce(dept_head, paired.path, paired.level.value, "task", "read")
    assert not engine.enforce(dept_head, luobu.path, luobu.level.value, "task", "read")
    assert engine.enforce(zhaxi_head, (await _unit_named("石龙村")).path, "VILLAGE", "task", "read")
    assert not engine.enforce(zhaxi_head, paired.path, paired.level.value, "task", "read")


# -- tasks and records ---------------------------------------------------------------------


@in_module_loop
async def test_every_category_status_and_record_type_is_present(demo: None) -> None:
    tasks = await Task.all()
    records = await AccountabilityRecord.all()

    assert {t.category for t in tasks} == set(TaskCategory)
    assert {t.status for t in tasks} == set(TaskStatus)
    assert {r.type for r in records} == set(RecordType)


@in_module_loop
async def test_tasks_sit_at_every_level_and_some_are_overdue(demo: None) -> None:
    now = datetime.now(UTC)
    tasks = await Task.all().prefetch_related("org_unit")

    assert {t.org_unit.level for t in tasks} == set(OrgLevel)
    overdue = [t for t in tasks if t.is_overdue(now)]
    assert len(overdue) >= 5
    assert all(t.status not in CLOSED_STATUSES and t.due_at is not None for t in overdue)
    assert any(t.due_at is not None and t.due_at > now for t in tasks)
    closed = [t for t in tasks if t.status in CLOSED_STATUSES]
    assert closed and all(t.closed_at is not None for t in closed)


@in_module_loop
async def test_tasks_are_split_level_by_level_and_issued_from_above(demo: None) -> None:
    tasks = {t.id: t for t in await Task.all().prefetch_related("org_unit", "issuer_unit")}

    engine = PolicyEngine()
    await engine.load()
    for task in tasks.values():
        # From above, or from a basin committee whose basin runs through the task's unit.
        assert any(
            task.org_unit.path.startswith(p) for p in engine.covers(task.issuer_unit.path)
        ), task.title
        if task.parent_id is not None:
            assert task.org_unit.path.startswith(tasks[task.parent_id].org_unit.path)

    def chain(task: Task) -> list[OrgLevel]:
        levels = [task.org_unit.level]
        while task.parent_id is not None:
            task = tasks[task.parent_id]
            levels.append(task.org_unit.level)
        return levels[::-1]

    chains = [chain(t) for t in tasks.values()]
    assert [OrgLevel.COUNTY, OrgLevel.TOWNSHIP, OrgLevel.VILLAGE, OrgLevel.GRID] in chains
    assert [OrgLevel.COUNTY, OrgLevel.TOWNSHIP, OrgLevel.ENTERPRISE] in chains


@in_module_loop
async def test_the_paired_department_has_a_patrol_quota_with_patrols(demo: None) -> None:
    _, department = await _grant("dept_head")
    quota = await Task.get(
        org_unit_id=department.id, quota_record_type=RecordType.PATROL, quota_target=6
    )
    patrols = await AccountabilityRecord.filter(task_id=quota.id, type=RecordType.PATROL)

    assert 0 < len(patrols) < 6
    assert quota.issuer_unit_id == department.parent_id


@in_module_loop
async def test_records_carry_their_type_specific_details(demo: None) -> None:
    records = await AccountabilityRecord.all()
    by_type = defaultdict(list)
    for record in records:
        by_type[record.type].append(record)

    for patrol in by_type[RecordType.PATROL]:
        assert {
            "segment",
            "start",
            "end",
            "duration_min",
            "distance_km",
            "findings",
            "photos",
        } <= set(patrol.details)
        assert patrol.ended_at is not None and patrol.ended_at > patrol.occurred_at
    assert any(p.flagged and p.flag_reason for p in by_type[RecordType.PATROL])
    for cleanup in by_type[RecordType.CLEANUP]:
        assert cleanup.details["participants"] > 0 and cleanup.details["garbage_kg"] > 0
    for assessment in by_type[RecordType.ASSESSMENT]:
        criteria = assessment.details["criteria"]
        assert criteria and all(0 <= c["awarded"] <= c["max"] for c in criteria)
    corrections = [r for r in records if r.corrects_id is not None]
    assert corrections
    originals = {r.id: r for r in records}
    for correction in corrections:
        assert correction.corrects_id is not None
        original = originals[correction.corrects_id]
        assert (original.type, original.org_unit_id) == (correction.type, correction.org_unit_id)
    now = datetime.now(UTC)
    assert all(r.occurred_at < now for r in records)


@in_module_loop
async def test_every_record_is_one_its_author_could_file_under_its_authority(
    demo: None,
) -> None:
    """The API's own rules (``policies.authority``) accept every demo record as filed: by its
    author, under the unit the record names as its authority."""
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()
    units = {u.id: u for u in await OrgUnit.all()}
    users = {u.id: u for u in await User.all().prefetch_related("person")}
    tasks = {t.id: t for t in await Task.all()}
    records = await AccountabilityRecord.all().order_by("id")
    by_id = {r.id: r for r in records}

    refused = []
    for record in records:
        assert record.author_id is not None and record.authority_unit_id is not None
        author, unit = users[record.author_id], units[record.org_unit_id]
        context = RequestContext(
            viewer=Viewer(id=author.id, username=author.username, person_id=author.person_id),
            policy=engine,
            request_id="demo-check",
        )
        authority = units[record.authority_unit_id].path
        try:
            if record.type is RecordType.ESCALATION:
                assert record.task_id is not None
                issuer = units[tasks[record.task_id].issuer_unit_id]
                assert acting_authority(context, TASK_MANAGE, issuer) == authority
                continue
            person_unit = units[author.person.org_unit_id].path if author.person else None
            filed_under = require_filing(context, record.type, unit, person_unit_path=person_unit)
            assert filed_under == authority
            if record.corrects_id is not None:
                original = by_id[record.corrects_id]
                require_correction(
                    context,
                    record.type,
                    unit,
                    author_id=original.author_id,
                    authority=units[original.authority_unit_id or 0].path,
                )
        except DomainError as error:
            refused.append(f"{record.summary}: {error.code.value} {error}")
    assert refused == []


@pytest.mark.parametrize(
    ("old", "new", "refusal"),
    [
        (  # an enterprise chief rewarding its own enterprise
            "unit: e06\n    author: yzh_admin\n    days_ago: 25",
            "unit: e06\n    author: enterprise_chief\n    days_ago: 25",
            "the role has no record.reward:create",
        ),
        (  # a township head assessing its own township
            "unit: zhaxi\n    author: county_admin\n    days_ago: 50",
            "unit: zhaxi\n    author: zhaxi_head\n    days_ago: 50",
            "judgements go strictly below",
        ),
        (  # the holding side escalating its own task
            "unit: zhaxi\n    author: county_admin\n    task: zhaxi_sewer",
            "unit: zhaxi\n    author: zhaxi_head\n    task: zhaxi_sewer",
            "an escalation presses a task from its issuer",
        ),
    ],
)
def test_a_record_its_author_may_not_file_is_refused(
    tmp_path: Path, old: str, new: str, refusal: str
) -> None:
    data = _copy_data(tmp_path)
    _edit(data / "records.yaml", old, new)

    with pytest.raises(DemoDataError, match=rf"records\.yaml: record #\d+ .*{refusal}"):
        read_demo(data)


# -- Yangzonghai ---------------------------------------------------------------------------


@in_module_loop
async def test_yangzonghai_has_22_enterprise_river_chiefs(demo: None) -> None:
    yangzonghai = await OrgUnit.get(level=OrgLevel.COUNTY, name__contains="阳宗海")
    enterprises = await OrgUnit.filter(
        level=OrgLevel.ENTERPRISE,
        path__gte=yangzonghai.path,
        path__lt=upper_bound(yangzonghai.path),
    )

    assert len(enterprises) == 22
    for enterprise in enterprises:
        link = await OrgLink.get(unit_id=enterprise.id, kind=LinkKind.RESPONSIBILITY)
        assert link.water_body_id is not None
        assert await Person.filter(org_unit_id=enterprise.id, title__contains="企业河长").exists()


@in_module_loop
async def test_yangzonghai_has_6_rivers_each_paired_with_a_department(demo: None) -> None:
    yangzonghai = await OrgUnit.get(level=OrgLevel.COUNTY, name__contains="阳宗海")
    rivers = [
        river
        for river in await WaterBody.filter(kind=WaterKind.RIVER).prefetch_related("units")
        if river.units and all(u.path.startswith(yangzonghai.path) for u in river.units)
    ]
    pairings = await OrgLink.filter(
        kind=LinkKind.RIVER_PAIRING, water_body_id__in=[r.id for r in rivers]
    ).prefetch_related("unit")

    assert len(rivers) == 6
    assert {p.water_body_id for p in pairings} == {r.id for r in rivers}
    assert all(p.unit.level is OrgLevel.DEPARTMENT for p in pairings)


@in_module_loop
async def test_yangzonghai_has_13_demonstration_villages_on_4_rivers(demo: None) -> None:
    yangzonghai = await OrgUnit.get(level=OrgLevel.COUNTY, name__contains="阳宗海")
    assessments = [
        record
        for record in await AccountabilityRecord.filter(
            type=RecordType.ASSESSMENT
        ).prefetch_related("org_unit", "water_body__units")
        if record.details.get("scheme") == SIX_GOODS
    ]
    villages = {r.org_unit.id for r in assessments}

    assert len(villages) == len(assessments) == 13
    assert all(
        r.org_unit.level is OrgLevel.VILLAGE and r.org_unit.path.startswith(yangzonghai.path)
        for r in assessments
    )
    assert len({r.water_body_id for r in assessments}) == 4
    for record in assessments:
        assert record.water_body is not None and record.water_body.kind is WaterKind.RIVER
        assert record.org_unit.id in {u.id for u in record.water_body.units}
        assert len(record.details["criteria"]) == 6
        assert record.task_id is not None


# -- the seed figures ----------------------------------------------------------------------


# The last period the published figures cover; the recorded clean-ups (recent, relative to the
# load) feed garbage and participants after it.
PUBLISHED_UNTIL = max(o.period for o in read_demo().observations)


@in_module_loop
async def test_weixin_rolls_up_to_the_published_figures(demo: None) -> None:
    """The figures as published: the observations of the indicator file, not what the
    recorded clean-ups have fed since."""
    weixin = await _unit_named("威信县")
    rows = await Observation.filter(
        org_unit__path__gte=weixin.path,
        org_unit__path__lt=upper_bound(weixin.path),
        record_id__isnull=True,
    ).values("indicator__code", "dimension", "period", "value")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    fish: dict[str, Decimal] = defaultdict(Decimal)
    forest: dict[date, list[Decimal]] = defaultdict(list)
    for row in rows:
        value = Decimal(str(row["value"]))
        sums[row["indicator__code"]] += value
        if row["indicator__code"] == "fish_fry_released":
            fish[row["dimension"]] += value
        if row["indicator__code"] == "forest_cover_pct":
            forest[row["period"]].append(value)

    assert {code: sums[code] for code in SUMS} == SUMS
    assert dict(fish) == FISH
    latest = forest[max(forest)]
    assert sum(latest) / len(latest) == FOREST_COVER
    assert all(sum(v) / len(v) < FOREST_COVER for p, v in forest.items() if p != max(forest))
    # Observations spread over several townships, not one county-level row per figure.
    townships = (
        await Observation.filter(org_unit__parent_id=weixin.id, org_unit__level=OrgLevel.TOWNSHIP)
        .distinct()
        .values_list("org_unit_id", flat=True)
    )
    assert len(set(townships)) >= 5


@in_module_loop
async def test_the_indicator_rollup_reproduces_the_published_figures(demo: None) -> None:
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()
    user = await User.get(username="county_admin")
    context = RequestContext(
        viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
        policy=engine,
        request_id="test-demo",
        signer=TokenSigner("s" * 40, 60),
    )
    weixin = await _unit_named("威信县")

    for code, total in SUMS.items():
        published = await rollup(context, weixin, code, None, PUBLISHED_UNTIL)
        assert published.total == total, code
    fish = await rollup(context, weixin, "fish_fry_released", None, None)
    assert dict(fish.by_dimension) == FISH
    assert len([v for _, v in fish.by_child if v is not None]) >= 3
    assert (await rollup(context, weixin, "forest_cover_pct", None, None)).total == FOREST_COVER


async def _county_admin() -> RequestContext:
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()
    user = await User.get(username="county_admin")
    return RequestContext(
        viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
        policy=engine,
        request_id="test-demo",
        signer=TokenSigner("s" * 40, 60),
    )


async def _cleanups_under(unit: OrgUnit) -> list[AccountabilityRecord]:
    """The current version of each clean-up recorded in ``unit``'s subtree."""
    corrected = AccountabilityRecord.filter(corrects_id__isnull=False).values_list(
        "corrects_id", flat=True
    )
    return await AccountabilityRecord.filter(
        type=RecordType.CLEANUP,
        org_unit__path__gte=unit.path,
        org_unit__path__lt=upper_bound(unit.path),
    ).exclude(id__in=await corrected)


@in_module_loop
async def test_the_recorded_cleanups_show_in_zhaxis_garbage_and_participants(demo: None) -> None:
    """扎西镇's clean-ups of the year (the Friday clean-up, 石龙村's, the "1110" daily
    cleaning) count in its garbage total in tonnes and in its participants."""
    context = await _county_admin()
    zhaxi = await _unit_named("扎西镇")
    cleanups = await _cleanups_under(zhaxi)
    year = max(cleanup_day(r.occurred_at) for r in cleanups).year
    of_year = [r for r in cleanups if cleanup_day(r.occurred_at).year == year]
    since, until = date(year, 1, 1), date(year, 12, 31)

    garbage = await rollup(context, zhaxi, "garbage_cleared_t", since, until)
    people = await rollup(context, zhaxi, "participants", since, until)

    assert len(of_year) >= 3
    kg = sum(Decimal(str(r.details["garbage_kg"])) for r in of_year)
    assert garbage.total == kg / 1000
    assert garbage.total is not None and garbage.total > 0
    assert people.total == sum(Decimal(r.details["participants"]) for r in of_year)


@in_module_loop
async def test_a_corrected_cleanup_counts_with_its_corrected_figure_only(demo: None) -> None:
    """The water bureau's clean-up entered as 6,400 kg and corrected to 640 kg counts 0.64 t."""
    context = await _county_admin()
    bureau = await _unit_named("县水务局")
    cleanups = await _cleanups_under(bureau)

    garbage = await rollup(context, bureau, "garbage_cleared_t", None, None)

    assert Decimal("6400") not in {Decimal(str(r.details["garbage_kg"])) for r in cleanups}
    assert garbage.total == sum(Decimal(str(r.details["garbage_kg"])) for r in cleanups) / 1000
    assert garbage.total is not None and garbage.total < Decimal("6.4")


@in_module_loop
async def test_every_recorded_figure_adds_to_the_published_ones(demo: None) -> None:
    """All time, Weixin's garbage and participants are the published figures plus its
    clean-ups: nothing counted twice, nothing lost."""
    context = await _county_admin()
    weixin = await _unit_named("威信县")
    cleanups = await _cleanups_under(weixin)

    garbage = await rollup(context, weixin, "garbage_cleared_t", None, None)
    people = await rollup(context, weixin, "participants", None, None)

    kg = sum(Decimal(str(r.details["garbage_kg"])) for r in cleanups)
    assert garbage.total == SUMS["garbage_cleared_t"] + kg / 1000
    assert people.total == SUMS["participants"] + sum(
        Decimal(r.details["participants"]) for r in cleanups
    )


# -- geometry (illustrative) --------------------------------------------------------------------


@in_module_loop
async def test_the_chishui_segments_and_yangzonghai_carry_illustrative_geometry(
    demo: None,
) -> None:
    """The rivers near Weixin lie around 105.0°E 27.8°N; the lake's outline holds
    102.98°E 24.90°N; every one of Weixin's segments is drawn."""
    drawn = {w.code: w.geometry for w in await WaterBody.all() if w.geometry is not None}
    weixin_segments = [
        w.code
        for w in await WaterBody.filter(
            kind=WaterKind.SEGMENT, parent__parent__code="chishui_basin"
        )
    ]

    assert weixin_segments and all(code in drawn for code in weixin_segments)
    town = shape(drawn["zhaxi_river_town"])
    assert town.geom_type == "LineString"
    assert abs(town.centroid.x - 105.0) < 0.1 and abs(town.centroid.y - 27.8) < 0.1
    assert shape(drawn["yzh_lake"]).contains(Point(102.98, 24.90))
    weixin = await OrgUnit.get(code="530629")
    assert weixin.geometry == {"type": "Point", "coordinates": [105.05, 27.84]}


def test_a_bad_geometry_names_the_file_and_the_entry(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    _edit(
        data / "geometry.yaml",
        "coordinates: [[105.02, 27.83], [105.05, 27.845]]",
        "coordinates: [[105.02, 27.83]]",
    )

    with pytest.raises(
        DemoDataError,
        match=r"geometry\.yaml: water_bodies 'zhaxi_river_town': A LineString has at least 2",
    ):
        read_demo(data)
