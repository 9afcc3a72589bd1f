"""The audit logs as trees: which log a viewer may read, tree heads, proofs and checkpoints.

Every read here goes through the jurisdiction's top-level unit: a log's checkpoints, proofs
and verification are for those holding ``audit:read`` there (a county's inspector, its
administrator), and anyone else is told the log does not exist, so nothing reveals another
jurisdiction's size. The installation-wide log (events of no unit) is not in the graph at
all: operators read it with ``riverchief verify-audit`` and ``export-audit``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from core.checkpoint import Checkpoint, LogKeys, NoteError, origin_of
from core.context import RequestContext
from core.errors import DomainError, ErrorCode, bad_input
from core.merkle import Node, Range, consistency_plan, cover, fold, inclusion_plan, nodes_of
from models.audit import INSTALLATION, AuditCheckpoint, AuditEvent, AuditNode
from models.org import OrgUnit
from models.paths import path_ids
from policies.guard import Site, allowed, require
from policies.rights import AUDIT_READ
from resolvers.audit import event_leaf_hash
from resolvers.org import get_unit

NO_LOG = "No such audit log."


@dataclass(frozen=True)
class Log:
    """One jurisdiction's log: its top-level unit, or none for the installation-wide log."""

    jurisdiction: int
    unit: OrgUnit | None

    @property
    def origin(self) -> str:
        if self.unit is not None:
            return origin_of(self.unit.code)
        return origin_of(None if self.jurisdiction == INSTALLATION else f"#{self.jurisdiction}")


async def log_named(jurisdiction: int) -> Log:
    """The log of a jurisdiction id, for operators (no viewer). Events naming a jurisdiction
    that is no top-level unit (put there around the service) make a log ``riverchief/#<id>``."""
    if jurisdiction == INSTALLATION:
        return Log(INSTALLATION, None)
    return Log(jurisdiction, await OrgUnit.get_or_none(id=jurisdiction))


async def log_of_unit(context: RequestContext, unit_id: int | None) -> Log:
    """The log of the jurisdiction ``unit_id`` belongs to, if the viewer may read it whole;
    ``NOT_FOUND`` otherwise (an unknown unit, one out of sight, or a jurisdiction where the
    viewer holds ``audit:read`` only below the top)."""
    unit = await get_unit(context, unit_id)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, NO_LOG, "orgUnitId")
    top = unit if unit.parent_id is None else await OrgUnit.get(id=path_ids(unit.path)[0])
    require(context, AUDIT_READ, Site(top), field="orgUnitId")
    return Log(top.id, top)


async def readable_log(context: RequestContext, jurisdiction: int) -> Log | None:
    """The log of ``jurisdiction`` if the viewer may read it whole, else None."""
    if jurisdiction == INSTALLATION:
        return None
    top = await OrgUnit.get_or_none(id=jurisdiction)
    if top is None or not allowed(context, AUDIT_READ, top):
        return None
    return Log(top.id, top)


async def readable_logs(context: RequestContext) -> list[Log]:
    """Every jurisdiction whose log the viewer may read, by id."""
    tops = await OrgUnit.filter(parent_id=None).order_by("id")
    return [Log(top.id, top) for top in tops if allowed(context, AUDIT_READ, top)]


async def log_size(jurisdiction: int) -> int:
    head = (
        await AuditEvent.filter(jurisdiction=jurisdiction)
        .order_by("-leaf_index")
        .first()
        .values("leaf_index")
    )
    return int(head["leaf_index"]) + 1 if head else 0


def damaged(jurisdiction: int, missing: Iterable[Node]) -> DomainError:
    return DomainError(
        ErrorCode.CONFLICT,
        f"The stored tree of this audit log lacks nodes {sorted(missing)[:4]}: it was changed "
        "outside the service. verifyAuditChain says where.",
    )


async def stored_nodes(jurisdiction: int, nodes: set[Node]) -> dict[Node, bytes]:
    """The hashes of ``nodes``, in one query; ``CONFLICT`` if one is missing."""
    if not nodes:
        return {}
    condition = Q(*(Q(level=lv, position=pos) for lv, pos in nodes), join_type="OR")
    rows = await AuditNode.filter(condition, jurisdiction=jurisdiction).values_list(
        "level", "position", "hash"
    )
    found = {(int(lv), int(pos)): bytes.fromhex(str(h)) for lv, pos, h in rows}
    if len(found) != len(nodes):
        raise damaged(jurisdiction, nodes - found.keys())
    return found


async def range_hashes(jurisdiction: int, ranges: list[Range]) -> list[bytes]:
    """The hash of each range, folded from the stored nodes of its cover (one query)."""
    found = await stored_nodes(jurisdiction, nodes_of(ranges))
    return [fold([found[node] for node in cover(start, size)]) for start, size in ranges]


async def root_at(jurisdiction: int, size: int) -> bytes:
    (root,) = await range_hashes(jurisdiction, [(0, size)])
    return root


async def inclusion_proof(jurisdiction: int, index: int, size: int) -> list[bytes]:
    return await range_hashes(jurisdiction, inclusion_plan(index, size))


