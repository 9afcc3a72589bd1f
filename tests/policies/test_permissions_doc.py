"""``docs/permissions.md`` is the role policy: the doc, the policy file and ``enforce`` agree.

The truth table is read from the markdown itself (not from the renderer), so a hand edit of
the doc, a change to ``policies/roles.csv`` or a change to the Casbin model that is not
reflected in the other two fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext

from models.enums import OrgLevel
from models.org import OrgUnit
from models.policy import CasbinRule
from policies.doc import BEGIN, END, generated_section, render_table
from policies.engine import ACTIONS, RESOURCES, ROLES, PolicyEngine, read_role_policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
LEVELS = tuple(OrgLevel)

# One unit of every level in a county, under the level rules.
SHAPE: dict[OrgLevel, OrgLevel | None] = {
    OrgLevel.COUNTY: None,
    OrgLevel.TOWNSHIP: OrgLevel.COUNTY,
    OrgLevel.VILLAGE: OrgLevel.TOWNSHIP,
    OrgLevel.GRID: OrgLevel.VILLAGE,
    OrgLevel.DEPARTMENT: OrgLevel.COUNTY,
    OrgLevel.ENTERPRISE: OrgLevel.TOWNSHIP,
}

Table = dict[tuple[str, str, str], frozenset[OrgLevel]]


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def parse_cell(text: str) -> frozenset[OrgLevel]:
    text = text.strip()
    if text == "—":
        return frozenset()
    if text == "all":
        return frozenset(OrgLevel)
    return frozenset(OrgLevel(part.strip().upper()) for part in text.split(","))


def parse_table(text: str) -> tuple[list[str], Table]:
    """The doc's table as (action columns, {(role, resource, action): levels}).

    A role and resource missing from the table may do nothing.
    """
    section = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    rows = [line.strip() for line in section.strip().splitlines() if line.strip()]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[:2] == ["role", "resource"], header
    assert re.fullmatch(r"\|(---\|)+", rows[1]), rows[1]
    actions = header[2:]
    table: Table = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(header), line
        role, resource, *decisions = cells
        assert (role, resource, actions[0]) not in table, f"duplicate row: {line}"
        for action, decision in zip(actions, decisions, strict=True):
            table[(role, resource, action)] = parse_cell(decision)
    return actions, table


def expected(table: Table, role: str, resource: str, action: str) -> frozenset[OrgLevel]:
    return table.get((role, resource, action), frozenset())


@dataclass
class County:
    units: dict[OrgLevel, OrgUnit]


async def build_county(name: str) -> County:
    units: dict[OrgLevel, OrgUnit] = {}
    for level, parent in SHAPE.items():
        units[level] = await OrgUnit.place(
            code=f"{name}-{level.value}",
            name=f"{name} {level.value.lower()}",
            level=level,
            parent=units[parent] if parent else None,
        )
    return County(units)


def subject_of(role: str, placed_at: OrgLevel) -> str:
    return f"user:{1000 + ROLES.index(role) * 10 + LEVELS.index(placed_at)}"


# -- the doc and the policy file --------------------------------------------------------


def test_the_doc_table_is_the_one_rendered_from_roles_csv() -> None:
    assert generated_section(doc_text()) == render_table(), (
        "docs/permissions.md is out of date with policies/roles.csv: "
        "replace the generated section with policies.doc.render_table()"
    )


def test_the_doc_table_parses_to_exactly_the_rules_of_roles_csv() -> None:
    actions, table = parse_table(doc_text())
    from_csv: dict[tuple[str, str, str], set[OrgLevel]] = {}
    for rule in read_role_policy():
        levels = set(OrgLevel) if rule.level == "*" else {OrgLevel(rule.level)}
        from_csv.setdefault((rule.role, rule.resource, rule.action), set()).update(levels)

    assert actions == list(ACTIONS)
    assert {key: levels for key, levels in table.items() if levels} == {
        key: frozenset(levels) for key, levels in from_csv.items()
    }


def test_every_role_resource_and_action_of_the_policy_is_in_the_doc() -> None:
    _, table = parse_table(doc_text())
    rules = read_role_policy()

    assert {r.resource for r in rules} <= set(RESOURCES)
    assert {r.action for r in rules} <= set(ACTIONS)
    assert {role for role, _, _ in table} == set(ROLES)


def test_a_doc_that_disagrees_with_the_policy_is_caught() -> None:
    """The comparison is not vacuous: one changed cell makes it fail."""
    text = doc_text()
    tampered = text.replace("| inspector | task | all | — |", "| inspector | task | all | all |", 1)
    assert tampered != text
    assert generated_section(tampered) != render_table()
    _, table = parse_table(tampered)
    assert expected(table, "inspector", "task", "create") == frozenset(OrgLevel)


@pytest.mark.parametrize(
    "line",
    ["p, inspector, *, tasks, read", "p, inspector, *, task, delete", "p, auditor, *, task, read"],
)
def test_a_policy_line_naming_an_unknown_role_resource_or_action_is_refused(
    tmp_path: Path, line: str
) -> None:
    policy = tmp_path / "roles.csv"
    policy.write_text(f"p, inspector, *, task, read\n{line}\n", encoding="utf-8")

    with pytest.raises(ValueError, match="bad role policy line"):
        read_role_policy(policy)


# -- the truth table against enforce ----------------------------------------------------


async def test_enforce_agrees_with_every_cell_of_the_doc(db: TortoiseContext) -> None:
    """Every role × resource × action × level, inside and outside the grant's scope.

    Each role is granted once at the county (so a unit of every level lies inside) and
    once at a unit of each level (deciding at that very unit). A second county holds a unit
    of every level outside every grant.
    """
    _, table = parse_table(doc_text())
    inside = await build_county("inside")
    outside = await build_county("outside")
    county = inside.units[OrgLevel.COUNTY]
    for role in ROLES:
        for level, unit in inside.units.items():
            await CasbinRule.create(
                ptype="g", v0=subject_of(role, level), v1=role, v2=f"{unit.path}*"
            )
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()

    disagreements = []
    checked = 0
    for role in ROLES:
        for resource in RESOURCES:
            for action in ACTIONS:
                allowed_levels = expected(table, role, resource, action)
                for level in LEVELS:
                    cases = [
                        # granted at the county, deciding at the unit of `level` below it
                        (
                            subject_of(role, OrgLevel.COUNTY),
                            inside.units[level],
                            level in allowed_levels,
                        ),
                        # granted at the unit of `level`, deciding there
                        (subject_of(role, level), inside.units[level], level in allowed_levels),
                        # granted at the county, deciding in the other county
                        (subject_of(role, OrgLevel.COUNTY), outside.units[level], False),
                        # granted at the unit of `level`, deciding in the other county
                        (subject_of(role, level), outside.units[level], False),
                    ]
                    for subject, unit, want in cases:
                        got = engine.enforce(subject, unit.path, level.value, resource, action)
                        checked += 1
                        if got != want:
                            disagreements.append(
                                f"{role} ({subject}) {resource}/{action} at {unit.name}: "
                                f"enforce={got}, doc={want}"
                            )
    assert checked == len(ROLES) * len(RESOURCES) * len(ACTIONS) * len(LEVELS) * 4
    assert county.level is OrgLevel.COUNTY
    assert not disagreements, "\n".join(disagreements)


async def test_units_above_a_grant_are_readable_and_nothing_else_of_them(
    db: TortoiseContext,
) -> None:
    """The doc's "chain above is visible": org/read only, for roles reading every level."""
    _, table = parse_table(doc_text())
    county = await build_county("chain")
    grid = county.units[OrgLevel.GRID]
    above = [county.units[lv] for lv in (OrgLevel.COUNTY, OrgLevel.TOWNSHIP, OrgLevel.VILLAGE)]
    beside = [county.units[OrgLevel.DEPARTMENT], county.units[OrgLevel.ENTERPRISE]]
    for role in ROLES:
        await CasbinRule.create(
            ptype="g", v0=subject_of(role, OrgLevel.GRID), v1=role, v2=f"{grid.path}*"
        )
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()

    for role in ROLES:
        subject = subject_of(role, OrgLevel.GRID)
        reads_units = expected(table, role, "org", "read") == frozenset(OrgLevel)
        for unit in above:
            for resource in RESOURCES:
                for action in ACTIONS:
                    want = reads_units and (resource, action) == ("org", "read")
                    got = engine.enforce(subject, unit.path, unit.level.value, resource, action)
                    assert got == want, (role, unit.name, resource, action)
        for unit in beside:
            for resource in RESOURCES:
                for action in ACTIONS:
                    assert not engine.enforce(
                        subject, unit.path, unit.level.value, resource, action
                    ), (role, unit.name, resource, action)
