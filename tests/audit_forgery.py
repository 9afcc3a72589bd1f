"""What a forger with write access to the database does to a log: change its events, then
renumber and rehash every one of them and rebuild the stored tree, so that the log links up
again by itself. Only a root signed before the change can tell."""

from __future__ import annotations

from collections.abc import Callable

from core.merkle import CompactRange
from models.audit import AuditEvent, AuditNode
from resolvers.audit import GENESIS_HASH, chain_hash, event_leaf_hash


async def rebuild(jurisdiction: int, change: Callable[[list[AuditEvent]], None]) -> None:
    events = list(await AuditEvent.filter(jurisdiction=jurisdiction).order_by("leaf_index"))
    first_seq = events[0].seq
    change(events)
    await AuditEvent.filter(jurisdiction=jurisdiction).delete()
    await AuditNode.filter(jurisdiction=jurisdiction).delete()
    prev_hash, tree = GENESIS_HASH, CompactRange()
    for index, event in enumerate(events):
        event.seq, event.prev_hash = first_seq + index, prev_hash
        event.jurisdiction, event.leaf_index = jurisdiction, index
        event.hash = prev_hash = chain_hash(prev_hash, event)
        await event.save(force_create=True)
        for (level, position), value in tree.append(bytes.fromhex(event_leaf_hash(event))):
            await AuditNode.create(
                jurisdiction=jurisdiction, level=level, position=position, hash=value.hex()
            )
