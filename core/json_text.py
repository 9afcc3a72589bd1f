"""JSON text as the service writes it: characters as they are, so 石龙村 reads as 石龙村 in a
response, not as ``\\u77f3\\u9f99\\u6751``.

A string with a lone surrogate (half of a UTF-16 pair, which UTF-8 cannot carry) cannot be
written that way; a document holding one is written with ASCII escapes instead. Either way
the text is valid JSON and encodes as UTF-8.
"""

from __future__ import annotations

import json

SEPARATORS = (",", ":")


def dumps(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=SEPARATORS)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, separators=SEPARATORS)
    return text
