"""The benchmarked operations, as a client sends them.

Each is a GraphQL document and the name of its floor: the same answer produced by
hand-written SQL through the bare driver (``bench/floor.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

ME = "query Q1Me { me { id username } }"

TASK_INBOX = """
query Q2Inbox {
  tasks(first: 50) {
    edges { node {
      id title status dueAt
      orgUnit { id name }
      issuer { id name }
      assignee { id name }
      parent { id title }
    } }
  }
}
"""

STATS = "taskStats { total overdue byStatus { status count } }"
COUNTY_DASHBOARD = f"""
query Q3Dashboard($county: ID!) {{
  orgUnit(id: $county) {{
    id name level {STATS}
    children(first: 100) {{ edges {{ node {{
      id name level {STATS}
      children(first: 100) {{ edges {{ node {{ id name level {STATS} }} }} }}
    }} }} }}
  }}
}}
"""

ASSIGNMENT_HISTORY = """
query Q5History($unit: ID!) {
  auditEvents(filter: { orgUnitId: $unit, includeDescendants: true }, first: 50) {
    edges { node { seq at action entityId actor { username } before after } }
  }
}
"""

TRANSITION = """
mutation M1Transition($input: TransitionTaskInput!) {
  transitionTask(input: $input) {
    task { id status version }
    errors { code message }
  }
}
"""


def indicator_rollups(metrics: list[str]) -> str:
    """Q4: one aliased ``indicatorRollup`` per metric, as a dashboard asks for them."""
    fields = "\n".join(
        f'  m{n}: indicatorRollup(orgUnitId: $county, metric: "{code}") {{'
        " metric total byDimension { key value } byChild { orgUnit { id name } value } }"
        for n, code in enumerate(metrics)
    )
    return f"query Q4Rollups($county: ID!) {{\n{fields}\n}}"


@dataclass(frozen=True)
class Operation:
    """How one benchmark row is measured: latency with one client, or a rate with many."""

    key: str
    title: str
    clients: int
    measure: str  # "latency" (p50/p99) or "rate" (requests per second)


OPERATIONS = (
    Operation("Q1", "me with a valid token", 16, "rate"),
    Operation("Q2", "township head's inbox: tasks(first: 50) with relations", 1, "latency"),
    Operation("Q3", "county › townships › villages with taskStats", 1, "latency"),
    Operation("Q4", "indicatorRollup at the county, every metric", 1, "latency"),
    Operation("Q5", "inspector's assignment history: auditEvents(first: 50)", 1, "latency"),
    Operation("M1", "transitionTask with its audit append", 8, "rate"),
    # The same writers spread over two counties (half in each): each county's audit log has a
    # lock of its own, so they do not wait on each other. Needs bench data of two counties.
    Operation("M1x2", "transitionTask, writers over two counties", 8, "rate"),
)
