"""Reading the audit trail, and proving it whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from tortoise.expressions import Q
from tortoise.fields import CharField

from core.context import RequestContext
from models.audit import FIRST_SEQ, AuditEvent
from models.paths import upper_bound
from policies.rights import AUDIT_READ
from policies.scope import scope, scope_for
from resolvers.audit import GENESIS_HASH, chain_hash
from resolvers.org import get_unit
from resolvers.pagination import OrderKey, Page, decode_cursor, page_size, paginate
from resolvers.subtree_pages import newest_event_seqs, on_postgres, worth_it

VERIFY_BATCH = 5000
# No action is longer than its column: a longer filter matches nothing (the ORM would refuse
# to compare it, as an internal error).
ACTION_LENGTH = cast("CharField[str]", AuditEvent._meta.fields_map["action"]).max_length


@dataclass(frozen=True)
class AuditQuery:
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    org_unit_id: int | None = None
    include_descendants: bool = False


async def list_events(
    context: RequestContext, spec: AuditQuery, *, first: int | None, after: str | None
) -> Page[AuditEvent]:
    query = scope(
        AuditEvent.in_chain(),
        context,
        AUDIT_READ,
        path_field="org_path",
        level_field=None,
    )
    subtree = None
    if spec.org_unit_id is not None:
        unit = await get_unit(context, spec.org_unit_id)
        if unit is None:
            query = query.filter(seq__lt=0)
        elif spec.include_descendants:
            query = query.filter(org_path__gte=unit.path, org_path__lt=upper_bound(unit.path))
            subtree = unit.path
        else:
            query = query.filter(org_path=unit.path)
    if spec.entity_type is not None:
        query = query.filter(entity_type=spec.entity_type)
    if spec.entity_id is not None:
        query = query.filter(entity_id=spec.entity_id)
    if spec.actor_id is not None:
        query = query.filter(actor_id=spec.actor_id)
    if spec.action is not None:
        if len(spec.action) > ACTION_LENGTH:
            query = query.filter(seq__lt=0)
        else:
            query = query.filter(action=spec.action)
    if spec.since is not None:
        query = query.filter(at__gte=spec.since)
    if spec.until is not None:
        query = query.filter(at__lt=spec.until)
    within = None
    size = page_size(first)
    if subtree and size and by_subtree_only(spec) and worth_it([subtree]) and on_postgres():
        before = decode_cursor(after, 1, NEWEST_FIRST)[0] if after else None
        visible = scope_for(context, AUDIT_READ)
        within = Q(seq__in=await newest_event_seqs(visible, subtree, size + 1, before))
    return await paginate(query, first=first, after=after, order=NEWEST_FIRST, within=within)


NEWEST_FIRST = OrderKey(field="seq", tiebreak="seq", descending=True, int_limit=2**63)


def by_subtree_only(spec: AuditQuery) -> bool:
    """No condition but the subtree: its newest page is found path by path."""
    return spec == AuditQuery(
        org_unit_id=spec.org_unit_id, include_descendants=spec.include_descendants
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH


@dataclass(frozen=True)
class Anchor:
    """A head an inspector wrote down earlier: the chain must still pass through it."""

    seq: int
    hash: str


async def verify_chain(anchor: Anchor | None = None) -> ChainReport:
    """Recompute every stored row, in seq order. The rows must be exactly the seqs 1..n,
    each linking to the one before it; the first row that is not reports its place:

    - a row below seq 1 (stored around the service): its own seq, since it sorts first;
    - a missing seq (a row removed, or one stored past a gap): the missing seq;
    - a row whose predecessor or hash does not match: its seq.

    ``checked`` counts the rows that passed before that, so a whole chain reports every
    stored row: count = max(seq) and min(seq) = 1 (the primary key refuses a repeated seq).
    A chain cut short at its end, or rebuilt with every later hash recomputed, still links
    up by itself: an ``anchor`` (a head recorded earlier) catches that, since the event at
    the anchor's seq must exist with the anchor's hash.
    """
    prev_hash, expected_seq, checked = GENESIS_HASH, FIRST_SEQ, 0
    last_seq: int | None = None  # the first batch starts at the lowest stored seq, whatever it is
    while True:
        rows = AuditEvent.all() if last_seq is None else AuditEvent.filter(seq__gt=last_seq)
        batch = await rows.order_by("seq").limit(VERIFY_BATCH)
        if not batch:
            head_seq = last_seq or 0
            if anchor is not None and (anchor.seq > head_seq or anchor.seq < FIRST_SEQ):
                return ChainReport(False, checked, anchor.seq, head_seq, prev_hash)
            return ChainReport(True, checked, None, head_seq, prev_hash)
        for event in batch:
            if event.seq != expected_seq:
                return ChainReport(False, checked, min(event.seq, expected_seq))
            if event.prev_hash != prev_hash or chain_hash(prev_hash, event) != event.hash:
                return ChainReport(False, checked, event.seq)
            if anchor is not None and event.seq == anchor.seq and event.hash != anchor.hash:
                return ChainReport(False, checked, event.seq)
            prev_hash, expected_seq, checked = event.hash, event.seq + 1, checked + 1
            last_seq = event.seq


async def get_event(context: RequestContext, seq: int) -> AuditEvent | None:
    """One event, if it belongs to a unit whose audit trail the viewer may read."""
    query = scope(
        AuditEvent.in_chain().filter(seq=seq),
        context,
        AUDIT_READ,
        path_field="org_path",
        level_field=None,
    )
    found: AuditEvent | None = await query.first()
    return found
