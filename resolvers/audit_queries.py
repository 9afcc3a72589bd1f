"""Reading the audit trail, and proving it whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from tortoise.expressions import Q
from tortoise.fields import CharField

from core.checkpoint import Checkpoint, LogKeys, NoteError
from core.context import RequestContext
from core.errors import bad_input
from core.merkle import EMPTY_ROOT, CompactRange
from models.audit import FIRST_SEQ, INSTALLATION, AuditCheckpoint, AuditEvent, AuditNode
from models.paths import upper_bound
from policies.rights import AUDIT_READ
from policies.scope import scope, scope_for
from resolvers.audit import (
    GENESIS_HASH,
    body_leaf_hash,
    event_body,
    jurisdiction_of,
    link_hash,
)
from resolvers.audit_log import (
    Log,
    keys_of,
    log_named,
    log_of_unit,
    read_note,
    readable_logs,
    stored_jurisdictions,
)
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
class Anchor:
    """A head an inspector wrote down earlier: the log must still pass through it."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """What recomputing one log found. ``checked`` counts the events that checked out, in leaf
    order, before the first break; a whole log checks every stored event."""

    ok: bool
    checked: int
    first_broken_seq: int | None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    jurisdiction: int = INSTALLATION
    origin: str = ""
    first_broken_leaf_index: int | None = None
    tree_size: int = 0
    root_hash: str = EMPTY_ROOT.hex()
    checkpoints: int = 0
    problem: str | None = None
    anchor_seen: bool = False


class Broken(Exception):
    def __init__(self, leaf_index: int, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.leaf_index, self.seq, self.problem = leaf_index, seq, problem


@dataclass
class Expected:
    """A root the log must have at a size: a stored checkpoint, or one handed in."""

    size: int
    root: bytes
    what: str


async def expected_roots(
    log: Log, keys: LogKeys | None, handed_in: Checkpoint | None
) -> tuple[list[Expected], Broken | None]:
    """The stored checkpoints of the log, each re-verified under the installation's keys,
    and the one handed in. A stored checkpoint whose signature fails is a break by itself."""
    expected: list[Expected] = []
    stored = await AuditCheckpoint.filter(jurisdiction=log.jurisdiction).order_by("tree_size", "id")
    for row in stored:
        what = f"the checkpoint at size {row.tree_size} issued {row.issued_at:%Y-%m-%d %H:%M}"
        if keys is not None:
            try:
                checkpoint, _ = keys.open(row.note)
            except NoteError as error:
                return expected, Broken(0, None, f"{what} does not verify: {error}")
            if (checkpoint.tree_size, checkpoint.root_hash.hex()) != (row.tree_size, row.root_hash):
                return expected, Broken(0, None, f"{what} is stored beside a different note")
        expected.append(Expected(row.tree_size, bytes.fromhex(row.root_hash), what))
    if handed_in is not None:
        what = f"the checkpoint handed in, at size {handed_in.tree_size}"
        expected.append(Expected(handed_in.tree_size, handed_in.root_hash, what))
    return expected, None


def completing(start: int, end: int) -> Q:
    """The stored nodes completed by the leaves ``[start, end)``: node (l, p) is completed by
    leaf (p + 1)·2^l − 1."""
    parts = []
    for level in range(end.bit_length()):
        low, high = -(-(start + 1) >> level) - 1, (end >> level) - 1
        if low <= high:
            parts.append(Q(level=level, position__gte=low, position__lte=high))
    return Q(*parts, join_type="OR")


async def verify_log(
    log: Log,
    keys: LogKeys | None,
    *,
    handed_in: Checkpoint | None = None,
    anchor: Anchor | None = None,
) -> ChainReport:
    """Recompute one log from its stored events, in leaf order: each must be the next leaf
    (leaf indices 0..n-1, seqs from 1 and increasing), belong to this jurisdiction, link to
    the event before it, and every stored node must be the hash its leaves give. The log must
    then still have the root of every checkpoint issued for it (each re-verified under the
    installation's keys) and of the one handed in, at their sizes: a log rebuilt with every
    later hash and node recomputed links up by itself, but not to a root signed before.
    """
    j = log.jurisdiction
    expected, refused = await expected_roots(log, keys, handed_in)
    roots: dict[int, list[Expected]] = {}
    for item in expected:
        roots.setdefault(item.size, []).append(item)
    tree, prev_hash, prev_seq = CompactRange(), GENESIS_HASH, 0
    anchor_seen, agreed = False, 0
    try:
        if refused is not None:
            raise refused
        if 0 in roots:
            agreed += _check_roots(roots.pop(0), tree, None)
        while True:
            batch = (
                await AuditEvent.filter(jurisdiction=j, leaf_index__gte=tree.size)
                .order_by("leaf_index")
                .limit(VERIFY_BATCH)
            )
            if not batch:
                break
            end = max(tree.size, batch[-1].leaf_index) + 1
            stored = {
                (int(lv), int(pos)): str(h)
                for lv, pos, h in await AuditNode.filter(
                    completing(tree.size, end), jurisdiction=j
                ).values_list("level", "position", "hash")
            }
            for event in batch:
                where = f"leaf {tree.size} (seq {event.seq})"
                if event.leaf_index != tree.size:
                    raise Broken(tree.size, event.seq, f"leaf {tree.size} is missing")
                if event.seq < FIRST_SEQ or event.seq <= prev_seq:
                    raise Broken(tree.size, event.seq, f"{where}: out of sequence")
                if jurisdiction_of(event.org_path) != j:
                    raise Broken(tree.size, event.seq, f"{where}: belongs to another log")
                body = event_body(event)
                if event.prev_hash != prev_hash or link_hash(prev_hash, body) != event.hash:
                    raise Broken(tree.size, event.seq, f"{where}: its hash does not recompute")
                for node, value in tree.append(body_leaf_hash(body)):
                    if stored.get(node) != value.hex():
                        raise Broken(
                            tree.size - 1, event.seq, f"{where}: stored node {node} differs"
                        )
                if anchor is not None and event.seq == anchor.seq:
                    if event.hash != anchor.hash:
                        raise Broken(tree.size - 1, event.seq, f"{where}: not the anchor's hash")
                    anchor_seen = True
                if tree.size in roots:
                    agreed += _check_roots(roots.pop(tree.size), tree, event.seq)
                prev_hash, prev_seq = event.hash, event.seq
        if roots:
            size = min(roots)
            raise Broken(tree.size, None, f"{roots[size][0].what} covers events no longer stored")
        if await AuditEvent.filter(jurisdiction=j).count() != tree.size:
            raise Broken(tree.size, None, "events are stored outside the log's leaf order")
        nodes = await AuditNode.filter(jurisdiction=j).count()
        if nodes != 2 * tree.size - tree.size.bit_count():
            raise Broken(tree.size, None, "nodes are stored beyond the log's events")
    except Broken as broken:
        return ChainReport(
            False,
            broken.leaf_index,
            broken.seq,
            jurisdiction=j,
            origin=log.origin,
            first_broken_leaf_index=broken.leaf_index,
            tree_size=tree.size,
            checkpoints=agreed,
            problem=broken.problem,
            anchor_seen=anchor_seen,
        )
    return ChainReport(
        True,
        tree.size,
        None,
        prev_seq,
        prev_hash,
        jurisdiction=j,
        origin=log.origin,
        tree_size=tree.size,
        root_hash=tree.root().hex(),
        checkpoints=len(expected),
        anchor_seen=anchor_seen,
    )


def _check_roots(wanted: list[Expected], tree: CompactRange, seq: int | None) -> int:
    """How many of ``wanted`` the log agrees with: all of them, or ``Broken``."""
    for item in wanted:
        if tree.root() != item.root:
            raise Broken(
                tree.size - 1,
                seq,
                f"the first {tree.size} events no longer hash to the root of {item.what}",
            )
    return len(wanted)


@dataclass(frozen=True)
class AuditReport:
    """The logs a viewer checked, and what they say together."""

    logs: list[ChainReport]
    anchor: Anchor | None = None

    @property
    def anchor_missing(self) -> bool:
        return self.anchor is not None and not any(log.anchor_seen for log in self.logs)

    @property
    def ok(self) -> bool:
        return all(log.ok for log in self.logs) and not self.anchor_missing

    @property
    def checked(self) -> int:
        return sum(log.checked for log in self.logs)

    @property
    def first_broken_seq(self) -> int | None:
        for log in self.logs:
            if not log.ok:
                return log.first_broken_seq
        return self.anchor.seq if self.anchor is not None and self.anchor_missing else None

    @property
    def head(self) -> ChainReport | None:
        return max(self.logs, key=lambda log: log.head_seq, default=None)


async def verify_logs(
    context: RequestContext,
    unit_id: int | None,
    *,
    note: str | None = None,
    anchor: Anchor | None = None,
) -> AuditReport:
    """Verify the log of ``unit_id``'s jurisdiction, or, without it, of every jurisdiction
    whose log the viewer may read; nothing is said about any other log. ``note``: a
    checkpoint written down earlier, which the log must still agree with."""
    keys = keys_of(context)
    if unit_id is not None:
        logs = [await log_of_unit(context, unit_id)]
    else:
        logs = await readable_logs(context)
    handed_in = None
    if note is not None:
        if len(logs) != 1:
            raise bad_input("Name the log a checkpoint is for with orgUnitId.")
        handed_in = read_note(keys, note, logs[0])
    return AuditReport(
        [await verify_log(log, keys, handed_in=handed_in, anchor=anchor) for log in logs], anchor
    )


async def verify_every_log(keys: LogKeys | None, anchor: Anchor | None = None) -> AuditReport:
    """Every log the audit tables name, the installation-wide one included: for operators
    (``riverchief verify-audit``), never for a viewer."""
    logs = [await log_named(j) for j in await stored_jurisdictions()]
    return AuditReport([await verify_log(log, keys, anchor=anchor) for log in logs], anchor)


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
