"""The headline decisions, at a glance: who may do what, where, in the small test county.

Each row goes through the one object check (``policies.guard.allowed``, which asks
``enforce``) on the shipped role policy. The exhaustive tables are beside this one
(``test_permissions_doc.py``, ``test_scope_property.py``); this is the page a reader checks
first.
"""

from __future__ import annotations

import pytest

from policies.guard import allowed
from policies.rights import (
    AUDIT_READ,
    GRANT_GRANT,
    ORG_READ,
    PERSON_PII_READ,
    TASK_CREATE,
    TASK_PROGRESS,
    TASK_READ,
    TASK_VERIFY,
    Right,
)
from tests.fixtures import Tree

ALLOW, DENY = True, False

HEADLINES: list[tuple[str, Right, str, bool]] = [
    # account         right            unit            decision
    ("county_admin", TASK_VERIFY, "zhaxi", ALLOW),  # a county signs off its townships
    ("zhaxi_head", TASK_READ, "grid_a", ALLOW),  # a township sees down to its grids
    ("zhaxi_head", TASK_READ, "luobu", DENY),  # …but not the township next door
    ("zhaxi_head", ORG_READ, "weixin", ALLOW),  # it knows its county (the unit, nothing more)
    ("zhaxi_head", TASK_READ, "weixin", DENY),  # …not the county's tasks
    ("village_sec", TASK_CREATE, "grid_a", ALLOW),  # a village hands tasks to its grids
    ("grid_leader", TASK_PROGRESS, "grid_a", ALLOW),  # a grid leader works its grid's tasks
    ("grid_leader", TASK_CREATE, "grid_a", DENY),  # …and issues none
    ("inspector", AUDIT_READ, "shilong", ALLOW),  # inspectors read the trail in scope
    ("inspector", TASK_VERIFY, "zhaxi", DENY),  # …and sign nothing off
    ("dept_head", ORG_READ, "luobu_village", ALLOW),  # a department reads its paired village
    ("dept_head", PERSON_PII_READ, "luobu_village", DENY),  # …but not its people's ID numbers
    ("yzh_admin", TASK_READ, "zhaxi", DENY),  # one county never sees another
    ("yzh_admin", GRANT_GRANT, "qixing", ALLOW),  # a county admin grants inside its county
]


@pytest.mark.parametrize(("account", "right", "unit", "decision"), HEADLINES)
async def test_headline_decision(
    tree: Tree, account: str, right: Right, unit: str, decision: bool
) -> None:
    context = tree.context_for(account)

    assert allowed(context, right, tree.units[unit]) is decision
