"""People in the programme and the login accounts some of them hold."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.org import OrgUnit


class Person(Model):
    """A party member, cadre, river cleaner or enterprise river chief, placed at a unit."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="people", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=100, default="")
    party_member = fields.BooleanField(default=False)
    phone = fields.CharField(max_length=32, default="")
    id_number = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    org_unit_id: int

    class Meta:
        table = "person"


class User(Model):
    """A login account. Tokens carry ``token_version``, and bumping it revokes them all."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="accounts", null=True, on_delete=fields.SET_NULL
    )
    is_active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    person_id: int | None

    class Meta:
        table = "user_account"


class LoginFailure(Model):
    """One failed login, kept briefly to throttle guessing per account and per address.

    In the database rather than in memory, so that every server process counts the same.
    """

    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=64, db_index=True)
    address = fields.CharField(max_length=64, db_index=True)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failure"
