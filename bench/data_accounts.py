"""Login accounts for every unit head, and their Casbin grants.

A grant is the row ``g, user:<id>, <role>, <unit path>*`` (see ``policies/engine.py``). The
grant count can be set: fewer keeps the fixed benchmark accounts and drops other heads'
grants (their accounts stay, so tasks and the audit trail are unchanged); more adds deputy
grid leaders and village secretaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bench.data_clock import SETUP
from bench.data_tables import CASBIN_RULE, USER, Rows
from bench.data_text import INSPECTOR_SEATS
from bench.data_tree import County, Ids, Unit
from models.enums import OrgLevel

HEAD_ROLES: Final = {
    OrgLevel.COUNTY: "county_admin",
    OrgLevel.TOWNSHIP: "township_head",
    OrgLevel.VILLAGE: "village_secretary",
    OrgLevel.GRID: "grid_leader",
    OrgLevel.DEPARTMENT: "department_head",
}
BENCH_ACCOUNTS: Final = (
    "bench_county",
    "bench_township",
    "bench_village",
    "bench_grid",
    "bench_inspector",
    "bench_department",
)
BENCH_PASSWORD: Final = "bench-pass"  # noqa: S105 - the published password of the bench accounts
ACCOUNT_CREATED: Final = SETUP.replace(day=3)


class GrantCountError(ValueError):
    """Fewer grants asked for than the fixed benchmark accounts hold."""


@dataclass(frozen=True)
class Grant:
    user_id: int
    role: str
    path: str
    fixed: bool  # a benchmark account's: always kept


class Accounts:
    """Creates the accounts as counties are built, and the grants once all exist."""

    def __init__(self, ids: Ids, rows: Rows, password_hash: str) -> None:
        self.ids = ids
        self.rows = rows
        self.password_hash = password_hash
        self.grants: list[Grant] = []

    def county(self, county: County) -> None:
        fixed = _fixed_units(county) if county.index == 0 else {}
        for unit in county.units():
            name = fixed.get(unit.id, f"head_{unit.id}")
            unit.head_user = self._user(name, unit.head_person)
            self._grant(unit.head_user, HEAD_ROLES[unit.level], unit, unit.id in fixed)
        for n, seat in enumerate(INSPECTOR_SEATS, start=1):
            bench = county.index == 0 and n == 1
            name = "bench_inspector" if bench else f"inspector_{county.unit.id}_{n}"
            person = county.unit.first_person + seat
            user_id = self._user(name, person)
            county.inspectors.append((user_id, person))
            self._grant(user_id, "inspector", county.unit, bench)

    def write_grants(self, counties: list[County], total: int | None) -> int:
        """Write ``total`` grants (default: one per head and inspector); return how many."""
        fixed = sum(g.fixed for g in self.grants)
        if total is not None and total < fixed:
            raise GrantCountError(f"--grants must be at least {fixed}: the benchmark accounts")
        wanted = len(self.grants) if total is None else total
        others = wanted - fixed
        kept = []
        for grant in self.grants:
            if grant.fixed or others > 0:
                kept.append(grant)
                others -= 0 if grant.fixed else 1
        kept.extend(self._deputies(counties, wanted - len(kept)))
        for grant in kept:
            self.rows.add(
                CASBIN_RULE,
                (
                    self.ids.take("casbin_rule"),
                    "g",
                    f"user:{grant.user_id}",
                    grant.role,
                    f"{grant.path}*",
                    "",
                    "",
                    "",
                ),
            )
        return len(kept)

    def _deputies(self, counties: list[County], count: int) -> list[Grant]:
        """Deputy secretaries and grid leaders, spread over every village and grid in turn."""
        if count <= 0:
            return []
        pool = [
            unit
            for county in counties
            for unit in county.units()
            if unit.level in (OrgLevel.VILLAGE, OrgLevel.GRID)
        ]
        deputies = []
        for i in range(count):
            unit, round_ = pool[i % len(pool)], i // len(pool) + 1
            person = unit.first_person + 1 + (round_ - 1) % (unit.people - 1)
            user_id = self._user(f"deputy_{unit.id}_{round_}", person)
            deputies.append(Grant(user_id, HEAD_ROLES[unit.level], unit.path, False))
        return deputies

    def _user(self, username: str, person_id: int) -> int:
        user_id = self.ids.take("user")
        self.rows.add(
            USER,
            (user_id, username, self.password_hash, person_id, True, 0, ACCOUNT_CREATED, None),
        )
        return user_id

    def _grant(self, user_id: int, role: str, unit: Unit, fixed: bool) -> None:
        self.grants.append(Grant(user_id, role, unit.path, fixed))


def _fixed_units(county: County) -> dict[int, str]:
    """The first county's benchmark heads: its first township, village, grid, department."""
    township = county.townships[0]
    village = township.children[0]
    return {
        county.unit.id: "bench_county",
        township.id: "bench_township",
        village.id: "bench_village",
        village.children[0].id: "bench_grid",
        county.departments[0].id: "bench_department",
    }
