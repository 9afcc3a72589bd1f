"""Evidence: uploading a file, reading it back, citing it in a record, and what a patrol's
photos say about the patrol.

An upload is read in chunks and refused (``TOO_LARGE``) as soon as it runs past the limit,
its kind is sniffed from its bytes (``UNSUPPORTED_MEDIA_TYPE`` for anything but JPEG, PNG,
WebP and PDF), its EXIF time and place are read, and it is kept once under its SHA-256
(``core.evidence_files``). Who may read it is the policies' to say
(``policies.evidence``); citing needs the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.evidence_files import PDF, PhotoFacts, TooLarge, photo_facts, sniff
from models.enums import AuditAction, AuditEntity
from models.evidence import Evidence, RecordEvidence
from models.people import Person
from models.record import AccountabilityRecord
from policies.evidence import readable_evidence
from resolvers.audit import append_event
from resolvers.record_flags import RecordFlag, RecordFlagCode, flag
from resolvers.tracks import TrackPoint, farther_than

FIELD = "file"
MAX_CITED = 50
# A photo's clock (often a phone's, set by hand) and the patrol's may disagree a little; a
# photo taken this long before the patrol started or after it ended is not of the patrol.
PHOTO_TIME_TOLERANCE = timedelta(minutes=30)
# Farther than this from the patrol's track (or, without one, its water) is not on the patrol:
# twice the distance a track may stray from its water, for a photo of the far bank.
PHOTO_PLACE_METRES = 1000.0
MULTIPART_ONLY = (
    "Upload the file in a multipart request (the GraphQL multipart request spec) over HTTP; "
    "a file cannot be sent over the websocket or as a JSON value."
)


async def upload_evidence(context: RequestContext, chunks: AsyncIterator[bytes] | None) -> Evidence:
    """Keep an uploaded file and return its evidence; the same account uploading the same
    bytes again gets the same evidence back, and nothing new is written or audited."""
    store = context.evidence
    if chunks is None or store is None or context.viewer is None:
        raise DomainError(ErrorCode.VALIDATION, MULTIPART_ONLY, FIELD)
    try:
        received = await store.receive(chunks)
    except TooLarge as exc:
        raise DomainError(
            ErrorCode.TOO_LARGE, f"A file has at most {store.max_bytes} bytes.", FIELD
        ) from exc
    content_type = sniff(received.content[:16])
    if content_type is None:
        raise DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Evidence is a JPEG, PNG or WebP photo or a PDF document; these bytes are none.",
            FIELD,
        )
    uploader = context.viewer.id
    existing = await Evidence.get_or_none(sha256=received.sha256, uploader_id=uploader)
    if existing is not None:
        await asyncio.to_thread(store.keep, received)  # in case the file was lost since
        return existing
    facts = photo_facts(received.content, content_type)
    # Before the row, so that a row never names a file that is not there; in a thread, so
    # that writing a large file holds up no other request.
    await asyncio.to_thread(store.keep, received)
    try:
        return await _insert(context, received.sha256, content_type, len(received.content), facts)
    except IntegrityError:
        # The same account uploaded the same bytes at the same moment: one upload won.
        return await Evidence.get(sha256=received.sha256, uploader_id=uploader)


async def _insert(
    context: RequestContext, sha256: str, content_type: str, size: int, facts: PhotoFacts
) -> Evidence:
    async with in_transaction() as conn:
        evidence = await Evidence.create(
            sha256=sha256,
            content_type=content_type,
            size=size,
            taken_at=facts.taken_at,
            lon=facts.lon,
            lat=facts.lat,
            uploader_id=context.viewer.id if context.viewer else None,
            using_db=conn,
        )
        await append_event(
            conn,
            context,
            action=AuditAction.EVIDENCE_UPLOAD,
            entity_type=AuditEntity.EVIDENCE,
            entity_id=evidence.id,
            org_path=await _home_path(context),
            after={
                "sha256": evidence.sha256,
                "content_type": content_type,
                "size": evidence.size,
                "taken_at": facts.taken_at.isoformat() if facts.taken_at else None,
            },
        )
    return evidence


async def _home_path(context: RequestContext) -> str:
    """The unit of the uploader's person, so that those overseeing it see its uploads."""
    if context.viewer is None or context.viewer.person_id is None:
        return ""
    rows = await Person.filter(id=context.viewer.person_id).values_list("org_unit__path", flat=True)
    return str(rows[0]) if rows and rows[0] else ""


