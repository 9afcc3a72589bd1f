"""The who-may-do-what table of ``docs/permissions.md``, rendered from the role policy."""

from __future__ import annotations

from collections import defaultdict

from policies.engine import ACTIONS, ALL_LEVELS, RESOURCES, ROLES, Permission, read_role_policy

BEGIN = "<!-- permissions:begin (generated from policies/roles.csv) -->"
END = "<!-- permissions:end -->"


def cell(levels: set[str]) -> str:
    if not levels:
        return "—"
    if ALL_LEVELS in levels:
        return "all"
    return ", ".join(sorted(level.lower() for level in levels))


def render_table(rules: list[Permission] | None = None) -> str:
    """One row per role and resource, one column per action; a cell names the unit levels."""
    by_key: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for rule in rules if rules is not None else read_role_policy():
        by_key[(rule.role, rule.resource, rule.action)].add(rule.level)
    lines = [
        "| role | resource | " + " | ".join(ACTIONS) + " |",
        "|---|---|" + "---|" * len(ACTIONS),
    ]
    for role in ROLES:
        for resource in RESOURCES:
            cells = [cell(by_key.get((role, resource, action), set())) for action in ACTIONS]
            if any(c != "—" for c in cells):
                lines.append(f"| {role} | {resource} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generated_section(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()
