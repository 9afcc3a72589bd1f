"""The process-wide policy engine: pycasbin's AsyncEnforcer plus the indexes that let the
scope filter turn a viewer's grants into SQL without calling ``enforce`` per row."""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import casbin
from tortoise.transactions import in_transaction

from core import telemetry
from core.policy import Grant
from models.enums import PAIRING_KINDS, LinkKind, OrgLevel
from models.org import OrgLink, OrgUnit, WaterBody
from models.paths import path_ids
from policies.adapter import TortoiseAdapter
from policies.rights import FIELD_WORK
from policies.store import Line, add_lines, policy_is_empty

if TYPE_CHECKING:
    from casbin.persist.adapters.asyncio import AsyncAdapter
    from tortoise.backends.base.client import BaseDBAsyncClient

log = logging.getLogger("riverchief.policy")

POLICY_DIR = Path(__file__).parent
MODEL_PATH = POLICY_DIR / "model.conf"
ROLES_PATH = POLICY_DIR / "roles.csv"
ALL_LEVELS = "*"


class Role(StrEnum):
    """The roles a grant can give (the contract's names, lower case on the wire)."""

    COUNTY_ADMIN = "county_admin"
    TOWNSHIP_HEAD = "township_head"
    VILLAGE_SECRETARY = "village_secretary"
    GRID_LEADER = "grid_leader"
    DEPARTMENT_HEAD = "department_head"
    INSPECTOR = "inspector"
    ENTERPRISE_CHIEF = "enterprise_chief"
    BASIN_SECRETARY = "basin_secretary"


ROLES = tuple(role.value for role in Role)

# What the role policy grants: each resource with each action (in the order of the columns of
# docs/permissions.md). A rule naming anything else is refused when the policy is read.
RESOURCES = (
    "org",
    "person",
    "person_pii",
    "task",
    "task.report",
    "record",
    "record.patrol",
    "record.cleanup",
    "record.pledge",
    "record.assessment",
    "record.reward",
    "record.penalty",
    "record.finding",
    "indicator",
    "audit",
    "grant",
)


class PolicyAction(StrEnum):
    """What a permission line allows on its resource (the policy's own words)."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    ASSIGN = "assign"
    TRANSITION = "transition"
    VERIFY = "verify"
    GRANT = "grant"


ACTIONS = tuple(action.value for action in PolicyAction)

# What a pairing (OrgLink) passes on to the partner: reading, and filing patrols and clean-ups.
# Never issuing or verifying tasks, editing, granting, or any other record there.
PAIRED_ACTIONS = ("read",)
PAIRED_RESOURCES = tuple(sorted(right.resource for right in FIELD_WORK))
# The same rule in the Casbin matcher (policies/model.conf): checked when the engine starts.
PAIRING_GUARD = (
    "("
    + " || ".join(
        [f'r.act == "{a}"' for a in PAIRED_ACTIONS] + [f'r.obj == "{o}"' for o in PAIRED_RESOURCES]
    )
    + ") && pairedWith(r.sub, p.sub, r.dom)"
)


@dataclass(frozen=True)
class Permission:
    role: str
    level: str
    resource: str
    action: str

    @property
    def line(self) -> Line:
        return (self.role, self.level, self.resource, self.action)


def read_role_policy(path: Path = ROLES_PATH) -> list[Permission]:
    """The shipped role policy (``policies/roles.csv``)."""
    rules = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, skipinitialspace=True):
            if not row or row[0].startswith("#"):
                continue
            ptype, role, level, resource, action = (cell.strip() for cell in row)
            rule = Permission(role, level, resource, action)
            if ptype != "p" or not known_permission(rule):
                raise ValueError(f"bad role policy line: {row}")
            rules.append(rule)
    return rules


def known_permission(rule: Permission) -> bool:
    """Whether a permission line names a role, a level (or ``*``), a resource and an action
    of the policy's vocabulary."""
    known = rule.role in ROLES and rule.resource in RESOURCES and rule.action in ACTIONS
    return known and (rule.level == ALL_LEVELS or rule.level in {lv.value for lv in OrgLevel})


def grant_prefix(domain: str) -> str:
    return domain[:-1] if domain.endswith("*") else domain


def through_pairings(resource: str, action: str) -> bool:
    """Whether a grant's pairings carry this right to the partner (``PAIRED_*``)."""
    return action in PAIRED_ACTIONS or resource in PAIRED_RESOURCES


class Watcher(Protocol):
    async def announce(self, conn: BaseDBAsyncClient) -> None: ...


@dataclass(frozen=True)
class Basin:
    """A basin committee's basin: the water body of its ``BASIN`` link, and the path prefixes
    of the units it and its parts run through, outside the committee's own subtree."""

    water_body_id: int
    prefixes: tuple[str, ...]


