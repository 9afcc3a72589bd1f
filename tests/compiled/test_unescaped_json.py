"""A response's text is UTF-8 as it is: 扎西镇 in the body, not ``\\u624e\\u897f\\u9547``, on the
compiled path (JSON the database built) as on the resolvers'."""

from __future__ import annotations

import json
import re

import pytest

from bench.queries import TASK_INBOX
from tests.compiled.conftest import Services

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def test_both_paths_write_chinese_unescaped(services: Services) -> None:
    token = services.tokens["zhaxi_head"]

    compiled = await services.compiled.post(TASK_INBOX, None, token)
    resolved = await services.resolved.post(TASK_INBOX, None, token)

    for response, executor in ((compiled, "compiled"), (resolved, "resolved")):
        text = response.content.decode("utf-8")
        body = json.loads(text)
        assert body["extensions"]["debug"]["executor"] == executor
        assert body["data"]["tasks"]["edges"], body
        assert CHINESE.search(text), text[:300]
        assert "\\u" not in text, text[:300]
    assert json.loads(compiled.content)["data"] == json.loads(resolved.content)["data"]
