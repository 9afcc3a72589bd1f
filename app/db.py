"""Tortoise configuration and schema migration."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from models import MODEL_MODULES

MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(database_url: str) -> None:
    """Bring the database schema up to the latest migration, then release the connections."""
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


# The tortoise CLI (`tortoise -c app.db.TORTOISE_ORM makemigrations`) reads this.
TORTOISE_ORM = tortoise_config("sqlite://data/riverchief.sqlite3")
