"""Refuse request bodies over a size limit before anything parses them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "REQUEST_TOO_LARGE"


def _body(limit: int) -> bytes:
    return json.dumps(
        {
            "data": None,
            "errors": [
                {
                    "message": f"The request body exceeds {limit} bytes.",
                    "extensions": {"code": TOO_LARGE},
                }
            ],
        }
    ).encode()


def _multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).partition(b";")[0].strip().lower() == b"multipart/form-data"
    return False


class BodySizeLimit:
    """Checks ``Content-Length`` first, then counts what actually arrives (chunked bodies).

    A multipart request (an evidence upload) may be as large as ``multipart_max_bytes``:
    the file's own limit is the upload's to enforce, with a typed error; this one only keeps
    a body far past it from being read at all."""

    def __init__(self, app: ASGIApp, max_bytes: int, multipart_max_bytes: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.multipart_max_bytes = max(multipart_max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.multipart_max_bytes if _multipart(scope) else self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await self._refuse(send, limit)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = _body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
