"""A patrol's GPS track: checked, measured on the ellipsoid, and compared with its water.

A patrol filed with a track has its distance and duration measured here, never typed in: the
distance is the geodesic length of the track on WGS 84 (``pyproj.Geod``), the duration the
time from its first point to its last. What an inspector should look at in a track (a gap in
it, points far from the water patrolled) is decided here too (``resolvers.record_flags``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import shape

from core.errors import DomainError, ErrorCode

# Two points make the shortest line that has a length and a duration.
MIN_TRACK_POINTS = 2
# A point every 15 seconds over a 12-hour patrol, and it fits the default request body
# (`RIVERCHIEF_MAX_BODY_BYTES`, 256 KiB); more is a logger's raw stream, which a phone should
# thin before sending.
MAX_TRACK_POINTS = 3000
# A phone logging a track records a point at least every minute or two; ten minutes without
# one means the logging stopped, and the line drawn across the gap is a guess.
MAX_TRACK_GAP = timedelta(minutes=10)
# Farther than this from the water's line or outline is not patrolling it: a river bank path
# or a lake shore road lies within a few hundred metres, and phone fixes err by tens.
MAX_OFF_WATER_METRES = 500.0

WGS84 = Geod(ellps="WGS84")
FIELD = "patrol"


@dataclass(frozen=True)
class TrackPoint:
    """Where the patroller was, and when (WGS 84 degrees)."""

    lon: float
    lat: float
    at: datetime


@dataclass(frozen=True)
class Measured:
    distance_km: float
    duration_min: float


def check_track(
    track: tuple[TrackPoint, ...], started: datetime, ended: datetime | None, skew: timedelta
) -> None:
    """A ``VALIDATION`` error unless the track has 2 to 3000 points, each a real position, in
    strictly increasing time, all within the patrol's start and end (give or take the clocks'
    ``skew``)."""
    if not MIN_TRACK_POINTS <= len(track) <= MAX_TRACK_POINTS:
        _refuse(f"A track has {MIN_TRACK_POINTS} to {MAX_TRACK_POINTS} points.")
    for point in track:
        if not (math.isfinite(point.lon) and math.isfinite(point.lat)):
            _refuse("A track point's lon and lat are finite numbers.")
        if not (-180 <= point.lon <= 180 and -90 <= point.lat <= 90):
            _refuse("A track point has lon within ±180 and lat within ±90 degrees.")
    for before, after in itertools.pairwise(track):
        if after.at <= before.at:
            _refuse("A track's points are in strictly increasing time.")
    if track[0].at < started - skew or (ended is not None and track[-1].at > ended + skew):
        _refuse("A track lies between the patrol's occurredAt and endedAt.")


def _refuse(message: str) -> None:
    raise DomainError(ErrorCode.VALIDATION, message, FIELD)


def measure(track: tuple[TrackPoint, ...]) -> Measured:
    """The track's geodesic length in km and its duration in minutes."""
    metres = WGS84.line_length([p.lon for p in track], [p.lat for p in track])
    seconds = (track[-1].at - track[0].at).total_seconds()
    return Measured(distance_km=round(metres / 1000, 3), duration_min=round(seconds / 60, 2))


def has_gap(track: tuple[TrackPoint, ...]) -> bool:
    """Whether two consecutive points lie more than ``MAX_TRACK_GAP`` apart in time."""
    return any(b.at - a.at > MAX_TRACK_GAP for a, b in itertools.pairwise(track))


def off_water(track: tuple[TrackPoint, ...], geometry: dict[str, Any]) -> bool:
    """Whether any point lies farther than ``MAX_OFF_WATER_METRES`` from ``geometry``."""
    return farther_than([(p.lon, p.lat) for p in track], geometry, MAX_OFF_WATER_METRES)


def farther_than(
    points: Sequence[tuple[float, float]], geometry: dict[str, Any], metres: float
) -> bool:
    """Whether any of ``points`` (lon, lat) lies farther than ``metres`` from ``geometry``.

    Both are projected to an azimuthal equidistant plane centred on the first point, where
    distances near it are true in metres, and measured there with shapely.
    """
    lon, lat = points[0]
    plane = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m",
        always_xy=True,
    )

    def project(coordinates: np.ndarray) -> np.ndarray:
        x, y = plane.transform(coordinates[:, 0], coordinates[:, 1])
        return np.column_stack([x, y])

    target = shapely.transform(shape(geometry), project)
    projected = shapely.transform(shapely.points(list(points)), project)
    return bool(np.any(shapely.distance(target, projected) > metres))


def stored(track: tuple[TrackPoint, ...]) -> list[dict[str, Any]]:
    """The track as a record's details keep it."""
    return [{"lon": p.lon, "lat": p.lat, "at": p.at.isoformat()} for p in track]
