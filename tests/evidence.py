"""Evidence for tests: photos made with Pillow carrying EXIF time and GPS, and uploads sent
as real multipart requests (the GraphQL multipart request spec) through the app."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import httpx
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from core.evidence_files import (
    DATE_TIME_ORIGINAL,
    EXIF_IFD,
    GPS_IFD,
    GPS_LATITUDE,
    GPS_LATITUDE_REF,
    GPS_LONGITUDE,
    GPS_LONGITUDE_REF,
    OFFSET_TIME_ORIGINAL,
)
from tests.http.client import GraphQLClient

UPLOAD = """
mutation Upload($file: Upload!) {
  uploadEvidence(file: $file) {
    evidence { id sha256 contentType bytes takenAt location url }
    errors { field code }
  }
}
"""


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10_000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10_000)


def photo(
    taken: datetime | None = None,
    where: tuple[float, float] | None = None,
    *,
    shade: int = 0,
    kind: str = "JPEG",
) -> bytes:
    """A small image; with ``taken`` (an aware time, written with its UTC offset) and
    ``where`` (lon, lat) in its EXIF. ``shade`` makes otherwise equal photos differ."""
    image = Image.new("RGB", (16, 16), (shade % 256, 120, 160))
    exif = Image.Exif()
    if taken is not None:
        details = exif.get_ifd(EXIF_IFD)
        details[DATE_TIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
        offset = taken.utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        details[OFFSET_TIME_ORIGINAL] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if where is not None:
        lon, lat = where
        gps = exif.get_ifd(GPS_IFD)
        gps[GPS_LATITUDE_REF] = "N" if lat >= 0 else "S"
        gps[GPS_LATITUDE] = _dms(lat)
        gps[GPS_LONGITUDE_REF] = "E" if lon >= 0 else "W"
        gps[GPS_LONGITUDE] = _dms(lon)
    out = io.BytesIO()
    image.save(out, kind, exif=exif)
    return out.getvalue()


async def post_upload(
    client: GraphQLClient,
    content: bytes,
    token: str | None,
    *,
    filename: str = "photo.jpg",
    declared: str = "image/jpeg",
) -> httpx.Response:
    """``uploadEvidence`` as a multipart request: ``operations``, ``map`` and the file."""
    operations = {"query": UPLOAD, "variables": {"file": None}}
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, declared)},
        headers=headers,
    )


async def upload(client: GraphQLClient, content: bytes, token: str, **kwargs: Any) -> Any:
    """The ``uploadEvidence`` payload of an upload the transport accepted."""
    response = await post_upload(client, content, token, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["uploadEvidence"]
