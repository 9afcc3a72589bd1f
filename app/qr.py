"""``GET /qr/<segmentCode>.svg``: the QR code printed on a river sign.

It holds the public complaint page for that segment (``RIVERCHIEF_PUBLIC_URL`` +
``/complain?segment=<code>``, ``core.complaint_settings``), drawn by segno as SVG. Open to
anyone, like the sign; a code that names no segment (or lake) is 404. The picture only changes
with the public URL, so it may be cached for a day.
"""

from __future__ import annotations

import segno
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from core.complaint_settings import ComplaintSettings
from resolvers.complaints import complainable

SVG = "image/svg+xml"
CACHE = "public, max-age=86400"


def qr_svg(url: str) -> str:
    """The SVG of ``url``'s QR code (error correction M, so a weathered sign still reads)."""
    return str(segno.make(url, error="m", micro=False).svg_inline(scale=8, title=url))


class SignCodes:
    """The route's endpoint, pointing at the public URL of ``settings``."""

    def __init__(self, settings: ComplaintSettings) -> None:
        self.settings = settings

    async def endpoint(self, request: Request) -> Response:
        code = str(request.path_params.get("code", ""))
        water = await complainable(code)
        if water is None:
            return PlainTextResponse("No river segment has this code.", status_code=404)
        url = self.settings.complaint_url(water.code)
        return Response(qr_svg(url), media_type=SVG, headers={"cache-control": CACHE})
