"""The metric catalogue and observations per unit, period and optional dimension."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import Aggregation
from models.org import OrgUnit


class Indicator(Model):
    """A metric (``fish_fry_released``, ``forest_cover_pct``…) and how it aggregates."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    unit = fields.CharField(max_length=32)
    aggregation = fields.CharEnumField(Aggregation, max_length=8, default=Aggregation.SUM)
    dimension_name = fields.CharField(max_length=64, default="")

    class Meta:
        table = "indicator"


class Observation(Model):
    """One value of an indicator at a unit for a period (the period's first day)."""

    id = fields.IntField(primary_key=True)
    indicator: fields.ForeignKeyRelation[Indicator] = fields.ForeignKeyField(
        "models.Indicator", related_name="observations", on_delete=fields.RESTRICT
    )
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="observations", on_delete=fields.RESTRICT
    )
    period = fields.DateField()
    dimension = fields.CharField(max_length=100, default="")
    value = fields.DecimalField(max_digits=18, decimal_places=4)

    indicator_id: int
    org_unit_id: int

    class Meta:
        table = "observation"
        indexes = (("indicator_id", "org_unit_id", "period"),)
