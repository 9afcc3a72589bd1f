"""``uploadEvidence`` over HTTP as real multipart requests: sniffed, measured, read for its
EXIF, kept once under its SHA-256; refused with a typed error, storing nothing, when too
large or not an image or PDF; cited by records, which it may flag."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.audit import AuditEvent
from models.evidence import Evidence, RecordEvidence
from models.record import AccountabilityRecord
from schema.node import to_global_id
from tests.evidence import UPLOAD, photo, post_upload, upload
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, app_settings, running_app
from tests.http.test_websocket_authority import token_for
from tests.tracks import WEIXIN, track_along

START = datetime(2025, 5, 9, 8, tzinfo=UTC)
CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record {
      id details flags { code }
      evidence { id sha256 }
      criteria { name maxScore awarded evidence { __typename id } }
    }
    errors { field code }
  }
}
"""


@pytest.fixture
async def client(tree: Tree, tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async with running_app(app_settings(evidence_dir=tmp_path, evidence_max_bytes=4096)) as c:
        yield c


def stored_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def patrol(tree: Tree, unit: str = "grid_a", **extra: Any) -> dict[str, Any]:
    return {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid(unit),
        "occurredAt": START.isoformat(),
        "endedAt": (START + timedelta(hours=2)).isoformat(),
        "patrol": {"track": track_along(START, 2, 4)},
        **extra,
    }


async def test_a_photo_is_kept_under_its_digest_with_its_exif_time_and_place(
    tree: Tree, client: GraphQLClient, tmp_path: Path
) -> None:
    content = photo(START + timedelta(minutes=30), (105.0, 27.81))
    digest = hashlib.sha256(content).hexdigest()

    payload = await upload(client, content, token_for(tree.users["grid_leader"]))

    evidence = await Evidence.get(sha256=digest)
    assert payload == {
        "evidence": {
            "id": to_global_id("Evidence", evidence.id),
            "sha256": digest,
            "contentType": "image/jpeg",
            "bytes": len(content),
            "takenAt": "2025-05-09T08:30:00+00:00",
            "location": {"type": "Point", "coordinates": [105.0, 27.81]},
            "url": f"/evidence/{digest}",
        },
        "errors": [],
    }
    assert (tmp_path / digest[:2] / digest).read_bytes() == content
    assert stored_files(tmp_path) == [digest]  # no temporary file left behind
    assert evidence.uploader_id == tree.users["grid_leader"].id
    events = await AuditEvent.filter(action="evidence.upload").values_list(
        "entity_type", "entity_id", "actor_id"
    )
    assert events == [("evidence", str(evidence.id), tree.users["grid_leader"].id)]


async def test_the_same_bytes_are_stored_once(
    tree: Tree, client: GraphQLClient, tmp_path: Path
) -> None:
    content = photo(START, (105.0, 27.8))
    leader, secretary = (token_for(tree.users[n]) for n in ("grid_leader", "village_sec"))

    first = await upload(client, content, leader)
    again = await upload(client, content, leader, filename="copy.jpg")
    other = await upload(client, content, secretary)

    assert again == first
    assert other["evidence"]["sha256"] == first["evidence"]["sha256"]
    assert other["evidence"]["id"] != first["evidence"]["id"]  # each uploader's own evidence
    assert stored_files(tmp_path) == [first["evidence"]["sha256"]]
    assert await Evidence.all().count() == 2
    assert await AuditEvent.filter(action="evidence.upload").count() == 2


async def test_a_png_without_exif_has_no_time_or_place(tree: Tree, client: GraphQLClient) -> None:
    payload = await upload(
        client, photo(kind="PNG"), token_for(tree.users["grid_leader"]), filename="x.jpg"
    )

    shown = payload["evidence"]
    assert (shown["contentType"], shown["takenAt"], shown["location"]) == ("image/png", None, None)


async def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(
    tree: Tree, client: GraphQLClient, tmp_path: Path
) -> None:
    too_large = b"\xff\xd8\xff" + bytes(5000)

    payload = await upload(client, too_large, token_for(tree.users["grid_leader"]))

    assert payload == {"evidence": None, "errors": [{"field": "file", "code": "TOO_LARGE"}]}
    assert stored_files(tmp_path) == []
    assert await Evidence.all().count() == 0
    assert await AuditEvent.filter(action="evidence.upload").count() == 0


async def test_a_body_far_over_the_limit_is_not_read(
    tree: Tree, client: GraphQLClient, tmp_path: Path
) -> None:
    response = await post_upload(client, bytes(300 * 1024), token_for(tree.users["grid_leader"]))

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert stored_files(tmp_path) == []


async def test_text_named_as_a_photo_is_refused_by_its_bytes(
    tree: Tree, client: GraphQLClient, tmp_path: Path
) -> None:
    payload = await upload(
        client, b"just some text\n", token_for(tree.users["grid_leader"]), filename="photo.jpg"
    )

    assert payload == {
        "evidence": None,
        "errors": [{"field": "file", "code": "UNSUPPORTED_MEDIA_TYPE"}],
    }
    assert stored_files(tmp_path) == []
    assert await Evidence.all().count() == 0


async def test_a_pdf_is_evidence_too(tree: Tree, client: GraphQLClient) -> None:
    payload = await upload(
        client, b"%PDF-1.7\n%\xe2\xe3\n", token_for(tree.users["grid_leader"]), filename="a.txt"
    )

    assert payload["evidence"]["contentType"] == "application/pdf"


async def test_an_anonymous_upload_is_refused_before_it_is_read(
    client: GraphQLClient, tmp_path: Path
) -> None:
    response = await post_upload(client, photo(), None)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert stored_files(tmp_path) == []


async def test_a_file_given_as_json_is_not_an_upload(tree: Tree, client: GraphQLClient) -> None:
    body = await client.run(UPLOAD, {"file": "/etc/passwd"}, token_for(tree.users["grid_leader"]))

    assert body["data"]["uploadEvidence"] == {
        "evidence": None,
        "errors": [{"field": "file", "code": "VALIDATION"}],
    }


async def test_a_patrol_cites_its_photos_and_is_flagged_by_their_time_and_place(
    tree: Tree, client: GraphQLClient
) -> None:
    token = token_for(tree.users["grid_leader"])
    on_the_way = await upload(client, photo(START + timedelta(hours=1), WEIXIN), token)
    next_day = await upload(client, photo(START + timedelta(days=1), WEIXIN, shade=1), token)
    far_away = await upload(
        client, photo(START + timedelta(hours=1), (105.2, 27.8), shade=2), token
    )
    ids = [p["evidence"]["id"] for p in (on_the_way, next_day, far_away)]

    good = await client.run(CREATE_RECORD, {"input": patrol(tree, evidenceIds=ids[:1])}, token)
    late = await client.run(CREATE_RECORD, {"input": patrol(tree, evidenceIds=ids[1:2])}, token)
    far = await client.run(CREATE_RECORD, {"input": patrol(tree, evidenceIds=ids[2:])}, token)

    def flags(body: dict[str, Any]) -> list[str]:
        return [f["code"] for f in body["data"]["createRecord"]["record"]["flags"]]

    assert "PHOTO_TIME" not in flags(good) and "PHOTO_PLACE" not in flags(good)
    assert "PHOTO_TIME" in flags(late) and "PHOTO_PLACE" not in flags(late)
    assert "PHOTO_PLACE" in flags(far) and "PHOTO_TIME" not in flags(far)
    record = good["data"]["createRecord"]["record"]
    assert record["evidence"] == [
        {"id": ids[0], "sha256": on_the_way["evidence"]["sha256"]},
    ]
    cites = (
        await AuditEvent.filter(action="evidence.cite")
        .order_by("seq")
        .values_list("entity_id", "after")
    )
    assert [entity for entity, _ in cites] == [
        str((await Evidence.get(sha256=p["evidence"]["sha256"])).id)
        for p in (on_the_way, next_day, far_away)
    ]


async def test_nobody_cites_an_upload_they_may_not_read(tree: Tree, client: GraphQLClient) -> None:
    theirs = await upload(client, photo(START), token_for(tree.users["luobu_head"]))
    records = await AccountabilityRecord.all().count()

    body = await client.run(
        CREATE_RECORD,
        {"input": patrol(tree, evidenceIds=[theirs["evidence"]["id"]])},
        token_for(tree.users["grid_leader"]),
    )

    assert body["data"]["createRecord"] == {
        "record": None,
        "errors": [{"field": "evidenceIds", "code": "NOT_FOUND"}],
    }
    assert await AccountabilityRecord.all().count() == records
    assert await RecordEvidence.all().count() == 0
    assert await AuditEvent.filter(action="evidence.cite").count() == 0


async def test_an_assessment_scores_by_records_and_uploads_as_nodes(
    tree: Tree, client: GraphQLClient
) -> None:
    leader, head = token_for(tree.users["grid_leader"]), token_for(tree.users["zhaxi_head"])
    filed = await client.run(CREATE_RECORD, {"input": patrol(tree)}, leader)
    record_id = filed["data"]["createRecord"]["record"]["id"]
    scan = await upload(client, b"%PDF-1.7\nledger\n", head, filename="ledger.pdf")
    scan_id = scan["evidence"]["id"]
    assessment = {
        "type": "ASSESSMENT",
        "orgUnitId": tree.unit_gid("shilong"),
        "occurredAt": START.isoformat(),
        "criteria": [
            {"name": "ledgers", "maxScore": 10, "awarded": 9, "evidenceIds": [scan_id, record_id]},
            {"name": "activities", "maxScore": 20, "awarded": 18},
        ],
    }

    body = await client.run(CREATE_RECORD, {"input": assessment}, head)

    record = body["data"]["createRecord"]["record"]
    assert body["data"]["createRecord"]["errors"] == []
    assert record["criteria"] == [
        {
            "name": "ledgers",
            "maxScore": 10.0,
            "awarded": 9.0,
            "evidence": [
                {"__typename": "Record", "id": record_id},
                {"__typename": "Evidence", "id": scan_id},
            ],
        },
        {"name": "activities", "maxScore": 20.0, "awarded": 18.0, "evidence": []},
    ]
    assert record["details"]["criteria"][0]["evidenceIds"] == [record_id, scan_id]
    assert record["evidence"] == [{"id": scan_id, "sha256": scan["evidence"]["sha256"]}]
    # The compiled read path sends the details stored with the record: the same ids.
    listed = await client.run(
        "{ records(filter: { type: ASSESSMENT }) { edges { node { details } } } }", None, head
    )
    assert listed["data"]["records"]["edges"] == [{"node": {"details": record["details"]}}]


async def test_the_compiled_read_path_leaves_a_records_evidence_to_the_resolvers(
    tree: Tree, tmp_path: Path
) -> None:
    query = "{ records(first: 5) { edges { node { id %s } } } }"
    async with running_app(app_settings(evidence_dir=tmp_path, debug=True)) as client:
        token = token_for(tree.users["grid_leader"])
        cited = await upload(client, photo(START + timedelta(hours=1), WEIXIN), token)
        await client.run(
            CREATE_RECORD, {"input": patrol(tree, evidenceIds=[cited["evidence"]["id"]])}, token
        )

        plain = await client.run(query % "", None, token)
        with_evidence = await client.run(query % "evidence { sha256 }", None, token)

    assert plain["extensions"]["debug"]["executor"] == "compiled"
    assert with_evidence["extensions"]["debug"]["executor"] == "resolved"
    (edge,) = with_evidence["data"]["records"]["edges"]
    assert edge["node"]["evidence"] == [{"sha256": cited["evidence"]["sha256"]}]
    assert plain["data"]["records"]["edges"] == [{"node": {"id": edge["node"]["id"]}}]
