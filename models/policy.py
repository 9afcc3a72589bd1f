"""Casbin rules as rows: role permissions (``p``) and grants (``g``), and their history.

``casbin_rule`` holds the policy in force now. ``grant_history`` and ``role_policy_history``
hold every grant and every permission line with the moment it took effect and the moment it
ended (null while in force), so that the policy of any past moment can be rebuilt
(``policies.history``). Each change writes both, in one transaction with its audit event.
"""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from models.org import OrgUnit
from models.people import User


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


class GrantHistory(Model):
    """One holding of a role at a unit: from its grant until its revocation (null while held).

    ``path`` is the grant's unit path when it was made (the ``g`` row's domain without its
    ``*``): the decision of that moment. A role granted, revoked and granted again is two rows.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grant_history", on_delete=fields.RESTRICT, db_constraint=False
    )
    role = fields.CharField(max_length=128)
    unit: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit",
        related_name="grant_history",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    path = fields.CharField(max_length=255)
    granted_at = fields.DatetimeField(db_index=True)
    granted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="grants_made",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    revoked_at = fields.DatetimeField(null=True, db_index=True)
    revoked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="grants_revoked",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )

    user_id: int
    unit_id: int | None
    granted_by_id: int | None
    revoked_by_id: int | None

    class Meta:
        table = "grant_history"
        table_description = "Every grant of a role at a unit, from its grant to its revocation."
        indexes = (("user_id", "role", "path"),)

    def in_force_at(self, at: datetime) -> bool:
        return self.granted_at <= at and (self.revoked_at is None or self.revoked_at > at)


class RolePolicyHistory(Model):
    """One permission line of the role policy (``p, role, level, resource, action``), from
    the change that added it until the one that removed it (null while in force)."""

    id = fields.BigIntField(primary_key=True)
    role = fields.CharField(max_length=128)
    level = fields.CharField(max_length=128)
    resource = fields.CharField(max_length=128)
    action = fields.CharField(max_length=128)
    added_at = fields.DatetimeField(db_index=True)
    added_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="policy_lines_added",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    removed_at = fields.DatetimeField(null=True, db_index=True)
    removed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="policy_lines_removed",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )

    added_by_id: int | None
    removed_by_id: int | None

    class Meta:
        table = "role_policy_history"
        table_description = "Every line of the role policy, from its addition to its removal."
        indexes = (("role", "resource", "action"),)
