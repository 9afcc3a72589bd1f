"""The party-committee hierarchy: units, their pairings, and the water bodies they govern."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import connections, fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.enums import LinkKind, OrgLevel, WaterKind
from models.paths import child_path, path_ids, upper_bound

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

    from models.people import Person

# Which level a unit's parent may have (None: a root). Grids nest: a village-group grid
# holds household grids.
ALLOWED_PARENTS: dict[OrgLevel, frozenset[OrgLevel | None]] = {
    OrgLevel.COUNTY: frozenset({None}),
    OrgLevel.TOWNSHIP: frozenset({OrgLevel.COUNTY}),
    OrgLevel.VILLAGE: frozenset({OrgLevel.TOWNSHIP}),
    OrgLevel.GRID: frozenset({OrgLevel.VILLAGE, OrgLevel.GRID}),
    OrgLevel.DEPARTMENT: frozenset({OrgLevel.COUNTY}),
    OrgLevel.ENTERPRISE: frozenset({OrgLevel.TOWNSHIP, OrgLevel.VILLAGE}),
}


# The longest code of a unit or a water body.
CODE_LENGTH = 64


class HierarchyError(ValueError):
    """A unit would break the level rules or the tree (a cycle)."""


def check_parent(level: OrgLevel, parent_level: OrgLevel | None) -> None:
    if parent_level not in ALLOWED_PARENTS[level]:
        where = parent_level.value if parent_level else "the root"
        raise HierarchyError(f"a {level.value} unit cannot sit under {where}")


class OrgUnit(Model):
    """A party organisation or administrative unit at one level of the tree."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=CODE_LENGTH, unique=True)
    name = fields.CharField(max_length=200)
    level = fields.CharEnumField(OrgLevel, max_length=16, db_index=True)
    parent: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    path = fields.CharField(max_length=255, db_index=True, default="")
    depth = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Where the unit lies: an RFC 7946 geometry object (``core.geojson`` validates it).
    geometry: dict[str, Any] | None = fields.JSONField(null=True)

    parent_id: int | None

    class Meta:
        table = "org_unit"
        ordering = ("path",)

    def __str__(self) -> str:
        return f"{self.name} ({self.level.value})"

    @classmethod
    async def place(
        cls,
        *,
        code: str,
        name: str,
        level: OrgLevel,
        parent: OrgUnit | None = None,
        using_db: BaseDBAsyncClient | None = None,
    ) -> OrgUnit:
        """Create a unit under ``parent``, enforcing the level rules and setting its path."""
        check_parent(level, parent.level if parent else None)
        unit = await cls.create(code=code, name=name, level=level, parent=parent, using_db=using_db)
        unit.path = child_path(parent.path if parent else None, unit.id)
        unit.depth = (parent.depth + 1) if parent else 0
        await unit.save(update_fields=["path", "depth"], using_db=using_db)
        return unit

    async def move_to(self, new_parent: OrgUnit) -> None:
        """Re-parent this unit; its whole subtree's paths are rewritten in one statement, and
        its subtree's indicator sums leave the old ancestors for the new ones."""
        check_parent(self.level, new_parent.level)
        if new_parent.path.startswith(self.path):
            raise HierarchyError("a unit cannot move under itself or its own descendant")
        old_prefix = self.path
        new_prefix = child_path(new_parent.path, self.id)
        depth_delta = new_parent.depth + 1 - self.depth
        async with in_transaction() as conn:
            await conn.execute_query(
                _sql(
                    "UPDATE org_unit SET path = ? || substr(path, ?), depth = depth + ? "
                    "WHERE path >= ? AND path < ?"
                ),
                [new_prefix, len(old_prefix) + 1, depth_delta, old_prefix, upper_bound(old_prefix)],
            )
            await OrgUnit.filter(id=self.id).using_db(conn).update(parent_id=new_parent.id)
            await _move_subtree_sums(conn, self.id, old_prefix, new_parent.path)
        self.parent_id = new_parent.id
        self.path = new_prefix
        self.depth += depth_delta


