"""Response headers that keep browsers from misusing what the service returns."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
# Data responses may not be rendered as documents at all.
FOR_DATA = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
}
# An HTML document loads nothing unless it says what it needs in a policy of its own: the
# explorer page admits this origin's scripts, styles and connections (app/explorer.py).
FOR_DOCUMENTS = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'"}
HSTS = "max-age=63072000; includeSubDomains"


Header = tuple[bytes, bytes]


def _encoded(headers: dict[str, str]) -> tuple[Header, ...]:
    return tuple((name.encode(), value.encode()) for name, value in headers.items())


class SecurityHeaders:
    """Adds each header the response does not set itself; the pairs are encoded once."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production
        hsts = (("strict-transport-security", HSTS),) if production else ()
        self.for_documents = _encoded({**ALWAYS, **FOR_DOCUMENTS, **dict(hsts)})
        self.for_data = _encoded({**ALWAYS, **FOR_DATA, **dict(hsts)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.with_defaults(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def with_defaults(self, headers: list[Header]) -> list[Header]:
        """``headers`` and, after them, every default whose name they do not carry."""
        present = {name.lower() for name, _ in headers}
        content_type = next((v for name, v in headers if name.lower() == b"content-type"), b"")
        defaults = self.for_documents if content_type.startswith(b"text/html") else self.for_data
        headers.extend(pair for pair in defaults if pair[0] not in present)
        return headers
