"""Who reads evidence, per account of the test tree: its uploader, and whoever reads a record
that cites it; the same answers over HTTP and over the websocket, where nothing can be
uploaded (a typed error, not a crash)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.evidence import Evidence, RecordEvidence
from models.record import AccountabilityRecord
from tests.evidence import UPLOAD, photo, upload
from tests.fixtures import ACCOUNTS, Tree
from tests.http.client import GraphQLClient, app_settings, running_app
from tests.http.test_websocket_authority import (
    assert_the_socket_answers_as_http,
    live_app,
    socket,
    token_for,
)
from tests.tracks import WEIXIN, track_along

EVERYONE = sorted(ACCOUNTS)
READERS = {"grid_leader", "village_sec", "zhaxi_head", "county_admin", "inspector"}
START = datetime(2025, 5, 9, 8, tzinfo=UTC)
CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename ... on Evidence { sha256 contentType bytes takenAt location } }
}
"""
RECORD_EVIDENCE = """
query RecordEvidence($id: ID!) {
  node(id: $id) { ... on Record { evidence { id sha256 contentType takenAt location url } } }
}
"""


@dataclass
class Cited:
    client: GraphQLClient
    record: str
    cited: dict[str, Any]
    kept: dict[str, Any]


@pytest.fixture
async def cited(tree: Tree, tmp_path: Path) -> AsyncIterator[Cited]:
    async with running_app(app_settings(evidence_dir=tmp_path)) as client:
        token = token_for(tree.users["grid_leader"])
        shown = (await upload(client, photo(START + timedelta(hours=1), WEIXIN), token))["evidence"]
        kept = (await upload(client, photo(START, shade=3), token))["evidence"]
        patrol = {
            "type": "PATROL",
            "orgUnitId": tree.unit_gid("grid_a"),
            "occurredAt": START.isoformat(),
            "endedAt": (START + timedelta(hours=2)).isoformat(),
            "patrol": {"track": track_along(START, 2, 4)},
            "evidenceIds": [shown["id"]],
        }
        filed = await client.run(CREATE_RECORD, {"input": patrol}, token)
        record = filed["data"]["createRecord"]["record"]["id"]
        yield Cited(client, record, shown, kept)


def as_node(evidence: dict[str, Any]) -> dict[str, Any]:
    fields = ("sha256", "contentType", "bytes", "takenAt", "location")
    return {"__typename": "Evidence", **{k: evidence[k] for k in fields}}


@pytest.mark.parametrize("who", EVERYONE)
async def test_evidence_is_read_by_its_uploader_and_the_readers_of_records_citing_it(
    tree: Tree, cited: Cited, who: str
) -> None:
    token = token_for(tree.users[who])

    shown = await cited.client.run(NODE, {"id": cited.cited["id"]}, token)
    kept = await cited.client.run(NODE, {"id": cited.kept["id"]}, token)
    listed = await cited.client.run(RECORD_EVIDENCE, {"id": cited.record}, token)

    reads = who in READERS
    assert shown == {"data": {"node": as_node(cited.cited) if reads else None}}
    assert kept == {"data": {"node": as_node(cited.kept) if who == "grid_leader" else None}}
    expected = {
        "evidence": [
            {
                k: cited.cited[k]
                for k in ("id", "sha256", "contentType", "takenAt", "location", "url")
            }
        ]
    }
    assert listed == {"data": {"node": expected if reads else None}}


@pytest.mark.parametrize("who", sorted(set(EVERYONE) - READERS))
async def test_an_outsider_cannot_cite_what_it_may_not_read(
    tree: Tree, cited: Cited, who: str
) -> None:
    records, links = await AccountabilityRecord.all().count(), await RecordEvidence.all().count()
    unit = {"luobu_head": "luobu", "dept_head": "luobu_village", "yzh_admin": "qixing"}.get(
        who, "enterprise"
    )
    patrol = {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid(unit),
        "occurredAt": START.isoformat(),
        "endedAt": (START + timedelta(hours=2)).isoformat(),
        "patrol": {"distanceKm": 3},
        "evidenceIds": [cited.cited["id"]],
    }

    body = await cited.client.run(CREATE_RECORD, {"input": patrol}, token_for(tree.users[who]))

    assert body["data"]["createRecord"] == {
        "record": None,
        "errors": [{"field": "evidenceIds", "code": "NOT_FOUND"}],
    }
    assert await AccountabilityRecord.all().count() == records
    assert await RecordEvidence.all().count() == links


async def test_an_anonymous_caller_uploads_nothing_as_json(cited: Cited) -> None:
    body = await cited.client.run(UPLOAD, {"file": "x"})

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_the_websocket_uploads_nothing_and_says_so(tree: Tree, cited: Cited) -> None:
    async with live_app() as live, socket(live, token_for(tree.users["grid_leader"])) as ws:
        answer = await ws.run(UPLOAD, {"file": "photo.jpg"})

    assert answer["type"] == "next", answer
    assert answer["payload"] == {
        "data": {
            "uploadEvidence": {
                "evidence": None,
                "errors": [{"field": "file", "code": "VALIDATION"}],
            }
        }
    }
    assert await Evidence.all().count() == 2


async def test_evidence_answers_alike_over_http_and_the_websocket(
    db: TortoiseContext, tree: Tree, cited: Cited
) -> None:
    operations = [
        (RECORD_EVIDENCE, {"id": cited.record}),
        (NODE, {"id": cited.cited["id"]}),
        (NODE, {"id": cited.kept["id"]}),
    ]
    over_http = {
        who: [await cited.client.run(q, v, token_for(tree.users[who])) for q, v in operations]
        for who in EVERYONE
    }

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)
