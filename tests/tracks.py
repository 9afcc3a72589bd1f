"""GPS tracks for tests: points along a geodesic whose measured length is known exactly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
# Beside the Chishui near Weixin county (illustrative, like the demo's geometry).
WEIXIN = (105.0, 27.8)


def track_along(
    start: datetime,
    hours: float,
    km: float,
    *,
    origin: tuple[float, float] = WEIXIN,
    azimuth: float = 0.0,
    every: timedelta = timedelta(minutes=5),
) -> list[dict[str, Any]]:
    """``TrackPointInput``s from ``start`` for ``hours``, one every ``every`` (and one at the
    end), evenly along the geodesic of ``km`` from ``origin`` heading ``azimuth`` degrees."""
    duration = timedelta(hours=hours)
    steps = max(1, int(duration / every))
    times = [start + every * i for i in range(steps)] + [start + duration]
    points = []
    for at in times:
        metres = km * 1000 * ((at - start) / duration)
        lon, lat, _ = WGS84.fwd(origin[0], origin[1], azimuth, metres)
        points.append({"lon": lon, "lat": lat, "at": at.isoformat()})
    return points
