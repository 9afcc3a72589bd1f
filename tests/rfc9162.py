"""An RFC 9162 (§2.1) and C2SP signed-note verifier written from the specifications, for the
tests: it imports nothing of the product, so that a proof it accepts is one an outsider's own
tool accepts."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (§2.1.1)."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def rfc_verify_inclusion(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
) -> bool:
    """§2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """§2.1.4.2, step by step (for 0 < first < second)."""
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = sha256(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def open_note(note: str, public_key: bytes) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint note, after checking its Ed25519 signature line
    (key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]); AssertionError if it does not verify."""
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    (line,) = signatures.strip("\n").split("\n")
    dash, name, encoded = line.split(" ")
    raw = base64.b64decode(encoded)
    assert dash == "\u2014"
    assert raw[:4] == sha256(name.encode() + b"\n\x01" + public_key)[:4]
    Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], text.encode())
    origin, size, root, empty = text.split("\n")
    assert empty == ""
    return origin, int(size), base64.b64decode(root)


def rfc_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1, from the leaves themselves."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return [*rfc_path(index, leaves[:k]), mth(leaves[k:])]
    return [*rfc_path(index - k, leaves[k:]), mth(leaves[:k])]


def rfc_proof(old: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of §2.1.4.1, from the leaves themselves (0 < m < n)."""

    def subproof(m: int, part: list[bytes], whole: bool) -> list[bytes]:
        if m == len(part):
            return [] if whole else [mth(part)]
        k = 1
        while k * 2 < len(part):
            k *= 2
        if m <= k:
            return [*subproof(m, part[:k], whole), mth(part[k:])]
        return [*subproof(m - k, part[k:], False), mth(part[:k])]

    return subproof(old, leaves, True)