async def get_evidence(context: RequestContext, evidence_id: int | None) -> Evidence | None:
    """The evidence if the viewer may read it (``policies.evidence``); None otherwise."""
    if evidence_id is None:
        return None
    return await readable_evidence(context, Evidence.filter(id=evidence_id)).first()


async def readable_file(context: RequestContext, sha256: str) -> Evidence | None:
    """Some evidence with this content that the viewer may read, or None: the same answer
    for content nobody uploaded and for content the viewer may not read."""
    return await readable_evidence(context, Evidence.filter(sha256=sha256)).first()


async def citable(context: RequestContext, ids: Sequence[int], field: str) -> list[Evidence]:
    """The evidence items ``ids`` names, in order, each one the viewer may read; a
    ``NOT_FOUND`` error on ``field`` for the first that is missing or hidden."""
    if len(ids) > MAX_CITED:
        raise DomainError(ErrorCode.VALIDATION, f"At most {MAX_CITED} evidence items.", field)
    wanted = list(dict.fromkeys(ids))
    found = {e.id: e for e in await readable_evidence(context, Evidence.filter(id__in=wanted))}
    for evidence_id in wanted:
        if evidence_id not in found:
            raise DomainError(ErrorCode.NOT_FOUND, "No such evidence.", field)
    return [found[i] for i in wanted]


async def cite(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    record: AccountabilityRecord,
    org_path: str,
    items: Sequence[Evidence],
) -> None:
    """Link the record to each item, in order, each with its audit event."""
    for position, evidence in enumerate(items):
        await RecordEvidence.create(
            record_id=record.id, evidence_id=evidence.id, position=position, using_db=conn
        )
        await append_event(
            conn,
            context,
            action=AuditAction.EVIDENCE_CITE,
            entity_type=AuditEntity.EVIDENCE,
            entity_id=evidence.id,
            org_path=org_path,
            after={"record_id": record.id, "sha256": evidence.sha256},
        )


def _cited_by(context: RequestContext) -> DataLoader[int, list[Evidence]]:
    async def load(record_ids: Sequence[int]) -> list[list[Evidence]]:
        links = (
            await RecordEvidence.filter(record_id__in=list(set(record_ids)))
            .order_by("record_id", "position", "id")
            .prefetch_related("evidence")
        )
        by_record: dict[int, list[Evidence]] = {}
        for link in links:
            by_record.setdefault(link.record_id, []).append(link.evidence)
        return [by_record.get(i, []) for i in record_ids]

    return DataLoader(load_fn=load)


class CitedBy:
    """The per-request loader of the evidence each record cites."""

    def __init__(self, context: RequestContext) -> None:
        self.loader = _cited_by(context)


async def evidence_of(context: RequestContext, record_id: int) -> list[Evidence]:
    """What a record cites, in the order it cites it. Whoever reads the record reads these
    (``policies.evidence``): the caller has read the record through its own check."""
    cited = context.memo.get(CitedBy, lambda: CitedBy(context))
    return await cited.loader.load(record_id)


@dataclass(frozen=True)
class PatrolWindow:
    started: datetime
    ended: datetime
    track: tuple[TrackPoint, ...] | None
    water: dict[str, Any] | None  # the geometry of the water patrolled, if it has one


def photo_flags(window: PatrolWindow, items: Sequence[Evidence]) -> list[RecordFlag]:
    """``PHOTO_TIME`` when a cited photo was taken outside the patrol's time (give or take
    ``PHOTO_TIME_TOLERANCE``); ``PHOTO_PLACE`` when one was taken farther than
    ``PHOTO_PLACE_METRES`` from its track (or, without a track, from its water). Photos
    whose EXIF says nothing, and documents, are not judged."""
    photos = [e for e in items if e.content_type != PDF]
    found = []
    early, late = window.started - PHOTO_TIME_TOLERANCE, window.ended + PHOTO_TIME_TOLERANCE
    if any(p.taken_at is not None and not early <= p.taken_at <= late for p in photos):
        found.append(flag(RecordFlagCode.PHOTO_TIME))
    placed = [(p.lon, p.lat) for p in photos if p.lon is not None and p.lat is not None]
    where: dict[str, Any] | None = window.water
    if window.track is not None:
        where = {"type": "LineString", "coordinates": [[t.lon, t.lat] for t in window.track]}
    if placed and where is not None and farther_than(placed, where, PHOTO_PLACE_METRES):
        found.append(flag(RecordFlagCode.PHOTO_PLACE))
    return found
