"""Evidence: an uploaded photo or document, as the graph shows it, and ``uploadEvidence``'s
payload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import cast

import strawberry
from starlette.datastructures import UploadFile

from models.evidence import Evidence as EvidenceModel
from schema.errors import UserError
from schema.geojson import GeoJSON
from schema.node import Node, to_global_id

CHUNK_BYTES = 64 * 1024


@strawberry.type(
    description="An uploaded photo or document (`uploadEvidence`), kept once under its "
    "SHA-256. Its bytes are at `GET /evidence/<sha256>` with the bearer token, for its "
    "uploader and for whoever may read a record that cites it."
)
class Evidence(Node):
    sha256: str = strawberry.field(description="SHA-256 of the bytes, lower-case hex.")
    content_type: str = strawberry.field(
        description="The media type told from the bytes themselves (`image/jpeg`, "
        "`image/png`, `image/webp` or `application/pdf`), whatever the upload declared."
    )
    bytes: int = strawberry.field(description="The file's size in bytes.")
    taken_at: datetime | None = strawberry.field(
        description="When the photo was taken, by its EXIF `DateTimeOriginal` (read as "
        "UTC+8 when the photo states no offset); null for a document, or a photo that does "
        "not say."
    )
    location: GeoJSON | None = strawberry.field(
        description="Where the photo was taken, by its EXIF GPS position: a GeoJSON Point "
        "(WGS 84 longitude, latitude); null when it does not say."
    )
    created_at: datetime = strawberry.field(description="When it was uploaded.")

    @strawberry.field(
        description="Where to fetch the bytes: `/evidence/<sha256>`, relative to the service."
    )
    def url(self) -> str:
        return f"/evidence/{self.sha256}"

    @classmethod
    def of(cls, evidence: EvidenceModel) -> Evidence:
        location = None
        if evidence.lon is not None and evidence.lat is not None:
            location = cast(GeoJSON, {"type": "Point", "coordinates": [evidence.lon, evidence.lat]})
        return cls(
            id=to_global_id("Evidence", evidence.id),
            sha256=evidence.sha256,
            content_type=evidence.content_type,
            bytes=evidence.size,
            taken_at=evidence.taken_at,
            location=location,
            created_at=evidence.created_at,
        )

    @classmethod
    def maybe(cls, evidence: EvidenceModel | None) -> Evidence | None:
        return cls.of(evidence) if evidence is not None else None


@strawberry.type(description="The evidence uploaded, or why it was not.")
class UploadEvidencePayload:
    evidence: Evidence | None = strawberry.field(
        description="The evidence: cite it with `CreateRecordInput.evidenceIds` or a "
        "criterion's `evidenceIds`. Null on failure."
    )
    errors: list[UserError] = strawberry.field(
        description="Empty on success. TOO_LARGE or UNSUPPORTED_MEDIA_TYPE on `file` for a "
        "file refused (nothing stored); VALIDATION for a file not sent as a multipart upload "
        "over HTTP."
    )


def chunks_of(file: object) -> AsyncIterator[bytes] | None:
    """The bytes of an uploaded file, chunk by chunk; None for anything that is not an
    uploaded file (a JSON value in the variable's place, or nothing over the websocket)."""
    if not isinstance(file, UploadFile):
        return None
    upload = file

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(CHUNK_BYTES):
            yield chunk

    return chunks()
