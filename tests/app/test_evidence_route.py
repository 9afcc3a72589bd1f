"""``GET /evidence/<sha256>``: the bytes for the uploader and for readers of a record that
cites them; 404 alike for unknown and forbidden content; 401 without a token."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.evidence import photo, upload
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, app_settings, running_app
from tests.http.test_websocket_authority import token_for
from tests.tracks import WEIXIN, track_along

START = datetime(2025, 5, 9, 8, tzinfo=UTC)
CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""
NOT_FOUND = {
    "data": None,
    "errors": [{"message": "No such evidence.", "extensions": {"code": "NOT_FOUND"}}],
}


@dataclass
class Shared:
    client: GraphQLClient
    cited: str  # cited by grid_leader's patrol at grid_a
    kept: str  # uploaded by grid_leader, cited by nothing
    cited_bytes: bytes


@pytest.fixture
async def shared(tree: Tree, tmp_path: Path) -> AsyncIterator[Shared]:
    async with running_app(app_settings(evidence_dir=tmp_path)) as client:
        token = token_for(tree.users["grid_leader"])
        content = photo(START + timedelta(hours=1), WEIXIN)
        cited = await upload(client, content, token)
        kept = await upload(client, photo(START, shade=7), token)
        patrol = {
            "type": "PATROL",
            "orgUnitId": tree.unit_gid("grid_a"),
            "occurredAt": START.isoformat(),
            "endedAt": (START + timedelta(hours=2)).isoformat(),
            "patrol": {"track": track_along(START, 2, 4)},
            "evidenceIds": [cited["evidence"]["id"]],
        }
        filed = await client.run(CREATE_RECORD, {"input": patrol}, token)
        assert filed["data"]["createRecord"]["errors"] == []
        yield Shared(client, cited["evidence"]["sha256"], kept["evidence"]["sha256"], content)


async def fetch(shared: Shared, tree: Tree, who: str | None, sha256: str) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token_for(tree.users[who])}"} if who else {}
    response = await shared.client.http.get(f"/evidence/{sha256}", headers=headers)
    if response.headers["content-type"].startswith("application/json"):
        return response.status_code, response.json()
    return response.status_code, response.content


# Who reads grid_a's records (and so the evidence its patrol cites), and who does not.
READERS = ["grid_leader", "village_sec", "zhaxi_head", "county_admin", "inspector"]
OUTSIDERS = ["luobu_head", "dept_head", "yzh_admin", "enterprise_chief"]


async def test_the_bytes_go_to_the_uploader_with_safe_headers(tree: Tree, shared: Shared) -> None:
    token = token_for(tree.users["grid_leader"])

    response = await shared.client.http.get(
        f"/evidence/{shared.cited}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    assert response.content == shared.cited_bytes
    assert hashlib.sha256(response.content).hexdigest() == shared.cited
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == f'attachment; filename="{shared.cited}.jpg"'
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("who", READERS)
async def test_readers_of_a_citing_record_get_the_bytes(
    tree: Tree, shared: Shared, who: str
) -> None:
    assert await fetch(shared, tree, who, shared.cited) == (200, shared.cited_bytes)


@pytest.mark.parametrize("who", OUTSIDERS)
async def test_outsiders_get_not_found_as_for_unknown_content(
    tree: Tree, shared: Shared, who: str
) -> None:
    unknown = hashlib.sha256(b"nobody uploaded this").hexdigest()

    assert await fetch(shared, tree, who, shared.cited) == (404, NOT_FOUND)
    assert await fetch(shared, tree, who, unknown) == (404, NOT_FOUND)


@pytest.mark.parametrize("who", [w for w in READERS if w != "grid_leader"])
async def test_an_uncited_upload_is_its_uploaders_alone(
    tree: Tree, shared: Shared, who: str
) -> None:
    assert (await fetch(shared, tree, "grid_leader", shared.kept))[0] == 200
    assert await fetch(shared, tree, who, shared.kept) == (404, NOT_FOUND)


async def test_without_a_token_the_answer_is_unauthenticated(tree: Tree, shared: Shared) -> None:
    response = await shared.client.http.get(f"/evidence/{shared.cited}")

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["not-a-digest", "A" * 64, "0" * 63])
async def test_what_is_not_a_digest_is_not_found(tree: Tree, shared: Shared, path: str) -> None:
    assert await fetch(shared, tree, "grid_leader", path) == (404, NOT_FOUND)


async def test_a_path_outside_the_route_reads_nothing(tree: Tree, shared: Shared) -> None:
    status, body = await fetch(shared, tree, "grid_leader", "../../etc/passwd")

    assert (status, body) == (404, b"Not Found")  # Starlette's router: no route there
