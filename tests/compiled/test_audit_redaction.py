"""``auditEvents`` compiled shows each event as ``resolvers.audit_view`` does: a reference the
viewer may not read is ``OUTSIDE_SCOPE``, a list keeps only the readable ids, and an event's
``orgPath`` likewise. Every account's answer is compared with the resolvers'; the demo's
history has references outside some readers' scope, so the redaction is exercised, not assumed.
"""

from __future__ import annotations

import json

import pytest

from compiled.audit import AUDIT_EVENT
from compiled.objects import Render, Row
from compiled.selection import NotCompilable
from resolvers.audit_view import OUTSIDE_SCOPE
from tests.compiled.conftest import ACCOUNTS, Services

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVENTS = """
query Events($after: String) {
  auditEvents(first: 40, after: $after) {
    edges { cursor node {
      seq orgPath before after
      changed: after
      actor { username }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_every_reader_sees_the_events_redacted_as_the_resolvers_show_them(
    services: Services,
) -> None:
    redacted = []
    for account in ACCOUNTS:
        after = None
        for _ in range(3):  # the first pages: a cursor from the compiled path goes on
            compiled, resolved = await services.both(EVENTS, {"after": after}, account)
            assert compiled.body == resolved.body, account
            if "errors" in compiled.body:
                break
            assert compiled.executor == "compiled", account
            page = compiled.body["data"]["auditEvents"]
            if OUTSIDE_SCOPE in json.dumps(page, ensure_ascii=False):
                redacted.append(account)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    assert redacted, "no reader's history named anything outside their scope"


async def test_an_event_elsewhere_than_audit_events_leaves_the_compiled_path() -> None:
    """Its referring fields are read as stored, for ``run_audit`` to redact: an event rendered
    from any other row (were a field to reach one) is not compiled, rather than shown raw."""
    render = Render.__new__(Render)  # never read: the row decides first
    for name in ("before", "after", "orgPath"):
        with pytest.raises(NotCompilable):
            AUDIT_EVENT.scalars[name](render, Row("ev", ""))
