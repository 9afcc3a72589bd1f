"""``Record.flags``: why a record is flagged, as codes a client can act on
(``resolvers.record_flags`` decides them)."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers import record_flags


@strawberry.enum(description="Why a record is flagged for an inspector to look at.")
class RecordFlagCode(Enum):
    TOO_FAST = strawberry.enum_value(
        "TOO_FAST",
        description="A patrol's distance is impossible in its time (over 12 km/h), or it took "
        "no time. With a track, its measured length over its own duration.",
    )
    TOO_LONG = strawberry.enum_value(
        "TOO_LONG", description="A patrol lasted longer than a day's patrol (16 hours)."
    )
    BEYOND_SEGMENT = strawberry.enum_value(
        "BEYOND_SEGMENT",
        description="A patrol's distance is longer than its river segment allows (four "
        "lengths: both banks, there and back).",
    )
    OVERLAPPING = strawberry.enum_value(
        "OVERLAPPING", description="A patrol overlaps another patrol by the same person."
    )
    IN_FUTURE = strawberry.enum_value(
        "IN_FUTURE",
        description="The record is dated (it happened or ended) after it was filed, by more "
        "than the allowed clock skew (`RIVERCHIEF_CLOCK_SKEW`, 5 minutes by default).",
    )
    NO_TRACK = strawberry.enum_value(
        "NO_TRACK", description="A patrol filed without a track: its distance was typed in."
    )
    OFF_WATER = strawberry.enum_value(
        "OFF_WATER",
        description="A point of the patrol's track lies more than 500 m from the geometry of "
        "the water body patrolled (or of the river or basin it is part of, when it has none "
        "of its own).",
    )
    TRACK_GAP = strawberry.enum_value(
        "TRACK_GAP",
        description="Two consecutive points of the patrol's track are more than 10 minutes "
        "apart: the logging stopped, and the line across the gap is a guess.",
    )
    PHOTO_TIME = strawberry.enum_value(
        "PHOTO_TIME",
        description="A photo the patrol cites (`evidenceIds`) was taken, by its EXIF "
        "`DateTimeOriginal`, more than 30 minutes before the patrol started or after it ended.",
    )
    PHOTO_PLACE = strawberry.enum_value(
        "PHOTO_PLACE",
        description="A photo the patrol cites was taken, by its EXIF GPS position, more than "
        "1 km from the patrol's track (or, without a track, from the geometry of the water "
        "patrolled or the river or basin it is part of).",
    )
    OTHER = strawberry.enum_value(
        "OTHER", description="A reason stored without a code: the message says it."
    )


@strawberry.type(description="One reason a record is flagged.")
class RecordFlag:
    code: RecordFlagCode = strawberry.field(description="The reason, for a client to act on.")
    message: str = strawberry.field(description="The reason, for an inspector to read.")


def flags_of(stored_reason: str) -> list[RecordFlag]:
    return [
        RecordFlag(code=RecordFlagCode(found.code.value), message=found.message)
        for found in record_flags.flags_of(stored_reason)
    ]
