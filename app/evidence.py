"""``GET /evidence/<sha256>``: an evidence file's bytes, for those who may read it.

Who may is the policies' to say (``policies.evidence``, through ``resolvers.evidence``): the
uploader, and whoever may read a record that cites it. Content nobody uploaded and content
the viewer may not read both answer 404, so the route tells nobody what exists; without a
bearer token it answers 401. The bytes go out with the media type sniffed when they were
uploaded, ``nosniff``, and as an attachment, so a browser never renders them as a page of
this service.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.route_context import signed_in_context
from core import telemetry
from core.evidence_files import JPEG, PDF, PNG, SHA256_HEX, WEBP, EvidenceStore
from policies.guard import log_denial
from policies.rights import RECORD_READ
from resolvers.evidence import readable_file

EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
NOT_FOUND_BODY = {
    "data": None,
    "errors": [{"message": "No such evidence.", "extensions": {"code": "NOT_FOUND"}}],
}


class EvidenceFiles:
    """The route's endpoint, over the store the service keeps evidence in."""

    def __init__(self, store: EvidenceStore) -> None:
        self.store = store

    async def endpoint(self, request: Request) -> Response:
        context = signed_in_context(request)
        if isinstance(context, Response):
            return context
        sha256 = str(request.path_params.get("sha256", ""))
        found = await readable_file(context, sha256) if SHA256_HEX.match(sha256) else None
        content = await asyncio.to_thread(self.store.read, sha256) if found is not None else None
        if found is None or content is None:
            log_denial(context, RECORD_READ, f"evidence:{sha256[:64]}")
            telemetry.error("NOT_FOUND")
            return JSONResponse(NOT_FOUND_BODY, status_code=404)
        name = f"{found.sha256}.{EXTENSIONS.get(found.content_type, 'bin')}"
        return Response(
            content,
            media_type=found.content_type,
            headers={
                "x-content-type-options": "nosniff",
                "content-disposition": f'attachment; filename="{name}"',
                "cache-control": "private, no-store",
            },
        )
