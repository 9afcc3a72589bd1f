"""A small async Casbin adapter over the ``casbin_rule`` table (Tortoise ORM)."""

from __future__ import annotations

from typing import Any

from casbin.persist.adapters.asyncio import AsyncAdapter

from models.policy import CasbinRule

FIELDS = ("v0", "v1", "v2", "v3", "v4", "v5")


def rule_fields(ptype: str, rule: list[str]) -> dict[str, Any]:
    values = dict(zip(FIELDS, rule, strict=False))
    return {"ptype": ptype, **values}


class TortoiseAdapter(AsyncAdapter):  # type: ignore[misc]
    async def load_policy(self, model: Any) -> None:
        for row in await CasbinRule.all().order_by("id"):
            ptype, *values = row.as_list()
            section = model.model.get(ptype[:1], {})
            if ptype in section:
                section[ptype].policy.append(values)

    async def save_policy(self, model: Any) -> bool:
        rows = [
            CasbinRule(**rule_fields(ptype, rule))
            for sec in ("p", "g")
            for ptype, assertion in model.model.get(sec, {}).items()
            for rule in assertion.policy
        ]
        await CasbinRule.all().delete()
        await CasbinRule.bulk_create(rows)
        return True

    async def add_policy(self, sec: str, ptype: str, rule: list[str]) -> bool:
        await CasbinRule.get_or_create(**rule_fields(ptype, rule))
        return True

    async def remove_policy(self, sec: str, ptype: str, rule: list[str]) -> bool:
        return bool(await CasbinRule.filter(**rule_fields(ptype, rule)).delete())

    async def remove_filtered_policy(
        self, sec: str, ptype: str, field_index: int, *field_values: str
    ) -> bool:
        filters = {
            FIELDS[field_index + offset]: value
            for offset, value in enumerate(field_values)
            if value
        }
        return bool(await CasbinRule.filter(ptype=ptype, **filters).delete())
