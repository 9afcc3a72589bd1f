"""The audit trail as inspectors read it: hash-chained events, and the chain's check."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.audit import AuditEvent as AuditEventModel
from resolvers.audit import GENESIS_HASH, event_leaf_hash
from resolvers.audit_queries import AuditQuery, AuditReport, ChainReport
from resolvers.audit_view import OUTSIDE_SCOPE, Shown, shown
from resolvers.users import user_in_scope
from schema.audit_changes import FieldChange, changes
from schema.context import ctx
from schema.enums import AuditAction, AuditEntity
from schema.node import Node, NodeType, from_global_id, pk_of, to_global_id
from schema.people import User

# The graph's type for each kind of audited entity, so entity ids are global IDs.
ENTITY_TYPES: dict[str, NodeType] = {
    "task": "Task",
    "record": "Record",
    "user": "User",
    "org_unit": "OrgUnit",
    "evidence": "Evidence",
}
GRAPH_TO_ENTITY: dict[str, str] = {graph: entity for entity, graph in ENTITY_TYPES.items()}


REDACTED = (
    f"A unit, person, task or record you may not read is shown as `{OUTSIDE_SCOPE}`, and "
    "a list of ids keeps only those you may read; the stored event (and its hash) is unchanged."
)


@strawberry.type(
    description="One change, as it took effect: a leaf of its jurisdiction's audit log. "
    "`hash = sha256(prevHash + canonical event)` chains it to the log's previous event, and "
    "`leafHash` is its leaf in the log's Merkle tree (RFC 9162): editing, removing or "
    "reordering any event changes every signed checkpoint after it. " + REDACTED
)
class AuditEvent(Node):
    seq: int = strawberry.field(
        description="The event's number across every log: from 1, unique, increasing within a "
        "log (not gapless: each log counts its own events in `leafIndex`)."
    )
    leaf_index: int = strawberry.field(
        description="Position in its jurisdiction's log, from 0, without gaps."
    )
    leaf_hash: str = strawberry.field(
        description="SHA-256(0x00 ‖ canonical event), lower-case hex: what "
        "`auditInclusionProof` proves is in the log."
    )
    at: datetime = strawberry.field(description="When the change took effect.")
    action: str = strawberry.field(
        description="`<entity>.<verb>`, e.g. `task.verify`: the stored action, which the "
        "hashes cover. `kind` is the same as an enum value."
    )
    kind: AuditAction = strawberry.field(
        description="`action` as an enum value: `task.verify` is TASK_VERIFY."
    )
    entity_type: AuditEntity = strawberry.field(
        description="What kind of object changed (task, record, user, org_unit, …)."
    )
    entity_id: strawberry.ID = strawberry.field(
        description="The global ID of the changed object (or the raw id for other entities)."
    )
    org_path: str = strawberry.field(
        description="Path of the unit the change belongs to; "
        f"`{OUTSIDE_SCOPE}` if you may not read that unit."
    )
    before: JSON | None = strawberry.field(
        description="The object's relevant fields before the change (null for a creation), "
        "as stored: raw ids and the commands' names. `changes` says the same in the graph's "
        "terms."
    )
    after: JSON | None = strawberry.field(description="The same fields after the change.")
    changes: list[FieldChange] = strawberry.field(
        description="Each field the change set or altered, under its schema name (`orgUnit`, "
        "`assignee`, `dueAt`), objects as global IDs, in the order of the names. Redacted "
        "like `before` and `after`: a field whose shown value is the same on both sides is "
        "not listed."
    )
    request_id: str = strawberry.field(description="The request that made the change.")
    prev_hash: str = strawberry.field(
        description="The hash of the previous event in the same log (64 zeros for the first)."
    )
    hash: str = strawberry.field(description="sha256 of prevHash and this event's canonical JSON.")
    _actor_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The account that made the change, if you may read that account (the "
        "accounts `node` gives you). Null for changes made by the system, and for an account "
        "you may not read: its name is not shown either."
    )
    async def actor(self, info: Info) -> User | None:
        user = await user_in_scope(ctx(info), self._actor_id)
        return User.of(user) if user is not None else None

    @classmethod
    def of(cls, event: AuditEventModel, seen: Shown) -> AuditEvent:
        """An event as the viewer may see it (``resolvers.audit_view.shown``)."""
        graph_type = ENTITY_TYPES.get(event.entity_type)
        entity_id = (
            to_global_id(graph_type, event.entity_id)
            if graph_type and event.entity_id.isdigit()
            else strawberry.ID(event.entity_id)
        )
        return cls(
            id=to_global_id("AuditEvent", event.seq),
            seq=event.seq,
            leaf_index=event.leaf_index,
            leaf_hash=event_leaf_hash(event),
            at=event.at,
            action=event.action,
            kind=AuditAction(event.action),
            entity_type=AuditEntity(event.entity_type),
            entity_id=entity_id,
            org_path=seen.org_path,
            before=cast(JSON, seen.before),
            after=cast(JSON, seen.after),
            changes=changes(seen),
            request_id=event.request_id,
            prev_hash=event.prev_hash,
            hash=event.hash,
            _actor_id=event.actor_id,
        )

    @classmethod
    async def shown(
        cls, context: RequestContext, events: list[AuditEventModel]
    ) -> list[AuditEvent]:
        """The events as the viewer may see them."""
        return [
            cls.of(e, seen) for e, seen in zip(events, await shown(context, events), strict=True)
        ]


@strawberry.input(description="Narrows the audit trail. Every condition given must hold.")
class AuditFilter:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events of this object (a global ID)."
    )
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events made by this user."
    )
    action: str | None = strawberry.field(
        default=None, description="Events of this action, as stored, e.g. `task.verify`."
    )
    kind: AuditAction | None = strawberry.field(
        default=None,
        description="Events of this action, as an enum value (TASK_VERIFY). With `action` as "
        "well, both must name the same action.",
    )
    since: datetime | None = strawberry.field(default=None, description="At or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Before this time.")
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Events of this unit: its tasks' assignments, transitions, urges and "
        "escalations, its records and grants.",
    )
    include_descendants: bool = strawberry.field(
        default=True,
        description="With `orgUnitId`: also the events of every unit below it (the default, "
        "as on every filter); false for the unit's own events only.",
    )


def audit_query(spec: AuditFilter | None) -> AuditQuery:
    if spec is None:
        return AuditQuery()
    entity_type = entity_id = None
    if spec.entity_id is not None:
        graph_type, pk = from_global_id(spec.entity_id)
        entity_type, entity_id = GRAPH_TO_ENTITY.get(graph_type, "-"), str(pk)
    actor_id = None
    if spec.actor_id is not None:
        actor_id = pk_of(spec.actor_id, "User") or -1
    org_unit_id = None
    if spec.org_unit_id is not None:
        org_unit_id = pk_of(spec.org_unit_id, "OrgUnit") or -1
    action = spec.action
    if spec.kind is not None:
        if action is not None and action != spec.kind.value:
            raise DomainError(
                ErrorCode.VALIDATION, "`action` and `kind` name different actions.", "kind"
            )
        action = spec.kind.value
    return AuditQuery(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        action=action,
        since=spec.since,
        until=spec.until,
        org_unit_id=org_unit_id,
        include_descendants=spec.include_descendants,
    )


@strawberry.type(description="What recomputing one jurisdiction's audit log found.")
class AuditLogReport:
    origin: str = strawberry.field(
        description="The log's name in its checkpoints: `riverchief/<county code>`."
    )
    ok: bool = strawberry.field(
        description="True when the stored events are the leaves 0..n-1, each links to the one "
        "before it, every stored tree node recomputes, and the log still has the root of every "
        "checkpoint issued for it (and of the one handed in)."
    )
    checked: int = strawberry.field(
        description="Events that checked out, in leaf order, before the first break."
    )
    tree_size: int = strawberry.field(description="Events recomputed.")
    root_hash: str = strawberry.field(
        description="The recomputed tree head (hex), when the log is whole."
    )
    checkpoints_checked: int = strawberry.field(
        description="Checkpoints (stored, and the one handed in) whose signature verified and "
        "whose root the log still has at their size."
    )
    first_broken_seq: int | None = strawberry.field(
        description="The seq of the first stored event that does not check out in its place "
        "(null when the log is whole, or when what broke is past its last stored event)."
    )
    first_broken_leaf_index: int | None = strawberry.field(
        description="The leaf index where the log stops checking out."
    )
    problem: str | None = strawberry.field(description="What broke, in words.")
    head_seq: int = strawberry.field(description="The seq of the log's last event.")
    head_hash: str = strawberry.field(description="The hash of the log's last event.")

    @classmethod
    def of(cls, report: ChainReport) -> AuditLogReport:
        return cls(
            origin=report.origin,
            ok=report.ok,
            checked=report.checked,
            tree_size=report.tree_size,
            root_hash=report.root_hash,
            checkpoints_checked=report.checkpoints,
            first_broken_seq=report.first_broken_seq,
            first_broken_leaf_index=report.first_broken_leaf_index,
            problem=report.problem,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
        )


@strawberry.type(description="The result of recomputing the audit logs checked.")
class AuditChainReport:
    ok: bool = strawberry.field(
        description="True when every log checked is whole (see `logs`), and the anchor, if "
        "one was given, is in one of them."
    )
    checked: int = strawberry.field(
        description="Stored events that checked out before the first break, over the logs "
        "checked: every stored event of them when they are whole."
    )
    first_broken_seq: int | None = strawberry.field(
        description="The seq of the first event that does not check out in its place, in the "
        "first broken log; the anchor's seq when the anchor is in none of them. Null when "
        "they are whole."
    )
    head_seq: int = strawberry.field(
        description="The last event's seq (of the log written last): write it down with "
        "`headHash` as an anchor."
    )
    head_hash: str = strawberry.field(
        description="The last event's hash. Passed back later as an anchor, it proves that "
        "no event up to it was removed from the end."
    )
    logs: list[AuditLogReport] = strawberry.field(
        description="One report per log checked: the jurisdiction asked for, or every one "
        "whose log you may read."
    )

    @classmethod
    def of(cls, report: AuditReport) -> AuditChainReport:
        head = report.head
        return cls(
            ok=report.ok,
            checked=report.checked,
            first_broken_seq=report.first_broken_seq,
            head_seq=head.head_seq if head else 0,
            head_hash=head.head_hash if head else GENESIS_HASH,
            logs=[AuditLogReport.of(log) for log in report.logs],
        )
