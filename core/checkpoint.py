"""Checkpoints of the audit logs: C2SP ``tlog-checkpoint`` text in a C2SP ``signed-note``,
signed with Ed25519.

A checkpoint is three lines, each ending in a newline::

    riverchief/<jurisdiction code>
    <tree size, decimal>
    <root hash, standard base64>

and the note adds, after an empty line, one signature line per key::

    — <key name> <base64(key ID ‖ Ed25519 signature of the text)>

with key ID = the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key). A key's name
carries the fingerprint of its public key (``riverchief-audit-1a2b3c4d``), so a verifier
holding only the 32-byte public key knows the name to look for, and a rotated key has a new
name. The signer holds its private key to itself; ``LogKeys`` is what a request may use: sign
with the current key, and tell which public keys (current and retired) a note may verify
under.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ORIGIN_PREFIX = "riverchief"
KEY_NAME_PREFIX = "riverchief-audit"
DEV_KEY_NAME_PREFIX = "riverchief-audit-dev"
ED25519 = b"\x01"
SIGNATURE_MARK = "— "  # U+2014 EM DASH, then a space
# Development and tests only: a key everybody knows, so that no checkpoint signed with it is
# mistaken for a real one (its key name says ``dev``). Production refuses to start without
# RIVERCHIEF_AUDIT_KEY (core.settings).
DEV_SEED = hashlib.sha256(b"riverchief development audit key: not a secret").digest()


class NoteError(ValueError):
    """Text that is not a well-formed checkpoint note."""


def origin_of(code: str | None) -> str:
    """The origin line of a jurisdiction's log; ``None`` for the installation-wide log."""
    return ORIGIN_PREFIX if code is None else f"{ORIGIN_PREFIX}/{code}"


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_name_for(public_key: bytes, prefix: str = KEY_NAME_PREFIX) -> str:
    return f"{prefix}-{hashlib.sha256(public_key).hexdigest()[:8]}"


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The key as Go's ``golang.org/x/mod/sumdb/note`` reads it: ``name+hexid+base64``."""
    encoded = base64.b64encode(ED25519 + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def decode_public_key(text: str) -> bytes:
    """A base64 raw 32-byte Ed25519 public key; ``NoteError`` if it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("not base64") from None
    if len(raw) != 32:
        raise NoteError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    @property
    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


@dataclass(frozen=True)
class Signature:
    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    checkpoint: Checkpoint
    text: str
    signatures: tuple[Signature, ...]


def parse_note(note: str) -> SignedNote:
    """Split a signed note into its checkpoint and signature lines (nothing verified yet)."""
    text, separator, block = note.rpartition("\n\n")
    if not separator or not block.endswith("\n"):
        raise NoteError("a signed note is the text, an empty line, then signature lines")
    text += "\n"
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_MARK):
            raise NoteError(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(SIGNATURE_MARK) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"the signature of {name} is not base64") from None
        if len(raw) < 5 or not name:
            raise NoteError("a signature line names its key and holds its ID and signature")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return SignedNote(parse_checkpoint(text), text, tuple(signatures))


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0]:
        raise NoteError("a checkpoint is an origin, a tree size and a root hash, one a line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"the tree size {size!r} is not a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("the root hash is not base64") from None
    if len(root_hash) != 32:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def open_note(note: str, public_keys: Iterable[bytes]) -> tuple[Checkpoint, str]:
    """The checkpoint of a note signed by one of ``public_keys``, and the name of the key
    that signed it. ``NoteError`` when no signature verifies under any of them."""
    signed = parse_note(note)
    known: dict[tuple[str, bytes], bytes] = {}
    for public in public_keys:
        for prefix in (KEY_NAME_PREFIX, DEV_KEY_NAME_PREFIX):
            name = key_name_for(public, prefix)
            known[(name, key_id(name, public))] = public
    for signature in signed.signatures:
        signer = known.get((signature.key_name, signature.key_id))
        if signer is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(signer).verify(
                signature.signature, signed.text.encode()
            )
        except InvalidSignature:
            raise NoteError(f"the signature of {signature.key_name} does not verify") from None
        return signed.checkpoint, signature.key_name
    names = ", ".join(s.key_name for s in signed.signatures) or "none"
    raise NoteError(f"signed by no known key (signatures by: {names})")


class LogSigner:
    """Signs checkpoints with the installation's current key; keeps the key to itself."""

    def __init__(self, seed: bytes, *, development: bool = False) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = raw_public_key(self._key.public_key())
        prefix = DEV_KEY_NAME_PREFIX if development else KEY_NAME_PREFIX
        self.key_name = key_name_for(self.public_key, prefix)
        self._id = key_id(self.key_name, self.public_key)

    def __repr__(self) -> str:
        return f"LogSigner({self.key_name})"

    def sign(self, checkpoint: Checkpoint) -> str:
        text = checkpoint.text
        signature = base64.b64encode(self._id + self._key.sign(text.encode())).decode()
        return f"{text}\n{SIGNATURE_MARK}{self.key_name} {signature}\n"


@dataclass(frozen=True)
class LogKeys:
    """The current signer and the public keys of retired ones (kept for verification)."""

    signer: LogSigner
    retired: tuple[bytes, ...] = ()

    @property
    def public_keys(self) -> tuple[bytes, ...]:
        return (self.signer.public_key, *self.retired)

    def open(self, note: str) -> tuple[Checkpoint, str]:
        return open_note(note, self.public_keys)


def development_keys() -> LogKeys:
    return LogKeys(LogSigner(DEV_SEED, development=True))


def log_keys(seed: bytes, retired: tuple[bytes, ...] = ()) -> LogKeys:
    """The keys of ``RIVERCHIEF_AUDIT_KEY`` (``b''``: the development key) and
    ``RIVERCHIEF_AUDIT_OLD_KEYS``."""
    if not seed:
        return LogKeys(LogSigner(DEV_SEED, development=True), retired)
    return LogKeys(LogSigner(seed), retired)
