"""Async Casbin adapters: over the ``casbin_rule`` table (Tortoise ORM), and over a fixed
set of rules (the policy as it stood at a past moment, ``policies.history``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from casbin.persist.adapters.asyncio import AsyncAdapter

from models.policy import CasbinRule

FIELDS = ("v0", "v1", "v2", "v3", "v4", "v5")


def rule_fields(ptype: str, rule: list[str]) -> dict[str, Any]:
    values = dict(zip(FIELDS, rule, strict=False))
    return {"ptype": ptype, **values}


def _load_rule(model: Any, ptype: str, values: list[str]) -> None:
    section = model.model.get(ptype[:1], {})
    if ptype in section:
        section[ptype].policy.append(values)


class TortoiseAdapter(AsyncAdapter):  # type: ignore[misc]
    async def load_policy(self, model: Any) -> None:
        for row in await CasbinRule.all().order_by("id"):
            ptype, *values = row.as_list()
            _load_rule(model, ptype, values)

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


class RulesAdapter(AsyncAdapter):  # type: ignore[misc]
    """Rules given as ``[ptype, v0, …]``, read-only: a policy rebuilt from its history is
    decided on, never written back."""

    def __init__(self, rules: Iterable[Sequence[str]]) -> None:
        self.rules = [list(rule) for rule in rules]

    async def load_policy(self, model: Any) -> None:
        for ptype, *values in self.rules:
            _load_rule(model, ptype, values)

    async def save_policy(self, model: Any) -> bool:
        return False

    async def add_policy(self, sec: str, ptype: str, rule: list[str]) -> bool:
        return False

    async def remove_policy(self, sec: str, ptype: str, rule: list[str]) -> bool:
        return False

    async def remove_filtered_policy(
        self, sec: str, ptype: str, field_index: int, *field_values: str
    ) -> bool:
        return False
