"""The property of as-of authorization: ``accessHolders`` at a moment is ``enforce`` on the
grants and the role policy of that moment.

Each example runs a random sequence of grants, revocations and role-policy changes through
the resolvers (so at increasing times), keeping its own account of what was in force when.
Then, for random moments (before everything, at each change, just before each change, now),
objects and rights, the holders the graph lists are exactly the grants in force then that a
fresh engine, loaded with only that grant and the permission lines in force then, allows;
and the accounts named are exactly those a fresh engine loaded with all those grants allows.
Runs on the real backend (SQLite, or PostgreSQL when ``RIVERCHIEF_TEST_DATABASE_URL`` says).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections

from core.errors import DomainError
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule, GrantHistory, RolePolicyHistory
from policies.adapter import RulesAdapter
from policies.engine import Permission, PolicyEngine
from policies.store import adopt_untracked_grants
from resolvers.grants import grant_role, revoke_role
from resolvers.role_policy import change_role_policy
from schema.build import schema
from tests.fixtures import PASSWORD_HASH, Tree

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ASKER = "county_admin"  # sees the whole of weixin, where every grant below is made
USERS = 3
GRANTED_ROLES = ("township_head", "village_secretary", "grid_leader", "department_head")
UNITS = ("zhaxi", "luobu", "shilong", "luobu_village", "grid_a", "grid_c", "water_bureau")
# Lines the sequence removes and adds back: some shipped, some not (added first).
LINES = (
    Permission("township_head", "*", "task", "verify"),
    Permission("village_secretary", "*", "task", "verify"),
    Permission("department_head", "*", "task", "read"),
    Permission("township_head", "VILLAGE", "org", "update"),
    Permission("grid_leader", "*", "task", "verify"),
    Permission("grid_leader", "GRID", "org", "update"),
)
RIGHTS = ("task:verify", "task:transition", "task:read", "task:assign", "org:read", "org:update")
ISSUER_RIGHTS = {"task:verify", "task:assign", "task:update"}
TASKS = ("zhaxi", "shilong", "grid_a", "grid_c", "luobu_village", "water_bureau")
OBJECT_UNITS = ("weixin", "zhaxi", "grid_c", "luobu_village")

HOLDERS = """
query Holders($object: ID!, $action: String!, $at: DateTime) {
  accessHolders(objectId: $object, action: $action, at: $at) {
    user { username } role orgUnit { name } grantedAt revokedAt
  }
}
"""

_examples = itertools.count(1)


@dataclass
class Held:
    username: str
    user_id: int
    role: str
    unit: str
    path: str
    granted_at: datetime
    revoked_at: datetime | None = None


@dataclass
class InForce:
    line: Permission
    added_at: datetime
    removed_at: datetime | None = None


def alive(start: datetime, end: datetime | None, at: datetime) -> bool:
    return start <= at and (end is None or end > at)


@dataclass
class Ledger:
    """The test's own account of what held when."""

    holdings: list[Held] = field(default_factory=list)
    lines: list[InForce] = field(default_factory=list)
    changes: list[datetime] = field(default_factory=list)

    def at(self, moment: datetime) -> tuple[list[Held], list[Permission]]:
        return (
            [h for h in self.holdings if alive(h.granted_at, h.revoked_at, moment)],
            [x.line for x in self.lines if alive(x.added_at, x.removed_at, moment)],
        )


Op = tuple[str, int, str, str]  # grant/revoke: user, role, unit; add/remove: line index

grants = st.tuples(
    st.sampled_from(["grant", "grant", "revoke"]),
    st.integers(0, USERS - 1),
    st.sampled_from(GRANTED_ROLES),
    st.sampled_from(UNITS),
)
policy_changes = st.tuples(
    st.sampled_from(["add", "remove"]), st.integers(0, len(LINES) - 1), st.just(""), st.just("")
)
sequences = st.lists(st.one_of(grants, grants, policy_changes), min_size=1, max_size=8)


# -- setting up each example ---------------------------------------------------------------


async def fresh_start(tree: Tree) -> tuple[Ledger, list[User]]:
    """No grant but the asker's, the shipped role policy, new accounts; history to match."""
    await GrantHistory.all().delete()
    await RolePolicyHistory.all().delete()
    await CasbinRule.all().delete()
    await tree.engine.seed_if_empty()
    weixin = tree.units["weixin"]
    asker = tree.users[ASKER]
    await CasbinRule.create(ptype="g", v0=f"user:{asker.id}", v1=ASKER, v2=f"{weixin.path}*")
    await adopt_untracked_grants(connections.get("default"), at=datetime.now(UTC))
    await tree.engine.reload()
    ledger = Ledger()
    for row in await GrantHistory.all():
        ledger.holdings.append(Held(ASKER, asker.id, ASKER, "weixin", weixin.path, row.granted_at))
    for line in await RolePolicyHistory.all():
        rule = Permission(line.role, line.level, line.resource, line.action)
        ledger.lines.append(InForce(rule, line.added_at))
    example = next(_examples)
    users = [
        await User.create(username=f"u{example}-{n}", password_hash=PASSWORD_HASH)
        for n in range(USERS)
    ]
    return ledger, users


