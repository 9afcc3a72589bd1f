"""One county's tree: units with materialized paths, water bodies, pairings and people.

Ids are handed out here, in depth-first order, so every path and foreign key is known
without asking the database. A unit's people have consecutive ids, its head first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import Final

from bench import data_text as text
from bench.data_clock import SETUP
from bench.data_tables import ORG_LINK, ORG_UNIT, PERSON, WATER_BODY, WATER_BODY_UNIT, Rows
from models.enums import LinkKind, OrgLevel, WaterKind
from models.paths import child_path

TOWNSHIPS: Final = 10
VILLAGES_PER_TOWNSHIP: Final = 15
GRIDS_PER_VILLAGE: Final = 20
DEPARTMENTS: Final = len(text.DEPARTMENTS)
RIVERS: Final = 3
SEGMENTS_PER_RIVER: Final = 4
VILLAGES_PER_SEGMENT: Final = 3
PAIRED_VILLAGES: Final = 3  # co-building villages per department
RIVER_PAIRED_DEPARTMENTS: Final = 5  # the first five departments also hold a river segment
PERSON_CREATED: Final = SETUP.replace(day=2)


class Ids:
    """The next id of each table; the dataset starts from empty tables."""

    def __init__(self, casbin_rule: int) -> None:
        self.unit = self.water = self.link = self.person = self.user = 1
        self.task = self.record = self.observation = 1
        self.casbin_rule = casbin_rule

    def take(self, name: str) -> int:
        value: int = getattr(self, name)
        setattr(self, name, value + 1)
        return value


@dataclass(eq=False)
class Unit:
    id: int
    name: str
    level: OrgLevel
    path: str
    parent: Unit | None
    first_person: int = 0
    people: int = 0
    head_user: int = 0  # filled in once accounts exist
    water_body: int | None = None  # the segment or river its records usually concern
    children: list[Unit] = field(default_factory=list)

    @property
    def head_person(self) -> int:
        return self.first_person


@dataclass(eq=False)
class County:
    index: int
    unit: Unit
    departments: list[Unit]
    townships: list[Unit]
    villages: list[Unit]
    grids: list[Unit]
    paired_villages: dict[int, list[Unit]]  # department id → co-building villages
    segments: list[int] = field(default_factory=list)  # water body ids
    water_names: dict[int, str] = field(default_factory=dict)  # water body id → name
    inspectors: list[tuple[int, int]] = field(default_factory=list)  # (user id, person id)

    def units(self) -> list[Unit]:
        """Every unit, in id order."""
        return subtree(self.unit)


class TreeBuilder:
    """Writes one county's units, water bodies, links and people."""

    def __init__(self, rng: Random, ids: Ids, rows: Rows) -> None:
        self.rng = rng
        self.ids = ids
        self.rows = rows

    def county(self, index: int) -> County:
        rng = self.rng
        code = f"BC{index + 1:03d}"
        county = self._unit(code, f"{text.place_name(rng)}县", OrgLevel.COUNTY, None)
        departments = [
            self._unit(f"{code}-D{j + 1:02d}", f"{county.name}{name}", OrgLevel.DEPARTMENT, county)
            for j, name in enumerate(text.DEPARTMENTS)
        ]
        townships, villages, grids = [], [], []
        for t in range(TOWNSHIPS):
            township = self._unit(
                f"{code}-T{t + 1:02d}", f"{text.place_name(rng)}镇", OrgLevel.TOWNSHIP, county
            )
            townships.append(township)
            for v in range(VILLAGES_PER_TOWNSHIP):
                suffix = "社区" if v == 0 else "村"
                village = self._unit(
                    f"{township_code(code, t)}-V{v + 1:02d}",
                    f"{text.place_name(rng)}{suffix}",
                    OrgLevel.VILLAGE,
                    township,
                )
                villages.append(village)
                for g in range(GRIDS_PER_VILLAGE):
                    grids.append(
                        self._unit(
                            f"{township_code(code, t)}-V{v + 1:02d}-G{g + 1:02d}",
                            f"{village.name}{text.NUMERALS[g]}组网格",
                            OrgLevel.GRID,
                            village,
                        )
                    )
        found = County(index, county, departments, townships, villages, grids, {})
        self._water(found)
        self._links(found)
        self._people(found, code)
        return found

    def _unit(self, code: str, name: str, level: OrgLevel, parent: Unit | None) -> Unit:
        unit_id = self.ids.take("unit")
        path = child_path(parent.path if parent else None, unit_id)
        unit = Unit(unit_id, name, level, path, parent)
        if parent is not None:
            parent.children.append(unit)
        depth = path.count("/") - 2
        parent_id = parent.id if parent else None
        self.rows.add(ORG_UNIT, (unit_id, code, name, level.value, parent_id, path, depth, SETUP))
        return unit

    def _water(self, county: County) -> None:
        """Rivers through neighbouring townships, each in segments along a few villages."""
        rng = self.rng
        code = f"BC{county.index + 1:03d}"
        per_river = -(-TOWNSHIPS // RIVERS)
        for r in range(RIVERS):
            name = f"{text.place_name(rng)}河"
            river_id = self.ids.take("water")
            length = Decimal(rng.randrange(2000, 6000)).scaleb(-2)
            county.water_names[river_id] = name
            self.rows.add(
                WATER_BODY,
                (river_id, f"{code}-R{r + 1}", name, WaterKind.RIVER.value, None, length),
            )
            reach = county.townships[r * per_river : (r + 1) * per_river + 1]
            for township in reach:
                self.rows.add(WATER_BODY_UNIT, (river_id, township.id))
                for unit in subtree(township):
                    if unit.water_body is None:
                        unit.water_body = river_id
            for s in range(SEGMENTS_PER_RIVER):
                township = reach[s % len(reach)]
                segment_id = self.ids.take("water")
                length = Decimal(rng.randrange(500, 1500)).scaleb(-2)
                self.rows.add(
                    WATER_BODY,
                    (
                        segment_id,
                        f"{code}-R{r + 1}-S{s + 1}",
                        f"{name}{township.name}段",
                        WaterKind.SEGMENT.value,
                        river_id,
                        length,
                    ),
                )
                county.segments.append(segment_id)
                county.water_names[segment_id] = f"{name}{township.name}段"
                start = (s // len(reach)) * VILLAGES_PER_SEGMENT
                for village in township.children[start : start + VILLAGES_PER_SEGMENT]:
                    self.rows.add(WATER_BODY_UNIT, (segment_id, village.id))
                    for unit in subtree(village):
                        unit.water_body = segment_id

    def _links(self, county: County) -> None:
        """Co-building: each department with a few villages; some also with a segment."""
        rng = self.rng
        chosen = rng.sample(county.villages, PAIRED_VILLAGES * len(county.departments))
        segments = county.segments
        for j, department in enumerate(county.departments):
            paired = chosen[j * PAIRED_VILLAGES : (j + 1) * PAIRED_VILLAGES]
            county.paired_villages[department.id] = paired
            for village in paired:
                note = f"支部联建：{department.name}机关支部—{village.name}党支部"
                self.rows.add(
                    ORG_LINK,
                    (
                        self.ids.take("link"),
                        department.id,
                        village.id,
                        None,
                        LinkKind.CO_BUILDING.value,
                        note,
                    ),
                )
            if j < RIVER_PAIRED_DEPARTMENTS and j < len(segments):
                department.water_body = segments[j]
                self.rows.add(
                    ORG_LINK,
                    (
                        self.ids.take("link"),
                        department.id,
                        None,
                        segments[j],
                        LinkKind.RIVER_PAIRING.value,
                        "挂钩河段",
                    ),
                )

    def _people(self, county: County, code: str) -> None:
        rng = self.rng
        region = f"53{(county.index // 100) % 100:02d}{county.index % 100:02d}"
        for unit in county.units():
            titles = text.TITLES[unit.level]
            unit.first_person, unit.people = self.ids.person, len(titles)
            for seat, title in enumerate(titles):
                head = seat == 0
                party = head or "党" in title or rng.random() < 0.35
                listed = head or rng.random() < 0.5
                self.rows.add(
                    PERSON,
                    (
                        self.ids.take("person"),
                        text.person_name(rng),
                        unit.id,
                        title,
                        party,
                        text.phone(rng) if listed else "",
                        text.id_number(rng, region) if listed else "",
                        PERSON_CREATED,
                    ),
                )


def subtree(root: Unit) -> list[Unit]:
    """The unit and everything below it, depth first: in id order."""
    found: list[Unit] = []
    stack = [root]
    while stack:
        unit = stack.pop()
        found.append(unit)
        stack.extend(reversed(unit.children))
    return found


def township_code(county_code: str, township: int) -> str:
    return f"{county_code}-T{township + 1:02d}"
