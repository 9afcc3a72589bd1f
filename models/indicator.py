"""The metric catalogue and observations per unit, period and optional dimension."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import Aggregation
from models.org import OrgUnit

if TYPE_CHECKING:
    from models.record import AccountabilityRecord


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
    """One value of an indicator at a unit for a period (the period's first day).

    Rollups filter and add up by ``period``; ``period_end`` is the period's last day (null for
    observations stored before periods had ends). ``record`` is the clean-up record that fed
    it, if one did: a correction of that record replaces its observations.
    """

    id = fields.IntField(primary_key=True)
    indicator: fields.ForeignKeyRelation[Indicator] = fields.ForeignKeyField(
        "models.Indicator", related_name="observations", on_delete=fields.RESTRICT
    )
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="observations", on_delete=fields.RESTRICT
    )
    period = fields.DateField()
    period_end = fields.DateField(null=True)
    dimension = fields.CharField(max_length=100, default="")
    value = fields.DecimalField(max_digits=18, decimal_places=4)
    record: fields.ForeignKeyNullableRelation[AccountabilityRecord] = fields.ForeignKeyField(
        "models.AccountabilityRecord",
        related_name="observations",
        null=True,
        on_delete=fields.RESTRICT,
    )

    indicator_id: int
    org_unit_id: int
    record_id: int | None

    class Meta:
        table = "observation"
        indexes = (("indicator_id", "org_unit_id", "period"),)


class IndicatorSum(Model):
    """Observations added up per indicator, subtree, period and dimension.

    A row at a unit holds the sum and the number of the observations in that unit's whole
    subtree, so a rollup over a subtree the viewer sees whole reads a few rows instead of
    every observation. Each observation adds to its unit's row and to every ancestor's
    (``resolvers.indicator_sums``); moving a unit moves its subtree's rows between
    ancestors (``OrgUnit.move_to``).
    """

    id = fields.IntField(primary_key=True)
    indicator_id = fields.IntField()
    org_unit_id = fields.IntField()
    period = fields.DateField()
    dimension = fields.CharField(max_length=100, default="")
    # In ten-thousandths (the observations' four decimal places): integer sums are exact on
    # both databases, where SQLite would add decimals as floating point.
    total_e4 = fields.BigIntField(default=0)
    n = fields.IntField(default=0)

    class Meta:
        table = "indicator_sum"
        unique_together = (("indicator_id", "org_unit_id", "period", "dimension"),)
        indexes = (("org_unit_id", "indicator_id"),)