async def play(tree: Tree, ledger: Ledger, users: list[User], op: Op) -> None:
    """One change through the resolvers, and into the ledger if it took effect."""
    kind, index, role, unit_name = op
    context = tree.context_for(ASKER)
    try:
        if kind in ("grant", "revoke"):
            user, unit = users[index], tree.units[unit_name]
            if kind == "grant":
                row = await grant_role(context, user.id, role, unit.id)
                assert row.holding is not None
                ledger.holdings.append(
                    Held(user.username, user.id, role, unit_name, unit.path, row.holding.granted_at)
                )
                ledger.changes.append(row.holding.granted_at)
            else:
                row = await revoke_role(context, user.id, role, unit.id)
                assert row.holding is not None and row.holding.revoked_at is not None
                (open_,) = [
                    h
                    for h in ledger.holdings
                    if (h.user_id, h.role, h.path, h.revoked_at) == (user.id, role, unit.path, None)
                ]
                open_.revoked_at = row.holding.revoked_at
                ledger.changes.append(row.holding.revoked_at)
        else:
            line = LINES[index]
            adding = kind == "add"
            await change_role_policy(
                context, add=[line] if adding else [], remove=[] if adding else [line]
            )
            changed = await RolePolicyHistory.filter(
                role=line.role, level=line.level, resource=line.resource, action=line.action
            ).order_by("-id")
            if adding:
                ledger.lines.append(InForce(line, changed[0].added_at))
                ledger.changes.append(changed[0].added_at)
            else:
                (open_line,) = [x for x in ledger.lines if x.line == line and x.removed_at is None]
                open_line.removed_at = changed[0].removed_at
                assert open_line.removed_at is not None
                ledger.changes.append(open_line.removed_at)
    except DomainError:
        return  # refused (already held, not held, not the asker's to grant): nothing changed


# -- the brute force -----------------------------------------------------------------------


async def fresh_engine(lines: list[Permission], held: list[Held]) -> PolicyEngine:
    rules = [["p", x.role, x.level, x.resource, x.action] for x in lines]
    rules += [["g", f"user:{h.user_id}", h.role, f"{h.path}*"] for h in held]
    engine = PolicyEngine(RulesAdapter(rules))
    await engine.load()
    return engine


def decided_at(tree: Tree, kind: str, name: str, right: str) -> OrgUnit:
    if kind == "Task":
        task = tree.tasks[name]
        unit_id = task.issuer_unit_id if right in ISSUER_RIGHTS else task.org_unit_id
        return next(u for u in tree.units.values() if u.id == unit_id)
    return tree.units[name]


@dataclass
class Moment:
    """Fresh engines for one moment: one per grant in force (loaded with that grant alone)
    and one with them all, each with the permission lines in force then."""

    alone: list[tuple[Held, PolicyEngine]]
    together: PolicyEngine

    @classmethod
    async def of(cls, ledger: Ledger, moment: datetime) -> Moment:
        held, lines = ledger.at(moment)
        alone = [(h, await fresh_engine(lines, [h])) for h in held]
        return cls(alone, await fresh_engine(lines, held))

    def expected(self, unit: OrgUnit, right: str) -> tuple[list[tuple[Any, ...]], set[str]]:
        resource, action = right.split(":")
        question = (unit.path, unit.level.value, resource, action)
        allowing = [h for h, engine in self.alone if engine.enforce(f"user:{h.user_id}", *question)]
        accounts = {
            h.username
            for h, _ in self.alone
            if self.together.enforce(f"user:{h.user_id}", *question)
        }
        rows = [(h.username, h.role, h.unit, h.granted_at, h.revoked_at) for h in allowing]
        return sorted(rows, key=lambda r: (r[0], r[3])), accounts


def listed(data: Any) -> list[tuple[Any, ...]]:
    def instant(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text is not None else None

    return [
        (
            h["user"]["username"],
            h["role"],
            h["orgUnit"]["name"],
            instant(h["grantedAt"]),
            instant(h["revokedAt"]),
        )
        for h in data["accessHolders"]
    ]


# -- the property --------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ops=sequences, data=st.data())
async def test_access_holders_at_a_moment_equal_enforce_on_the_policy_of_that_moment(
    tree: Tree, ops: list[Op], data: st.DataObject
) -> None:
    ledger, users = await fresh_start(tree)
    for op in ops:
        await play(tree, ledger, users, op)
    assert ledger.changes == sorted(set(ledger.changes))  # every change at a later moment
    first = min(h.granted_at for h in ledger.holdings)
    moments: list[datetime | None] = [first - timedelta(seconds=1), None]
    for change in ledger.changes:
        moments += [change, change - timedelta(microseconds=1)]
    objects = [("Task", name) for name in TASKS] + [("OrgUnit", name) for name in OBJECT_UNITS]
    questions = st.tuples(st.sampled_from(objects), st.sampled_from(RIGHTS))

    for moment in moments:
        engines = await Moment.of(ledger, moment or datetime.now(UTC))
        asked = data.draw(st.lists(questions, min_size=4, max_size=4), label="questions")
        for (kind, name), right in asked:
            object_id = tree.task_gid(name) if kind == "Task" else tree.unit_gid(name)
            at = moment.isoformat() if moment is not None else None

            result = await schema.execute(
                HOLDERS,
                {"object": object_id, "action": right, "at": at},
                context_value=tree.context_for(ASKER),
            )

            assert result.errors is None, result.errors
            want, accounts = engines.expected(decided_at(tree, kind, name, right), right)
            got = listed(result.data)
            assert got == want, (moment, kind, name, right, ops)
            assert {row[0] for row in got} == accounts