async def consistency_proof(jurisdiction: int, old: int, new: int) -> list[bytes]:
    return await range_hashes(jurisdiction, consistency_plan(old, new))


# -- what the graph asks for -------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]


async def event_inclusion(
    context: RequestContext, event: AuditEvent | None, tree_size: int | None
) -> InclusionProof | None:
    """The proof that ``event`` (already read through the viewer's scope) is in its log at
    ``tree_size`` (default: the log's current size); None if the viewer may not read its log."""
    if event is None or await readable_log(context, event.jurisdiction) is None:
        return None
    size = await log_size(event.jurisdiction)
    wanted = size if tree_size is None else tree_size
    if not event.leaf_index < wanted <= size:
        raise bad_input(
            f"treeSize must be above the event's leaf index ({event.leaf_index}) and at most "
            "the log's size (auditCheckpoint gives it)."
        )
    hashes = await inclusion_proof(event.jurisdiction, event.leaf_index, wanted)
    return InclusionProof(
        event.leaf_index, wanted, event_leaf_hash(event), [h.hex() for h in hashes]
    )


async def log_consistency(
    context: RequestContext, unit_id: int | None, old: int, new: int
) -> list[str]:
    log = await log_of_unit(context, unit_id)
    size = await log_size(log.jurisdiction)
    if not 1 <= old <= new <= size:
        raise bad_input("Need 1 ≤ from ≤ to ≤ the log's size (auditCheckpoint gives it).")
    return [h.hex() for h in await consistency_proof(log.jurisdiction, old, new)]


def keys_of(context: RequestContext) -> LogKeys:
    if context.log_keys is None:
        raise RuntimeError("this request context has no audit log keys")
    return context.log_keys


def public_key_of(context: RequestContext) -> str:
    return base64.b64encode(keys_of(context).signer.public_key).decode()


async def issue_checkpoint(keys: LogKeys, log: Log, size: int | None = None) -> AuditCheckpoint:
    """The log's checkpoint at ``size`` (default: its current size), signed with the current
    key: the one already issued at that size, or a new one. Never one that contradicts the
    last checkpoint issued before it: if the stored tree no longer has that checkpoint's root
    at its size, the log was changed under it and nothing new is signed (``CONFLICT``)."""
    current = await log_size(log.jurisdiction)
    size = current if size is None else size
    if not 0 <= size <= current:
        raise bad_input("A checkpoint can only be issued up to the log's size.")
    key_name = keys.signer.key_name
    found = await AuditCheckpoint.get_or_none(
        jurisdiction=log.jurisdiction, tree_size=size, key_name=key_name
    )
    if found is not None:
        return found
    last = (
        await AuditCheckpoint.filter(jurisdiction=log.jurisdiction, tree_size__lte=size)
        .order_by("-tree_size", "-id")
        .first()
    )
    if last is not None and (await root_at(log.jurisdiction, last.tree_size)).hex() != (
        last.root_hash
    ):
        raise DomainError(
            ErrorCode.CONFLICT,
            f"This audit log no longer has the root of its checkpoint at size {last.tree_size}: "
            "it was changed outside the service, and no new checkpoint is signed.",
        )
    root = await root_at(log.jurisdiction, size)
    note = keys.signer.sign(Checkpoint(log.origin, size, root))
    try:
        return await AuditCheckpoint.create(
            jurisdiction=log.jurisdiction,
            tree_size=size,
            root_hash=root.hex(),
            key_name=key_name,
            note=note,
            issued_at=datetime.now(UTC),
        )
    except IntegrityError:  # issued by another request at the same moment: the same note
        return await AuditCheckpoint.get(
            jurisdiction=log.jurisdiction, tree_size=size, key_name=key_name
        )


async def checkpoint_for(context: RequestContext, unit_id: int | None) -> AuditCheckpoint | None:
    try:
        log = await log_of_unit(context, unit_id)
    except DomainError as refused:
        if refused.code is ErrorCode.NOT_FOUND:
            return None
        raise
    return await issue_checkpoint(keys_of(context), log)


def read_note(keys: LogKeys, note: str, log: Log) -> Checkpoint:
    """A checkpoint note handed in (written down earlier by an inspector): signed by a key
    of this installation, for this log. ``VALIDATION`` otherwise."""
    try:
        checkpoint, _ = keys.open(note)
    except NoteError as error:
        raise bad_input(f"The checkpoint does not verify: {error}.") from None
    if checkpoint.origin != log.origin:
        raise bad_input(f"The checkpoint is for {checkpoint.origin}, not {log.origin}.")
    return checkpoint


async def stored_jurisdictions() -> list[int]:
    """Every jurisdiction the audit tables name, for operators: the logs to verify."""
    found: set[int] = set()
    for model in (AuditEvent, AuditNode, AuditCheckpoint):
        rows = await model.all().distinct().values_list("jurisdiction", flat=True)
        found.update(int(str(j)) for j in rows)
    return sorted(found)


async def log_by_code(code: str) -> Log | None:
    """An operator's name for a log: a top-level unit's code, or ``installation``."""
    if code == "installation":
        return Log(INSTALLATION, None)
    unit = await OrgUnit.get_or_none(code=code, parent_id=None)
    return Log(unit.id, unit) if unit is not None else None
