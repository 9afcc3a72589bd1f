"""The audit trail's sequence starts at 1: the database refuses a row with a seq below it.

A repeated seq was refused already (``seq`` is the primary key). What each database takes:

- PostgreSQL: ``CHECK (seq >= 1)``, added in place.
- SQLite cannot add a CHECK to an existing table; tortoise would rebuild the table for it
  and leave its indexes behind. Two triggers refuse the same rows instead, on insert and on
  update, and also a seq that is not an integer at all (which SQLite's type affinity would
  otherwise store, and which a CHECK would let through).

Rows already stored are checked first: a valid chain migrates untouched, while a row below
1 (put there outside the service) stops the migration with a message naming it, rather than
being hidden under a constraint that existing rows break.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

TABLE = "audit_event"
CONSTRAINT = CheckConstraint(check="seq >= 1", name="audit_event_seq_from_one")
REFUSED = f"RAISE(ABORT, 'CHECK constraint failed: {CONSTRAINT.name}')"
SQLITE_TRIGGERS = {
    f"{CONSTRAINT.name}_on_insert": f'BEFORE INSERT ON "{TABLE}"',
    f"{CONSTRAINT.name}_on_update": f'BEFORE UPDATE OF "seq" ON "{TABLE}"',
}


async def refuse_rows_below_one(client: Any) -> None:
    rows = await client.execute_query_dict(
        f'SELECT "seq", "action" FROM "{TABLE}" WHERE "seq" < 1 ORDER BY "seq" LIMIT 5'
    )
    if rows:
        found = ", ".join(f"seq {row['seq']} ({row['action']})" for row in rows)
        raise RuntimeError(
            f"{TABLE} holds rows below seq 1, outside the audit chain: {found}. They were "
            "written around the service; keep a copy for the investigation, delete them, "
            "and migrate again."
        )


class AddSeqCheck(ops.AddConstraint):
    """``AddConstraint`` in the form each database can take (see the module's docstring)."""

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if not state_editor:
            return
        client = state_editor.client
        await refuse_rows_below_one(client)
        if client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        for name, when in SQLITE_TRIGGERS.items():
            await client.execute_script(
                f'CREATE TRIGGER "{name}" {when} FOR EACH ROW'
                " WHEN typeof(NEW.\"seq\") != 'integer' OR NEW.\"seq\" < 1"
                f" BEGIN SELECT {REFUSED}; END"
            )

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if not state_editor:
            return
        client = state_editor.client
        if client.capabilities.dialect != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)
            return
        for name in SQLITE_TRIGGERS:
            await client.execute_script(f'DROP TRIGGER IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0003_login_failures")]

    operations = [AddSeqCheck(model_name="AuditEvent", constraint=CONSTRAINT)]