async def _move_subtree_sums(
    conn: BaseDBAsyncClient, unit_id: int, old_path: str, new_parent_path: str
) -> None:
    """The unit's own ``indicator_sum`` rows are its subtree's sums: take them from every
    ancestor it leaves and add them to every ancestor it joins (``n = n + delta`` upserts)."""
    old, new = set(path_ids(old_path)[:-1]), set(path_ids(new_parent_path))
    for ancestors, sign in ((old - new, -1), (new - old, 1)):
        if not ancestors:
            continue
        marks = ", ".join("?" for _ in ancestors)
        await conn.execute_query(
            _sql(
                "INSERT INTO indicator_sum"  # noqa: S608
                " (indicator_id, org_unit_id, period, dimension, total_e4, n)"
                " SELECT s.indicator_id, a.id, s.period, s.dimension, s.total_e4 * ?, s.n * ?"
                f" FROM indicator_sum s JOIN org_unit a ON a.id IN ({marks})"
                " WHERE s.org_unit_id = ?"
                " ON CONFLICT (indicator_id, org_unit_id, period, dimension) DO UPDATE SET"
                " total_e4 = indicator_sum.total_e4 + excluded.total_e4,"
                " n = indicator_sum.n + excluded.n"
            ),
            [sign, sign, *sorted(ancestors), unit_id],
        )


def _sql(query: str) -> str:
    """Adapt ``?`` placeholders to the default connection's dialect."""
    if connections.get("default").capabilities.dialect != "postgres":
        return query
    parts = query.split("?")
    return "".join(
        part + (f"${index}" if index < len(parts) else "")
        for index, part in enumerate(parts, start=1)
    )


class OrgLink(Model):
    """Pairs a unit with another unit outside its subtree, or with a water body.

    The link widens ``unit``'s scope for reading (and for patrols and clean-ups): a county
    department co-building with a village branch reaches that village; a department paired
    with a river segment reaches the units the segment runs through. A basin committee's basin
    (``BASIN``) widens the committee's scope for every right to the units the basin runs
    through. An enterprise's responsibility segment and a county leader's key project
    (``KEY_PROJECT``, 三挂三包, naming the ``person``) widen nothing (``policies.engine``).
    """

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="links", on_delete=fields.CASCADE
    )
    partner: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="partner_links", null=True, on_delete=fields.CASCADE
    )
    water_body: fields.ForeignKeyNullableRelation[WaterBody] = fields.ForeignKeyField(
        "models.WaterBody", related_name="links", null=True, on_delete=fields.CASCADE
    )
    # The county leader holding a key project at the unit (``KEY_PROJECT``, 三挂三包).
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="held_links", null=True, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(LinkKind, max_length=16)
    note = fields.CharField(max_length=200, default="")

    unit_id: int
    partner_id: int | None
    water_body_id: int | None
    person_id: int | None

    class Meta:
        table = "org_link"


class WaterBody(Model):
    """Basin › river › segment, or a lake, linked to the units it runs through."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=CODE_LENGTH, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(WaterKind, max_length=8)
    parent: fields.ForeignKeyNullableRelation[WaterBody] = fields.ForeignKeyField(
        "models.WaterBody", related_name="parts", null=True, on_delete=fields.RESTRICT
    )
    length_km = fields.DecimalField(max_digits=8, decimal_places=2, null=True)
    units: fields.ManyToManyRelation[OrgUnit] = fields.ManyToManyField(
        "models.OrgUnit", related_name="water_bodies", through="water_body_unit"
    )
    # Where the water runs: an RFC 7946 geometry object (``core.geojson`` validates it); a
    # patrol's track is measured against it (``resolvers.tracks``).
    geometry: dict[str, Any] | None = fields.JSONField(null=True)

    parent_id: int | None

    class Meta:
        table = "water_body"
