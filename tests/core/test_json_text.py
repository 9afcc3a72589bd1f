"""``core.json_text.dumps``: characters as they are; escapes only where UTF-8 cannot go."""

from __future__ import annotations

import json

from core.json_text import dumps


def test_chinese_is_written_as_it_is() -> None:
    assert dumps({"name": "扎西镇", "n": 1}) == '{"name":"扎西镇","n":1}'


def test_a_lone_surrogate_is_escaped_so_the_text_encodes() -> None:
    value = {"name": "扎西镇", "broken": "\ud800"}

    text = dumps(value)

    assert text == '{"name":"\\u624e\\u897f\\u9547","broken":"\\ud800"}'
    assert json.loads(text.encode("utf-8")) == value
