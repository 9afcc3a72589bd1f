"""The compiled path's ``data``: JSON text as the database built it, spliced into the
response without being parsed."""

from __future__ import annotations

import json
from typing import Any

from core.json_text import dumps


class CompiledData(dict[str, object]):
    """An operation's ``data`` held as JSON text (``raw``).

    It is a ``dict`` only so that it travels through Strawberry's result types; its items
    are filled in (parsed) only when something reads it as a mapping through ``parsed``.
    The HTTP view writes ``raw`` as it is (``encode_response``).
    """

    def __init__(self, raw: str) -> None:
        super().__init__()
        self.raw = raw

    def parsed(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw)
        return value


def encode_response(response: dict[str, Any]) -> str | None:
    """A response whose ``data`` is compiled, as JSON text; None for any other."""
    data = response.get("data")
    if not isinstance(data, CompiledData):
        return None
    rest = {key: value for key, value in response.items() if key != "data"}
    tail = dumps(rest)[1:] if rest else "}"
    return '{"data":' + data.raw + ("," + tail if rest else tail)
