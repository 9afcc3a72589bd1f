"""The one grant made without a granting account: the first of a new installation.

Every grant needs a granter who holds, at the unit, the rights it grants; before the first
grant nobody holds any, so no account could ever start. The operator, who runs the CLI with
the database's own credentials, may therefore make exactly one kind of grant without acting
as anyone: while no account holds any role at all. From then on every grant goes through
the guard like any other.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from models.policy import CasbinRule

FIRST_GRANT_ONLY = (
    "Roles are already granted in this installation: use `riverchief grant … --as` an "
    "account that may grant, as the API would."
)


async def first_grant_allowed(conn: BaseDBAsyncClient) -> bool:
    """Whether no account holds any role yet (checked inside the granting transaction)."""
    held = CasbinRule.filter(ptype="g", v0__startswith="user:").using_db(conn)
    return not await held.exists()
