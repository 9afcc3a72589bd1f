"""Merkle tree arithmetic of RFC 9162 §2.1, over hashes: no storage, no database.

A log of ``n`` leaves is stored as every *complete subtree* it holds: the node
``(level, position)`` is the hash of the leaves ``[position·2^level, (position+1)·2^level)``,
written once, when the last of those leaves is appended, and never changed afterwards (a
log only grows). Any hash the RFC's recursions ask for — the tree head of a size, a step of
an inclusion or consistency proof — is the hash of a range that splits into at most
``log2(n)`` such stored nodes (``cover``), so a proof reads O(log n) stored nodes.

The proof *plans* below say which ranges a proof is made of, in the RFC's order; the caller
fetches the nodes of their covers and folds them (``fold``). ``verify_inclusion`` and
``verify_consistency`` are the RFC's verification algorithms (§2.1.3.2, §2.1.4.2), for the
offline checks of ``riverchief verify-proof``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH()

Node = tuple[int, int]  # (level, position): the leaves [position·2^level, (position+1)·2^level)
Range = tuple[int, int]  # (start, size): the leaves [start, start + size)


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1): the RFC's ``k``."""
    return 1 << ((size - 1).bit_length() - 1)


def cover(start: int, size: int) -> list[Node]:
    """The stored nodes whose right fold is the hash of the leaves ``[start, start + size)``:
    the binary decomposition of ``size``, largest first. ``start`` must be aligned to the
    largest of them, as every range of the RFC's recursions is."""
    nodes: list[Node] = []
    while size > 0:
        level = size.bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"[{start}, {start + size}) is not made of complete subtrees")
        nodes.append((level, start >> level))
        start += 1 << level
        size -= 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from the hashes of its cover: ``H(h0, H(h1, … H(hk-1, hk)))``."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def completed_by(index: int) -> list[Node]:
    """The nodes that leaf ``index`` completes: itself, then each subtree it closes."""
    size = index + 1
    nodes = [(0, index)]
    level = 1
    while size % (1 << level) == 0:
        nodes.append((level, (size >> level) - 1))
        level += 1
    return nodes


def left_siblings(index: int) -> list[Node]:
    """What appending leaf ``index`` reads: the left child of every node it completes
    above level 0 (the right child is the node completed just before, one level down)."""
    return [(level - 1, position * 2) for level, position in completed_by(index)[1:]]


def inclusion_plan(index: int, size: int, start: int = 0) -> list[Range]:
    """PATH(index, D[start:start+size]) of RFC 9162 §2.1.3.1, as ranges."""
    if size <= 1:
        return []
    k = split(size)
    if index < k:
        return [*inclusion_plan(index, k, start), (start + k, size - k)]
    return [*inclusion_plan(index - k, size - k, start + k), (start, k)]


def consistency_plan(old: int, new: int) -> list[Range]:
    """PROOF(old, D[new]) of RFC 9162 §2.1.4.1, as ranges (empty when ``old == new``)."""

    def subproof(m: int, size: int, start: int, whole: bool) -> list[Range]:
        if m == size:
            return [] if whole else [(start, m)]
        k = split(size)
        if m <= k:
            return [*subproof(m, k, start, whole), (start + k, size - k)]
        return [*subproof(m - k, size - k, start + k, False), (start, k)]

    return subproof(old, new, 0, True) if 0 < old < new else []


def nodes_of(ranges: Iterable[Range]) -> set[Node]:
    return {node for start, size in ranges for node in cover(start, size)}


class CompactRange:
    """The hashes of ``cover(0, size)`` kept as leaves arrive: the tree head of every size on
    the way, from the leaves alone, in O(log n) memory."""

    def __init__(self, frontier: Sequence[bytes] = (), size: int = 0) -> None:
        if len(frontier) != size.bit_count():
            raise ValueError("a frontier holds one hash per set bit of its size")
        self.size = size
        self.frontier = list(frontier)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf hash; return the nodes it completes (``completed_by``) with their hashes."""
        completed = [((0, self.size), leaf)]
        value, level = leaf, 0
        while (self.size >> level) & 1:
            value = node_hash(self.frontier.pop(), value)
            level += 1
            completed.append(((level, ((self.size + 1) >> level) - 1), value))
        self.frontier.append(value)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self.frontier)


# -- verification, RFC 9162 §2.1.3.2 and §2.1.4.2 ------------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to; ``ValueError`` if the proof has the wrong shape."""
    if not 0 <= index < size:
        raise ValueError("the leaf index is not below the tree size")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, proof) == root
    except ValueError:
        return False


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    if old == new:
        return not proof and old_root == new_root
    if not 0 < old < new or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's implicit first step
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
