"""The property the design asks of the scope filter: SQL and ``enforce`` never disagree.

For random trees (levels under ``ALLOWED_PARENTS``), random pairings (unit ↔ unit, unit ↔
river, an enterprise's responsibility segment and a basin committee's basin), random grants
and random role policies (with rights that pass through pairings and rights that do not), the
rows the scope filter lets
through in SQL — lists, ``totalCount``, ``taskStats`` and rollups alike — are exactly the rows
for which ``enforce`` says yes at the row's unit. One database per test; every example
clears the tables and builds its own tree on the real backend (SQLite, or PostgreSQL when
``RIVERCHIEF_TEST_DATABASE_URL`` says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections
from tortoise.context import TortoiseContext

from core.context import RequestContext, Viewer
from core.security import TokenSigner
from models.enums import Aggregation, LinkKind, OrgLevel, RecordType, TaskCategory, WaterKind
from models.indicator import Indicator, Observation
from models.org import ALLOWED_PARENTS, OrgLink, OrgUnit, WaterBody
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from policies.engine import ROLES, PolicyEngine, read_role_policy
from policies.rights import ORG_READ, TASK_READ, policy_right
from policies.scope import compile_scope, scope
from resolvers.indicators import rollup
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import TEST_SECRET, recount_counters

SHIPPED = [(r.role, r.level, r.resource, r.action) for r in read_role_policy()]
SHIPPED_PAIRS = sorted({(resource, action) for _, _, resource, action in SHIPPED})
# Every pair the shipped policy names, and one that no role holds.
PAIRS = [*SHIPPED_PAIRS, ("audit", "update")]
# Checked in every example (the graph's lists and counts rest on them); each example adds a
# random few of the others.
READ_PAIRS = [("org", "read"), ("task", "read"), ("record", "read"), ("indicator", "read")]
USERS = (9001, 9002, 9003)
NOBODY = 9004  # logged in, holds no grant
METRIC = "prop_metric"

CHILD_LEVELS: dict[OrgLevel | None, list[OrgLevel]] = {
    parent: [level for level, parents in ALLOWED_PARENTS.items() if parent in parents]
    for parent in [None, *OrgLevel]
}

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Rule = tuple[str, str, str, str]  # role, level or *, resource, action


@dataclass
class Scenario:
    nodes: list[tuple[OrgLevel, int | None]]  # level, parent index
    links: list[tuple[int, int]]  # unit index, partner index
    # linked unit index, units the water runs through, and the link's kind: an enterprise's
    # responsibility segment (which widens nothing), a river pairing (reads and field work),
    # or a basin committee's basin (every right; the units are those of a segment of it)
    water: list[tuple[int, frozenset[int], LinkKind]]
    grants: list[tuple[int, str, int]]  # user, role, unit index
    tasks: list[int]  # per unit: how many tasks
    records: list[int]
    observations: list[int]
    policy: list[Rule] = field(default_factory=lambda: list(SHIPPED))
    pairs: list[tuple[str, str]] = field(default_factory=lambda: list(PAIRS))


WATER = [LinkKind.RESPONSIBILITY, LinkKind.RIVER_PAIRING, LinkKind.BASIN]


# Few enough pairs that a random policy often gives one role the same pair at several
# levels, or a level-limited rule where a broader one was expected.
# Reads and patrols pass through pairings; the others stay in the grant's subtree.
RANDOM_PAIRS = [
    ("org", "read"),
    ("org", "update"),
    ("task", "read"),
    ("task", "create"),
    ("task", "verify"),
    ("record", "read"),
    ("record.patrol", "create"),
    ("record.finding", "create"),
    ("indicator", "read"),
]


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[OrgLevel, int | None]]:
    size = draw(st.integers(min_value=1, max_value=14))
    nodes: list[tuple[OrgLevel, int | None]] = []
    for _ in range(size):
        parents = [None, *(i for i, (lv, _) in enumerate(nodes) if CHILD_LEVELS[lv])]
        parent = draw(st.sampled_from(parents))
        level = draw(st.sampled_from(CHILD_LEVELS[None if parent is None else nodes[parent][0]]))
        nodes.append((level, parent))
    return nodes


@st.composite
def scenarios(draw: st.DrawFn, policies: st.SearchStrategy[list[Rule]] | None = None) -> Scenario:
    nodes = draw(trees())
    n = len(nodes)
    index = st.integers(min_value=0, max_value=n - 1)
    return Scenario(
        nodes=nodes,
        links=draw(st.lists(st.tuples(index, index), max_size=3)),
        water=draw(
            st.lists(
                st.tuples(
                    index, st.frozensets(index, min_size=1, max_size=3), st.sampled_from(WATER)
                ),
                max_size=2,
            )
        ),
        grants=draw(
            st.lists(
                st.tuples(st.sampled_from(USERS), st.sampled_from(ROLES), index),
                max_size=6,
                unique=True,
            )
        ),
        tasks=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        records=draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        observations=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        policy=draw(policies) if policies is not None else list(SHIPPED),
        pairs=list(RANDOM_PAIRS)
        if policies is not None
        else READ_PAIRS
        + draw(
            st.lists(
                st.sampled_from([p for p in PAIRS if p not in READ_PAIRS]),
                min_size=1,
                max_size=5,
                unique=True,
            )
        ),
    )


LEVEL_OR_ALL = st.sampled_from(["*", *(lv.value for lv in OrgLevel)])


@st.composite
def random_policies(draw: st.DrawFn) -> list[Rule]:
    """A few rules per role over the pairs the checks query, most limited to one level."""
    rules = set()
    for role in ROLES:
        for level, (resource, action) in draw(
            st.lists(st.tuples(LEVEL_OR_ALL, st.sampled_from(RANDOM_PAIRS)), max_size=5)
        ):
            rules.add((role, level, resource, action))
    return sorted(rules)


# -- building and clearing ----------------------------------------------------------------


async def clear() -> None:
    await Observation.all().delete()
    await Indicator.all().delete()
    await AccountabilityRecord.all().delete()
    await Task.all().delete()
    await OrgLink.all().delete()
    await connections.get("default").execute_query("DELETE FROM water_body_unit")
    await WaterBody.all().update(parent_id=None)
    await WaterBody.all().delete()
    await CasbinRule.all().delete()
    await OrgUnit.all().update(parent_id=None)
    await OrgUnit.all().delete()


@dataclass
class Built:
    units: list[OrgUnit]
    engine: PolicyEngine
    observation_values: dict[int, Decimal]  # observation id → value
    decisions: dict[tuple[str, int, str, str], bool] = field(default_factory=dict)

    def enforce(self, subject: str, unit: OrgUnit, resource: str, action: str) -> bool:
        """``enforce`` at the unit, remembered: the checks ask the same question many times."""
        key = (subject, unit.id, resource, action)
        if key not in self.decisions:
            self.decisions[key] = self.engine.enforce(
                subject, unit.path, unit.level.value, resource, action
            )
        return self.decisions[key]


async def build(scenario: Scenario) -> Built:
    await clear()
    units: list[OrgUnit] = []
    for i, (level, parent) in enumerate(scenario.nodes):
        units.append(
            await OrgUnit.place(
                code=f"u{i}-{datetime.now(UTC).timestamp()}",
                name=f"unit {i}",
                level=level,
                parent=units[parent] if parent is not None else None,
            )
        )
    for unit_index, partner_index in scenario.links:
        await OrgLink.create(
            unit=units[unit_index], partner=units[partner_index], kind=LinkKind.CO_BUILDING
        )
    for n, (unit_index, runs_through, kind) in enumerate(scenario.water):
        water = await WaterBody.create(code=f"w{n}", name=f"river {n}", kind=WaterKind.SEGMENT)
        await water.units.add(*(units[i] for i in sorted(runs_through)))
        linked = water
        if kind is LinkKind.BASIN:  # the committee's basin reaches through to its segment
            linked = await WaterBody.create(code=f"b{n}", name=f"basin {n}", kind=WaterKind.BASIN)
            water.parent_id = linked.id
            await water.save(update_fields=["parent_id"])
        await OrgLink.create(unit=units[unit_index], water_body=linked, kind=kind)
    await CasbinRule.bulk_create(
        [
            CasbinRule(ptype="p", v0=role, v1=level, v2=resource, v3=action)
            for role, level, resource, action in scenario.policy
        ]
        + [
            CasbinRule(ptype="g", v0=f"user:{user}", v1=role, v2=f"{units[i].path}*")
            for user, role, i in scenario.grants
        ]
        # A stray grant with an empty subject must never give anonymous viewers anything.
        + [CasbinRule(ptype="g", v0="", v1="county_admin", v2=f"{units[0].path}*")]
    )
    due = datetime.now(UTC) + timedelta(days=3)
    overdue = datetime.now(UTC) - timedelta(days=3)
    await Task.bulk_create(
        [
            Task(
                title=f"task {i}.{k}",
                category=TaskCategory.PATROL,
                org_unit_id=unit.id,
                issuer_unit_id=units[parent].id if parent is not None else unit.id,
                due_at=overdue if k else due,
            )
            for i, (unit, (_, parent)) in enumerate(zip(units, scenario.nodes, strict=True))
            for k in range(scenario.tasks[i])
        ]
    )
    await AccountabilityRecord.bulk_create(
        [
            AccountabilityRecord(
                type=RecordType.PATROL,
                org_unit_id=unit.id,
                occurred_at=datetime.now(UTC),
                summary=f"record {i}.{k}",
            )
            for i, unit in enumerate(units)
            for k in range(scenario.records[i])
        ]
    )
    indicator = await Indicator.create(
        code=METRIC, name="a metric", unit="t", aggregation=Aggregation.SUM
    )
    await Observation.bulk_create(
        [
            Observation(
                indicator_id=indicator.id,
                org_unit_id=unit.id,
                period=date(2024, 1 + k, 1),
                value=Decimal(10 * i + k + 1),
            )
            for i, unit in enumerate(units)
            for k in range(scenario.observations[i])
        ]
    )
    await recount_counters()
    values = {
        row_id: Decimal(value)
        for row_id, value in await Observation.all().values_list("id", "value")
    }
    engine = PolicyEngine()
    await engine.reload()
    return Built(units, engine, values)


def context_for(engine: PolicyEngine, user: int | None) -> RequestContext:
    viewer = Viewer(id=user, username=f"user{user}", person_id=None) if user else None
    return RequestContext(
        viewer=viewer,
        policy=engine,
        request_id="property",
        signer=TokenSigner(TEST_SECRET, 60),
    )


# -- the checks -----------------------------------------------------------------------------

ROW_MODELS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    # model, the resources whose every action is checked on it
    "Task": (Task, ("task",)),
    "AccountabilityRecord": (AccountabilityRecord, ("record", "record.patrol", "record.finding")),
    "Observation": (Observation, ("indicator",)),
}


async def rows_by_unit(model: type[Any]) -> dict[int, int]:
    """row id → unit id"""
    if model is OrgUnit:
        return {row_id: row_id for row_id in await OrgUnit.all().values_list("id", flat=True)}
    return dict(await model.all().values_list("id", "org_unit_id"))


async def check_lists_and_counts(built: Built, scenario: Scenario) -> None:
    engine = built.engine
    unit_by_id = {u.id: u for u in built.units}
    rows = {name: await rows_by_unit(model) for name, (model, _) in ROW_MODELS.items()}
    rows["OrgUnit"] = await rows_by_unit(OrgUnit)
    for user in (*USERS, NOBODY):
        subject = f"user:{user}"
        for resource, action in scenario.pairs:
            decision = {u.id: built.enforce(subject, u, resource, action) for u in built.units}
            targets: list[tuple[str, type[Any], dict[str, str]]] = [
                ("OrgUnit", OrgUnit, {"path_field": "path", "level_field": "level"})
            ]
            targets += [
                (name, model, {})
                for name, (model, resources) in ROW_MODELS.items()
                if resource in resources
            ]
            for name, model, fields in targets:
                context = context_for(engine, user)
                query = scope(model.all(), context, policy_right(resource, action), **fields)
                got = set(await query.values_list("id", flat=True))
                want = {row for row, unit in rows[name].items() if decision[unit]}
                assert got == want, (
                    f"{name} {resource}/{action} for {subject}: SQL {sorted(got)}, "
                    f"enforce {sorted(want)}; units "
                    f"{[(u.id, u.path, u.level.value) for u in built.units]}; "
                    f"grants {engine.grants_of(subject)}"
                )
                if action == "read":
                    assert await query.count() == len(want)
                # The loaded-row check of the same scope agrees as well.
                loaded = compile_scope(engine, subject, resource, action)
                for row, unit_id in rows[name].items():
                    unit = unit_by_id[unit_id]
                    assert loaded.allows(unit.path, unit.level.value) == (row in want)


def task_subtree(built: Built, unit: OrgUnit, allowed: set[int], tasks: dict[int, int]) -> int:
    by_id = {u.id: u for u in built.units}
    return sum(
        1
        for task, unit_id in tasks.items()
        if task in allowed and by_id[unit_id].path.startswith(unit.path)
    )


TASKS = "{ tasks(first: 100) { totalCount edges { node { id } } } }"
UNITS = "{ orgUnits(first: 100) { totalCount edges { node { id taskStats { total overdue } } } } }"
SUBTREE = """
query Subtree($unit: ID!) {
  tasks(filter: {orgUnitId: $unit, includeDescendants: true}) { totalCount }
}
"""


async def execute(
    engine: PolicyEngine, user: int | None, query: str, **variables: Any
) -> tuple[Any, set[str]]:
    result = await schema.execute(query, variables, context_value=context_for(engine, user))
    return result.data, {(e.extensions or {}).get("code", "") for e in result.errors or []}


def holds_any(scenario: Scenario, user: int, resource: str, action: str) -> bool:
    roles = {role for u, role, _ in scenario.grants if u == user}
    return any(r in roles for r, _, res, act in scenario.policy if (res, act) == (resource, action))


async def check_graph(built: Built, scenario: Scenario, probe: int) -> None:
    engine = built.engine
    tasks = dict(await Task.all().values_list("id", "org_unit_id"))
    overdue = set(await Task.filter(due_at__lt=datetime.now(UTC)).values_list("id", flat=True))
    by_id = {u.id: u for u in built.units}
    probe_unit = built.units[probe]
    for user in (*USERS, NOBODY):
        subject = f"user:{user}"
        reads = {t for t, u in tasks.items() if built.enforce(subject, by_id[u], "task", "read")}
        units_read = {u.id for u in built.units if built.enforce(subject, u, "org", "read")}
        tasks_data, tasks_errors = await execute(engine, user, TASKS)
        subtree_data, subtree_errors = await execute(
            engine, user, SUBTREE, unit=to_global_id("OrgUnit", probe_unit.id)
        )
        units_data, units_errors = await execute(engine, user, UNITS)

        if holds_any(scenario, user, "task", "read"):
            assert not tasks_errors and not subtree_errors
            assert tasks_data["tasks"]["totalCount"] == len(reads)
            assert {e["node"]["id"] for e in tasks_data["tasks"]["edges"]} == {
                to_global_id("Task", t) for t in reads
            }
            expected_subtree = (
                task_subtree(built, probe_unit, reads, tasks) if probe_unit.id in units_read else 0
            )
            assert subtree_data["tasks"]["totalCount"] == expected_subtree
        else:
            assert tasks_data is None and subtree_data is None
            assert tasks_errors == subtree_errors == {"FORBIDDEN"}

        if holds_any(scenario, user, "org", "read"):
            assert not units_errors
            connection = units_data["orgUnits"]
            assert connection["totalCount"] == len(units_read)
            seen = {e["node"]["id"]: e["node"]["taskStats"] for e in connection["edges"]}
            assert set(seen) == {to_global_id("OrgUnit", u) for u in units_read}
            for unit_id in units_read:
                stats = seen[to_global_id("OrgUnit", unit_id)]
                unit = by_id[unit_id]
                assert stats["total"] == task_subtree(built, unit, reads, tasks)
                assert stats["overdue"] == task_subtree(built, unit, reads & overdue, tasks)
        else:
            assert units_data is None
            assert units_errors == {"FORBIDDEN"}


async def check_rollups(built: Built, probe: int) -> None:
    """Rollups over every root and over the probe unit."""
    engine = built.engine
    by_id = {u.id: u for u in built.units}
    observations = dict(await Observation.all().values_list("id", "org_unit_id"))
    over = [u for u in built.units if u.parent_id is None or u is built.units[probe]]
    for user in (*USERS, NOBODY):
        subject = f"user:{user}"
        for unit in over:
            readable = [
                built.observation_values[obs]
                for obs, unit_id in observations.items()
                if by_id[unit_id].path.startswith(unit.path)
                and built.enforce(subject, by_id[unit_id], "indicator", "read")
            ]
            # Nothing readable observed: null, not zero.
            want = sum(readable, Decimal(0)) if readable else None
            found = await rollup(context_for(engine, user), unit, METRIC, None, None)
            assert found.total == want, (subject, unit.path)


def check_anonymous(built: Built) -> None:
    engine = built.engine
    for resource, action in PAIRS:
        assert compile_scope(engine, "", resource, action).empty
        for unit in built.units:
            assert not engine.enforce("", unit.path, unit.level.value, resource, action)


# -- the properties ---------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
async def test_scope_equals_enforce_with_the_shipped_policy(
    db: TortoiseContext, scenario: Scenario, data: st.DataObject
) -> None:
    built = await build(scenario)
    probe = data.draw(st.integers(0, len(built.units) - 1), label="probe unit")

    await check_lists_and_counts(built, scenario)
    await check_graph(built, scenario, probe)
    await check_rollups(built, probe)
    check_anonymous(built)


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(scenario=scenarios(policies=random_policies()))
async def test_scope_equals_enforce_with_random_role_policies(
    db: TortoiseContext, scenario: Scenario
) -> None:
    built = await build(scenario)

    await check_lists_and_counts(built, scenario)
    check_anonymous(built)


# -- the empty subject never reaches Casbin ---------------------------------------------

CASBIN_ENTRY_POINTS = (
    "enforce",
    "enforce_ex",
    "get_filtered_policy",
    "get_filtered_grouping_policy",
    "get_filtered_named_policy",
    "get_filtered_named_grouping_policy",
    "get_roles_for_user_in_domain",
    "get_implicit_roles_for_user",
    "get_implicit_permissions_for_user",
    "get_permissions_for_user_in_domain",
)


async def test_an_empty_or_anonymous_subject_is_refused_before_any_casbin_call(
    db: TortoiseContext,
) -> None:
    scenario = Scenario(
        nodes=[(OrgLevel.COUNTY, None), (OrgLevel.TOWNSHIP, 0), (OrgLevel.VILLAGE, 1)],
        links=[],
        water=[],
        grants=[(USERS[0], "county_admin", 0)],
        tasks=[1, 1, 1],
        records=[1, 1, 1],
        observations=[1, 1, 1],
    )
    built = await build(scenario)
    engine = built.engine
    # Casbin itself, asked with "", matches the stray empty-subject grant: the reason the
    # engine must refuse first.
    assert engine.enforcer.get_filtered_grouping_policy(0, "") != []

    spies = {name: mock.Mock(side_effect=AssertionError(name)) for name in CASBIN_ENTRY_POINTS}
    with mock.patch.multiple(engine.enforcer, **spies):  # type: ignore[arg-type]
        for resource, action in PAIRS:
            for unit in built.units:
                assert engine.enforce("", unit.path, unit.level.value, resource, action) is False
            assert compile_scope(engine, "", resource, action).empty
        assert engine.grants_of("") == []
        anonymous = context_for(engine, None)
        for model in (Task, AccountabilityRecord, Observation):
            assert await scope(model.all(), anonymous, TASK_READ).count() == 0
        assert (
            await scope(
                OrgUnit.all(), anonymous, ORG_READ, path_field="path", level_field="level"
            ).count()
            == 0
        )
        answers = [
            await execute(engine, None, TASKS),
            await execute(engine, None, UNITS),
            await execute(engine, None, SUBTREE, unit=to_global_id("OrgUnit", built.units[0].id)),
        ]
    for spy in spies.values():
        spy.assert_not_called()
    assert answers == [(None, {"UNAUTHENTICATED"})] * 3

    # The same user, properly identified, sees everything under the county.
    assert engine.enforce(f"user:{USERS[0]}", built.units[2].path, "VILLAGE", "task", "read")
