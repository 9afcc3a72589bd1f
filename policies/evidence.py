"""Who reads an evidence item: its uploader, and whoever may read a record that cites it.

Evidence belongs to no unit of its own; it is seen through the records that cite it, with
the one scope filter of ``record:read`` (``policies.scope``), and by the account that
uploaded it (so that it can cite what it uploaded). The same condition narrows every list,
decides ``node``, the citing of evidence in a new record, and ``GET /evidence/<sha256>``.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from core.context import RequestContext
from models.evidence import Evidence, RecordEvidence
from policies.rights import RECORD_READ
from policies.scope import scope_for


def readable_evidence(
    context: RequestContext, query: QuerySet[Evidence] | None = None
) -> QuerySet[Evidence]:
    """``query`` (every evidence item by default) narrowed to what the viewer may read;
    nothing for an anonymous viewer."""
    query = Evidence.all() if query is None else query
    if context.viewer is None:
        return query.filter(pk__in=[])
    condition = Q(uploader_id=context.viewer.id)
    cited = scope_for(context, RECORD_READ).q("record__org_unit__path", "record__org_unit__level")
    if cited.children:
        citations: Any = RecordEvidence.filter(cited).values("evidence_id")
        condition |= Q(id__in=Subquery(citations))
    return query.filter(condition)
