"""Evidence files: their kind told from their bytes, their EXIF time and place, and a store
that keeps each distinct content once, under its SHA-256.

The kind is sniffed from the first bytes (JPEG, PNG, WebP, PDF), never taken from the
client's header or file name. A photo's time (``DateTimeOriginal``) and position (GPS) are
read with Pillow; an image Pillow cannot open, or one without them, has none. The store
writes a temporary file in its own directory and renames it into place, so a reader sees a
whole file or none, and the same bytes uploaded twice are kept once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
PDF = "application/pdf"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# EXIF tags (the IFDs Pillow's ``Exif.get_ifd`` opens by these numbers).
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATE_TIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4


def sniff(head: bytes) -> str | None:
    """The media type the bytes begin as, among those evidence may be; None for others."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


@dataclass(frozen=True)
class PhotoFacts:
    """What a photo's EXIF says: when it was taken and where (WGS 84 degrees), if it says."""

    taken_at: datetime | None = None
    lon: float | None = None
    lat: float | None = None


def photo_facts(content: bytes, content_type: str) -> PhotoFacts:
    """The EXIF time and place of an image; nothing for a PDF or an image without them.

    A time without a UTC offset (most cameras write none) is read as UTC+8, the time of
    the service's region (China Standard Time)."""
    if content_type == PDF:
        return PhotoFacts()
    try:
        with Image.open(io.BytesIO(content)) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError, ValueError):
        return PhotoFacts()
    details = exif.get_ifd(EXIF_IFD)
    taken_at = _exif_time(details.get(DATE_TIME_ORIGINAL), details.get(OFFSET_TIME_ORIGINAL))
    gps = exif.get_ifd(GPS_IFD)
    lat = _degrees(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF), "S", 90)
    lon = _degrees(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF), "W", 180)
    if lat is None or lon is None:
        lat = lon = None
    return PhotoFacts(taken_at=taken_at, lon=lon, lat=lat)


LOCAL_TIME = timezone(timedelta(hours=8))


def _exif_time(value: Any, offset: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        taken = datetime.strptime(value.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = LOCAL_TIME
    if isinstance(offset, str):
        match = re.fullmatch(r"([+-])(\d\d):(\d\d)", offset.strip().rstrip("\x00"))
        if match:
            sign = -1 if match.group(1) == "-" else 1
            zone = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    return taken.replace(tzinfo=zone).astimezone(UTC)


def _degrees(value: Any, ref: Any, negative: str, limit: float) -> float | None:
    """Degrees, minutes and seconds as EXIF rationals, to signed decimal degrees."""
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip().upper().startswith(negative):
        degrees = -degrees
    if not (degrees == degrees and -limit <= degrees <= limit):  # NaN or out of range
        return None
    return round(degrees, 7)


class TooLarge(Exception):
    """The content runs past the store's limit."""


@dataclass(frozen=True)
class Received:
    """Content read in full, within the limit, with its digest."""

    content: bytes
    sha256: str


class EvidenceStore:
    """Content-addressed files under ``root``: ``<root>/<ab>/<sha256>``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            raise ValueError("not a SHA-256 in lower-case hex")
        return self.root / sha256[:2] / sha256

    async def receive(self, chunks: Any) -> Received:
        """Read an async iterator of byte chunks, refusing (``TooLarge``) as soon as they run
        past ``max_bytes``: nothing of a refused upload is written."""
        digest = hashlib.sha256()
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLarge
            digest.update(chunk)
            parts.append(chunk)
        return Received(b"".join(parts), digest.hexdigest())

    def keep(self, received: Received) -> bool:
        """Write the content under its digest unless it is there already; whether it was
        written now. A temporary file in the same directory is renamed into place."""
        target = self.path_of(received.sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(received.content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return True

    def read(self, sha256: str) -> bytes | None:
        try:
            return self.path_of(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
