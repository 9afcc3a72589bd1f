"""The tree arithmetic of ``core.merkle`` against RFC 9162 as written (``tests/rfc9162.py``): the
nodes a log stores, its heads and its proofs, for many sizes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.merkle import (
    CompactRange,
    Node,
    consistency_plan,
    cover,
    fold,
    inclusion_plan,
    leaf_hash,
    left_siblings,
    nodes_of,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)
from tests.rfc9162 import (
    mth,
    rfc_path,
    rfc_proof,
    rfc_verify_consistency,
    rfc_verify_inclusion,
    sha256,
)


def stored_tree(size: int) -> tuple[list[bytes], dict[Node, bytes]]:
    """``size`` leaves and every node a log of them stores, appended one by one."""
    leaves = [sha256(b"\x00" + f"event {i}".encode()) for i in range(size)]
    tree, nodes = CompactRange(), {}
    for i, leaf in enumerate(leaves):
        assert set(left_siblings(i)) <= nodes.keys()  # an append reads only stored nodes
        nodes.update(tree.append(leaf))
    return leaves, nodes


def hashes(nodes: dict[Node, bytes], ranges: list[tuple[int, int]]) -> list[bytes]:
    return [fold([nodes[node] for node in cover(start, size)]) for start, size in ranges]


SIZES = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(size=SIZES, data=st.data())
def test_heads_and_inclusion_proofs_are_the_rfcs(size: int, data: st.DataObject) -> None:
    leaves, nodes = stored_tree(size)
    at = data.draw(st.integers(min_value=1, max_value=size), label="tree size")
    index = data.draw(st.integers(min_value=0, max_value=at - 1), label="leaf index")

    root = hashes(nodes, [(0, at)])[0]
    proof = hashes(nodes, inclusion_plan(index, at))

    assert root == mth(leaves[:at])
    assert proof == rfc_path(index, leaves[:at])
    assert rfc_verify_inclusion(index, at, leaves[index], proof, root)
    assert verify_inclusion(index, at, leaves[index], proof, root)
    assert root_from_inclusion(index, at, leaves[index], proof) == root
    assert len(nodes_of(inclusion_plan(index, at))) <= 2 * at.bit_length()
    assert len(nodes) == 2 * size - size.bit_count()


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=2, max_value=300), data=st.data())
def test_consistency_proofs_are_the_rfcs(size: int, data: st.DataObject) -> None:
    leaves, nodes = stored_tree(size)
    new = data.draw(st.integers(min_value=2, max_value=size), label="new size")
    old = data.draw(st.integers(min_value=1, max_value=new - 1), label="old size")

    proof = hashes(nodes, consistency_plan(old, new))
    old_root, new_root = mth(leaves[:old]), mth(leaves[:new])

    assert proof == rfc_proof(old, leaves[:new])
    assert rfc_verify_consistency(old, new, old_root, new_root, proof)
    assert verify_consistency(old, new, old_root, new_root, proof)
    assert not verify_consistency(old, new, new_root, new_root, proof)
    assert len(nodes_of(consistency_plan(old, new))) <= 3 * new.bit_length()


def test_the_leaf_hash_is_domain_separated() -> None:
    assert leaf_hash(b"x") == sha256(b"\x00x")
    assert fold([]) == sha256(b"")
