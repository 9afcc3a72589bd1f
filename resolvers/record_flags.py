"""Why a record is flagged: a code a client can act on and the sentence an inspector reads.

A record stores ``flagged`` and ``flag_reason`` when it is filed; its flags are read back from
that reason, one per sentence, so that they always agree with what was stored (and with
records written before there were codes, or loaded as data: the demo's). Each check that can
flag a record writes its code's sentence; a sentence this table does not know reads as
``OTHER`` with the sentence as its message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SEPARATOR = "; "


class RecordFlagCode(StrEnum):
    TOO_FAST = "TOO_FAST"
    TOO_LONG = "TOO_LONG"
    BEYOND_SEGMENT = "BEYOND_SEGMENT"
    OVERLAPPING = "OVERLAPPING"
    IN_FUTURE = "IN_FUTURE"
    NO_TRACK = "NO_TRACK"
    OFF_WATER = "OFF_WATER"
    TRACK_GAP = "TRACK_GAP"
    PHOTO_TIME = "PHOTO_TIME"
    PHOTO_PLACE = "PHOTO_PLACE"
    OTHER = "OTHER"


MESSAGES: dict[RecordFlagCode, str] = {
    RecordFlagCode.TOO_FAST: "distance impossible in the time given",
    RecordFlagCode.TOO_LONG: "duration longer than a day's patrol",
    RecordFlagCode.BEYOND_SEGMENT: "distance longer than the segment allows",
    RecordFlagCode.OVERLAPPING: "overlaps another patrol by the same person",
    RecordFlagCode.IN_FUTURE: "dated after it was filed",
    RecordFlagCode.NO_TRACK: "filed without a track",
    RecordFlagCode.OFF_WATER: "track strays from the water patrolled",
    RecordFlagCode.TRACK_GAP: "track has a gap in time",
    RecordFlagCode.PHOTO_TIME: "a photo was taken outside the patrol's time",
    RecordFlagCode.PHOTO_PLACE: "a photo was taken far from the patrol's track or water",
}
CODES = {message: code for code, message in MESSAGES.items()}


@dataclass(frozen=True)
class RecordFlag:
    code: RecordFlagCode
    message: str


def flag(code: RecordFlagCode) -> RecordFlag:
    return RecordFlag(code, MESSAGES[code])


def reason_of(flags: list[RecordFlag]) -> str:
    """What ``flag_reason`` stores: the flags' sentences in order; '' for none."""
    return SEPARATOR.join(f.message for f in flags)


def flags_of(stored_reason: str) -> list[RecordFlag]:
    """The flags a stored ``flag_reason`` says, in order; none for ''."""
    found = []
    for sentence in (s.strip() for s in stored_reason.split(SEPARATOR)):
        if sentence:
            found.append(RecordFlag(CODES.get(sentence, RecordFlagCode.OTHER), sentence))
    return found


def in_future(
    occurred_at: datetime, ended_at: datetime | None, filed_at: datetime, skew: timedelta
) -> bool:
    """Whether a record claims to have happened (or ended) after it was filed, by more than
    the clocks of a phone and the server may disagree."""
    latest = max(occurred_at, ended_at) if ended_at is not None else occurred_at
    return latest > filed_at + skew
