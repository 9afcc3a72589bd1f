"""Casbin rules as rows: role permissions (``p``) and grants (``g``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CasbinRule(Model):
    id = fields.IntField(primary_key=True)
    ptype = fields.CharField(max_length=8)
    v0 = fields.CharField(max_length=128, default="")
    v1 = fields.CharField(max_length=128, default="")
    v2 = fields.CharField(max_length=255, default="")
    v3 = fields.CharField(max_length=128, default="")
    v4 = fields.CharField(max_length=128, default="")
    v5 = fields.CharField(max_length=128, default="")

    class Meta:
        table = "casbin_rule"
        unique_together = (("ptype", "v0", "v1", "v2", "v3", "v4", "v5"),)
        indexes = (("ptype", "v0"),)

    def as_list(self) -> list[str]:
        values = [self.v0, self.v1, self.v2, self.v3, self.v4, self.v5]
        while values and values[-1] == "":
            values.pop()
        return [self.ptype, *values]