class PolicyEngine:
    """Owns the enforcer. Reload after any change to rules or pairings.

    The live engine reads the ``casbin_rule`` table; given another adapter (the rules in
    force at a past moment, ``policies.history``), the same construction decides for then.
    """

    def __init__(self, adapter: AsyncAdapter | None = None) -> None:
        rules = adapter if adapter is not None else TortoiseAdapter()
        self.enforcer = casbin.AsyncEnforcer(str(MODEL_PATH), rules)
        self.enforcer.enable_auto_save(False)
        if PAIRING_GUARD not in MODEL_PATH.read_text(encoding="utf-8"):
            raise RuntimeError(f"{MODEL_PATH.name} does not guard pairings as PAIRED_* say")
        self.enforcer.add_named_domain_matching_func("g", self._domain_covers)
        self.enforcer.add_function("pairedWith", self._paired_with)
        self.enforcer.add_function("holdsBelow", self._holds_below)
        self._links: dict[str, tuple[str, ...]] = {}
        self._basins: dict[str, tuple[Basin, ...]] = {}
        self._commands: dict[str, tuple[str, ...]] = {}
        self._grants: dict[str, list[Grant]] = {}
        self._permissions: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        self.generation = 0
        self.watcher: Watcher | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> PolicyEngine:
        """Shared, never copied.

        pycasbin deep-copies its model on every ``load_policy``, and the model reaches this
        engine through the matching functions bound to it. A copy would be wasted work, and
        with a watcher attached it would try to copy a live database connection and fail.
        """
        return self

    # -- loading ---------------------------------------------------------------------------

    async def seed_if_empty(self) -> bool:
        """Load the shipped role policy into an empty rule table, with its history.

        For test and benchmark data: no audit event records it. The service seeds through
        ``resolvers.role_policy.seed_role_policy``, which writes one. Processes starting
        together on an empty PostgreSQL database take turns, so the policy is written once.
        """
        async with in_transaction() as conn:
            if not await policy_is_empty(conn):
                return False
            lines = [rule.line for rule in read_role_policy()]
            await add_lines(conn, lines, at=datetime.now(UTC), by=None)
        log.info("seeded the role policy from %s", ROLES_PATH.name)
        return True

    async def reload(self) -> None:
        """Rules, grants and pairings from the database, swapped in together."""
        await self.load()
        self.generation += 1
        telemetry.policy_reloaded()

    async def load(self) -> None:
        """Rules and grants from the adapter, pairings from the database.

        The pairings and the basins are read first: after ``load_policy``'s last wait, they
        and the indexes ``g``, ``pairedWith`` and ``holdsBelow`` read take their place before
        anything else can run. A request running meanwhile sees the old policy or the new one,
        never the grants of one with the pairings of the other.
        """
        links = await self._load_links()
        basins = await self._load_basins()
        await self.enforcer.load_policy()
        self._links = links
        self._basins = basins
        self._commands = {
            path: _outermost({p for basin in found for p in basin.prefixes})
            for path, found in basins.items()
        }
        self._index()

    async def _load_links(self) -> dict[str, tuple[str, ...]]:
        """Pairings, as the extra path prefixes each unit's grants reach.

        An enterprise's responsibility segment (``RESPONSIBILITY``) widens nothing: the units a
        segment runs through are whole villages, other enterprises included. The enterprise's
        records name the segment (``waterBodyId``) instead.
        """
        reach: dict[str, set[str]] = defaultdict(set)
        links = OrgLink.filter(kind__in=PAIRING_KINDS)
        for link in await links.prefetch_related("unit", "partner", "water_body__units"):
            if link.partner is not None:
                reach[link.unit.path].add(link.partner.path)
            if link.water_body is not None:
                for unit in link.water_body.units:
                    reach[link.unit.path].add(unit.path)
        return {path: tuple(sorted(paths)) for path, paths in reach.items()}

    async def _load_basins(self) -> dict[str, tuple[Basin, ...]]:
        """Basin committees (``BASIN`` links), by the committee's path: each basin with the
        extra path prefixes the committee's grants cover for every right, the units the basin
        and all of its parts (rivers, segments) run through, in any county, each with its
        subtree.

        Read again with everything else on each reload, so a change to a water body's units
        (or to its parts) reaches the committee's grants when the change is announced, as a
        change of pairings does.
        """
        commanded = await OrgLink.filter(kind=LinkKind.BASIN, water_body_id__isnull=False)
        if not commanded:
            return {}
        parts: dict[int | None, list[int]] = defaultdict(list)
        for water_id, parent_id in await WaterBody.all().values_list("id", "parent_id"):
            parts[parent_id].append(water_id)
        runs: dict[int, set[str]] = defaultdict(set)
        for water_id, path in await WaterBody.all().values_list("id", "units__path"):
            if path is not None:
                runs[water_id].add(path)
        unit_paths = dict(await OrgUnit.all().values_list("id", "path"))
        basins: dict[str, list[Basin]] = defaultdict(list)
        for link in sorted(commanded, key=lambda link: link.id):
            if link.water_body_id is None:
                continue
            own = unit_paths[link.unit_id]
            covered: set[str] = set()
            waters = [link.water_body_id]
            seen: set[int] = set()
            while waters:
                water = waters.pop()
                if water in seen:
                    continue
                seen.add(water)
                waters.extend(parts.get(water, ()))
                covered.update(p for p in runs[water] if not p.startswith(own))
            basins[own].append(Basin(link.water_body_id, _outermost(covered)))
        return {path: tuple(found) for path, found in basins.items()}

    def _index(self) -> None:
        grants: dict[str, list[Grant]] = defaultdict(list)
        for subject, role, domain, *_ in self.enforcer.get_grouping_policy():
            grants[subject].append(Grant(subject, role, grant_prefix(domain)))
        permissions: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        for role, level, resource, action, *_ in self.enforcer.get_policy():
            permissions[(resource, action)][role].add(level)
        self._grants = dict(grants)
        self._permissions = {
            key: {role: frozenset(levels) for role, levels in by_role.items()}
            for key, by_role in permissions.items()
        }

    # -- the decisions ---------------------------------------------------------------------

    def enforce(self, subject: str, path: str, level: str, resource: str, action: str) -> bool:
        if not subject or not path:
            return False
        return bool(self.enforcer.enforce(subject, path, level, resource, action))

    def grants_of(self, subject: str) -> list[Grant]:
        return list(self._grants.get(subject, ())) if subject else []

    def roles_with(self, resource: str, action: str) -> dict[str, frozenset[str]]:
        """Roles that may do ``action`` on ``resource``, each with the levels (or ``*``)."""
        return self._permissions.get((resource, action), {})

    def permissions_of_role(self, role: str) -> list[tuple[str, str, str]]:
        return [
            (level, resource, action)
            for (resource, action), by_role in self._permissions.items()
            for level in by_role.get(role, ())
        ]

    def covers(self, prefix: str) -> tuple[str, ...]:
        """Every path prefix a grant at ``prefix`` covers for every right of its role: the
        subtree, and for a basin committee the units its basin runs through."""
        return (prefix, *self._commands.get(prefix, ()))

    def basin_of(self, prefix: str, path: str) -> int | None:
        """The water body through which a grant at ``prefix`` (a basin committee's) covers
        the unit at ``path``, if it covers it only through a basin: its ``BASIN`` link's."""
        if path.startswith(prefix):
            return None
        for basin in self._basins.get(prefix, ()):
            if any(path.startswith(p) for p in basin.prefixes):
                return basin.water_body_id
        return None

    def reach(self, prefix: str) -> tuple[str, ...]:
        """Every path prefix a grant at ``prefix`` covers for the rights that pass through
        pairings (``through_pairings``): what it ``covers``, and its pairings. Other rights
        cover what it ``covers`` alone."""
        return (*self.covers(prefix), *self._links.get(prefix, ()))

    # -- functions the Casbin matcher calls ------------------------------------------------

    def _domain_covers(self, request_path: str, domain: str) -> bool:
        """``g``: a grant covers its unit's subtree, and a basin committee's grant the units
        its basin runs through (``covers``)."""
        return any(request_path.startswith(p) for p in self.covers(grant_prefix(domain)))

    def _paired_with(self, subject: str, role: str, request_path: str) -> bool:
        """``pairedWith``: the subject holds ``role`` at a unit paired with one above or at
        ``request_path``. The matcher asks only for rights that pass through pairings."""
        return any(
            g.role == role and any(request_path.startswith(p) for p in self._links[g.prefix])
            for g in self._grants.get(subject, ())
            if g.prefix in self._links
        )

    def _holds_below(self, subject: str, role: str, request_path: str) -> bool:
        return any(
            g.role == role and g.prefix.startswith(request_path)
            for g in self._grants.get(subject, ())
        )

    # -- changes ---------------------------------------------------------------------------

    async def apply_grant(self, grant: Grant) -> None:
        """Mirror a grant already committed to the database into this process."""
        await self.enforcer.add_named_grouping_policy("g", grant.subject, grant.role, grant.domain)
        self._index()

    async def announce_change(self, conn: BaseDBAsyncClient) -> None:
        """Inside the transaction that changes rules or grants: every other server process
        hears of it when, and only if, the transaction commits (no-op with one process)."""
        if self.watcher is not None:
            await self.watcher.announce(conn)

    async def apply_revoke(self, grant: Grant) -> None:
        await self.enforcer.remove_named_grouping_policy(
            "g", grant.subject, grant.role, grant.domain
        )
        self._index()


def _outermost(paths: set[str]) -> tuple[str, ...]:
    """The paths none of the others already holds as a subtree, sorted."""
    return tuple(sorted(p for p in paths if not any(p != o and p.startswith(o) for o in paths)))


def ancestors(path: str) -> list[str]:
    """The paths of every unit above the one at ``path``."""
    ids = path_ids(path)
    return ["/" + "".join(f"{i}/" for i in ids[:n]) for n in range(1, len(ids))]
