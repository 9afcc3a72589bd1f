"""The audit logs' signed heads and proofs, as the graph gives them (hashes in lower-case hex;
the note itself is the C2SP signed note, base64 inside as the spec says)."""

from __future__ import annotations

import strawberry

from models.audit import AuditCheckpoint as AuditCheckpointModel
from resolvers.audit_log import InclusionProof as InclusionProofResult


@strawberry.type(
    description="A signed head of one jurisdiction's audit log. Keep `note`: any later state "
    "of the log must still have `rootHash` at `treeSize` (`auditConsistencyProof` proves it, "
    "`verifyAuditChain(checkpoint:)` and `riverchief verify-proof` check it)."
)
class AuditCheckpoint:
    origin: str = strawberry.field(description="`riverchief/<county code>`: which log.")
    tree_size: int = strawberry.field(description="How many events the log held.")
    root_hash: str = strawberry.field(description="The Merkle tree head (RFC 9162), hex.")
    key_name: str = strawberry.field(description="The name of the key that signed it.")
    note: str = strawberry.field(
        description="The checkpoint as a C2SP signed note, signed with Ed25519: the origin, "
        "tree size and base64 root hash, one a line, an empty line, and the signature line."
    )

    @classmethod
    def of(cls, row: AuditCheckpointModel) -> AuditCheckpoint:
        origin = row.note.split("\n", 1)[0]
        return cls(
            origin=origin,
            tree_size=row.tree_size,
            root_hash=row.root_hash,
            key_name=row.key_name,
            note=row.note,
        )


@strawberry.type(
    description="That an event is the leaf `leafIndex` of its log at `treeSize` (RFC 9162 "
    "§2.1.3): the audit path from `leafHash` to the root of that size."
)
class InclusionProof:
    leaf_index: int = strawberry.field(description="The event's position in its log.")
    tree_size: int = strawberry.field(description="The size of the tree the proof is for.")
    leaf_hash: str = strawberry.field(
        description="SHA-256(0x00 ‖ canonical event), recomputed from the event as stored."
    )
    hashes: list[str] = strawberry.field(
        description="The audit path, leaf to root, hex: at most log2(treeSize) hashes."
    )

    @classmethod
    def of(cls, proof: InclusionProofResult) -> InclusionProof:
        return cls(
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            leaf_hash=proof.leaf_hash,
            hashes=proof.hashes,
        )
