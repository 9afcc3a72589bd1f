"""A small two-county tree with one account per role, built through the real models."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from core.checkpoint import LogKeys, LogSigner
from core.context import RequestContext, Viewer
from core.security import TokenSigner
from models.enums import LinkKind, OrgLevel, TaskCategory, TaskStatus
from models.org import OrgLink, OrgUnit
from models.people import Person, User
from models.policy import CasbinRule
from models.task import Task
from policies.engine import PolicyEngine
from policies.store import adopt_untracked_grants
from resolvers import indicator_sums, task_counters
from schema.node import to_global_id

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-signing"
# The key the tests' audit checkpoints are signed with (a seed of 32 bytes, known to all), and
# the same seed as RIVERCHIEF_AUDIT_KEY takes it.
TEST_LOG_KEYS = LogKeys(LogSigner(bytes(range(32))))
TEST_AUDIT_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
PASSWORD_HASH = (
    # argon2id of "demo-pass", computed once: hashing per test would dominate the suite.
    "$argon2id$v=19$m=65536,t=3,p=4$S6f4aiMymq2sNUZIfnWUdw$OLYDtx3N9QISVkIMyjnN0Jk+yQUJfk4loV0EsfND0rE"
)

# name: (level, parent name)
UNITS: dict[str, tuple[OrgLevel, str | None]] = {
    "weixin": (OrgLevel.COUNTY, None),
    "zhaxi": (OrgLevel.TOWNSHIP, "weixin"),
    "luobu": (OrgLevel.TOWNSHIP, "weixin"),
    "shilong": (OrgLevel.VILLAGE, "zhaxi"),
    "dahetan": (OrgLevel.VILLAGE, "zhaxi"),
    "luobu_village": (OrgLevel.VILLAGE, "luobu"),
    "grid_a": (OrgLevel.GRID, "shilong"),
    "grid_b": (OrgLevel.GRID, "dahetan"),
    "grid_c": (OrgLevel.GRID, "luobu_village"),
    "water_bureau": (OrgLevel.DEPARTMENT, "weixin"),
    "enterprise": (OrgLevel.ENTERPRISE, "shilong"),
    "yangzonghai": (OrgLevel.COUNTY, None),
    "tangchi": (OrgLevel.TOWNSHIP, "yangzonghai"),
    "qixing": (OrgLevel.VILLAGE, "tangchi"),
}

# username: (role, unit name)
ACCOUNTS: dict[str, tuple[str, str]] = {
    "county_admin": ("county_admin", "weixin"),
    "zhaxi_head": ("township_head", "zhaxi"),
    "luobu_head": ("township_head", "luobu"),
    "village_sec": ("village_secretary", "shilong"),
    "grid_leader": ("grid_leader", "grid_a"),
    "inspector": ("inspector", "weixin"),
    "dept_head": ("department_head", "water_bureau"),
    "yzh_admin": ("county_admin", "yangzonghai"),
    "enterprise_chief": ("enterprise_chief", "enterprise"),
}


@dataclass
class Tree:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    engine: PolicyEngine = field(default_factory=PolicyEngine)

    def unit_gid(self, name: str) -> str:
        return to_global_id("OrgUnit", self.units[name].id)

    def task_gid(self, name: str) -> str:
        return to_global_id("Task", self.tasks[name].id)

    def user_gid(self, username: str) -> str:
        return to_global_id("User", self.users[username].id)

    def context_for(self, username: str | None) -> RequestContext:
        viewer = None
        if username is not None:
            user = self.users[username]
            viewer = Viewer(id=user.id, username=user.username, person_id=user.person_id)
        return RequestContext(
            viewer=viewer,
            policy=self.engine,
            request_id="test-request",
            signer=TokenSigner(TEST_SECRET, 3600),
            log_keys=TEST_LOG_KEYS,
        )


_codes = itertools.count(1)


async def build_tree() -> Tree:
    tree = Tree()
    for name, (level, parent) in UNITS.items():
        tree.units[name] = await OrgUnit.place(
            code=f"{name}-{next(_codes)}",
            name=name,
            level=level,
            parent=tree.units[parent] if parent else None,
        )
    await OrgLink.create(
        unit=tree.units["water_bureau"],
        partner=tree.units["luobu_village"],
        kind=LinkKind.CO_BUILDING,
    )
    for name, unit in tree.units.items():
        tree.people[name] = await Person.create(
            name=f"person of {name}",
            org_unit=unit,
            phone="13812345678",
            id_number="530627198001011234",
        )
    for username, (role, unit_name) in ACCOUNTS.items():
        user = await User.create(
            username=username, password_hash=PASSWORD_HASH, person=tree.people[unit_name]
        )
        tree.users[username] = user
        await CasbinRule.create(
            ptype="g", v0=f"user:{user.id}", v1=role, v2=f"{tree.units[unit_name].path}*"
        )
    now = datetime.now(UTC)
    await adopt_untracked_grants(connections.get("default"), at=now)  # held from now on
    for name, unit in tree.units.items():
        parent_name = UNITS[name][1]
        issuer = tree.units[parent_name] if parent_name else unit
        tree.tasks[name] = await Task.create(
            title=f"task of {name}",
            category=TaskCategory.PATROL,
            status=TaskStatus.ASSIGNED,
            org_unit=unit,
            issuer_unit=issuer,
            due_at=now + timedelta(days=7),
            assignee=tree.people[name],
        )
    await recount_counters()  # written straight to the table: the dashboards' counters follow
    await tree.engine.seed_if_empty()
    await tree.engine.reload()
    return tree


async def recount_counters() -> None:
    """Count tasks and observations written straight to their tables (not through the API)
    into the dashboards' counters and the indicator sums."""
    async with in_transaction() as conn:
        await task_counters.rebuild(conn)
        await indicator_sums.rebuild(conn)


ContextFor = Callable[[str | None], RequestContext]
