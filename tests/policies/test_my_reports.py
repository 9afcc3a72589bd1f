"""``myReports``, for every account of the test tree: each reads exactly the issues it
reported (as an account, or as the person its account is), wherever they are held now and
whoever else could not read them; an anonymous caller is UNAUTHENTICATED; the websocket
answers as HTTP does."""

from __future__ import annotations

from typing import Any

from tests.fixtures import ACCOUNTS, Tree
from tests.graph import data, run
from tests.http.client import running_app
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http, token_for

EVERYONE = sorted(ACCOUNTS)
REPORT = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) { task { id } errors { field code } }
}
"""
MINE = "{ myReports(first: 10) { totalCount edges { node { title status feedback } } } }"
# Who reports what, from which unit: each to the unit above that one.
REPORTS = {
    "grid_leader": [("Bags at the bridge", "grid_a"), ("Dead fish below the weir", "grid_a")],
    "village_sec": [("Bank collapsed at the school", "shilong")],
    "dept_head": [("Outfall on the segment", "water_bureau")],
}


async def test_each_account_reads_the_issues_it_reported_and_no_others(tree: Tree) -> None:
    for who, reports in REPORTS.items():
        for title, unit in reports:
            made = await data(
                tree, who, REPORT, input={"title": title, "orgUnitId": tree.unit_gid(unit)}
            )
            assert made["reportIssue"]["errors"] == [], (who, title)

    over_http: dict[str, list[Any]] = {}
    async with running_app() as client:
        for who in EVERYONE:
            answer = await client.run(MINE, None, token_for(tree.users[who]))
            over_http[who] = [answer]
            listed = answer["data"]["myReports"]
            expected = [title for title, _ in reversed(REPORTS.get(who, []))]  # newest first
            assert [e["node"]["title"] for e in listed["edges"]] == expected, who
            assert listed["totalCount"] == len(expected)
            assert all(e["node"]["status"] == "ASSIGNED" for e in listed["edges"])
        anonymous = await client.run(MINE)
    assert anonymous["data"] is None
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]

    await assert_the_socket_answers_as_http(tree, EVERYONE, [(MINE, {})], over_http)


async def test_a_report_stays_the_reporters_when_its_unit_moves_it_on(tree: Tree) -> None:
    """Handed to the level above (HAND_OVER), the original stays in its reporter's list and the
    new task, reported by the village, is the village's own report."""
    made = await data(
        tree,
        "grid_leader",
        REPORT,
        input={"title": "Bags at the bridge", "orgUnitId": tree.unit_gid("grid_a")},
    )
    task = made["reportIssue"]["task"]["id"]
    handed = await run(
        tree,
        "village_sec",
        """mutation($input: EscalateTaskInput!) {
          escalateTask(input: $input) { handOver { id } errors { field code } }
        }""",
        input={"taskId": task, "note": "Needs the township's machines.", "mode": "HAND_OVER"},
    )
    assert handed.errors is None and handed.data is not None
    assert handed.data["escalateTask"]["errors"] == []

    grid = await data(tree, "grid_leader", MINE)
    village = await data(tree, "village_sec", MINE)
    assert [e["node"]["title"] for e in grid["myReports"]["edges"]] == ["Bags at the bridge"]
    assert village["myReports"]["totalCount"] == 1
