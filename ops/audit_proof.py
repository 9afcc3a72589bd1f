"""``riverchief verify-proof``: check an audit export or an inclusion proof against a signed
checkpoint, offline, with nothing but the log's public key.

What it takes:

- ``--key``: the Ed25519 public key (base64 of the raw 32 bytes, as ``auditPublicKey`` gives
  it); repeat it for retired keys. The key's name in notes follows from it.
- ``--checkpoint FILE``: a checkpoint note (``auditCheckpoint.note``) written down earlier. For
  an export it may be left out: the export's own checkpoint (in its header) is used.
- ``--export FILE`` (from ``riverchief export-audit``): every event line is rehashed (its chain
  link and its RFC 9162 leaf), the tree head is recomputed from the header's ``prefix``
  (the complete subtrees before the first exported leaf) and the leaves, and must be the
  checkpoint's root at the checkpoint's size, which must fall within the export.
- ``--proof FILE``: an inclusion proof as ``auditInclusionProof`` returns it (the object, or
  the whole GraphQL response), for the checkpoint's tree size; with ``--event FILE`` (one
  event line of an export) the leaf hash is recomputed from the event itself.

The database, RIVERCHIEF_SECRET and the service are not needed: this is what an outside
party runs. Exit status: 0 verified, 1 it does not verify (every problem is listed), 2 the
command could not run (unreadable file, malformed input, a checkpoint the export does not
reach).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.checkpoint import Checkpoint, NoteError, decode_public_key, open_note
from core.merkle import EMPTY_ROOT, CompactRange, verify_inclusion
from core.settings import Settings
from ops.runtime import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, CommandError, complain, say
from resolvers.audit import GENESIS_HASH, HASHED_FIELDS, body_leaf_hash, link_hash

EXPORT_FORMAT = "riverchief-audit-export"
EXPORT_VERSION = 2


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)
    said: str = ""


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {getattr(error, 'strerror', error)}") from None


def read_json(path: str) -> Any:
    try:
        return json.loads(read_text(path))
    except ValueError:
        raise CommandError(f"{path} is not JSON") from None


class _Refused(Exception):
    """The input is well formed but does not verify: exit 1."""


def trusted_checkpoint(note: str, keys: list[bytes], where: str) -> tuple[Checkpoint, str]:
    try:
        return open_note(note, keys)
    except NoteError as error:
        message = f"{where}: the checkpoint does not verify with the key given: {error}"
        raise _Refused(message) from None


def check_export(data: str, keys: list[bytes], note: str | None, where: str) -> Outcome:
    """The export's events against the checkpoint (``note``, or the export's own)."""
    lines = data.splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
        parsed = [json.loads(line) for line in lines[1:]]
    except ValueError:
        raise CommandError(f"{where} is not a riverchief audit export (JSON lines)") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise CommandError(f"{where} is not a riverchief audit export")
    # The last line is the export's HMAC signature: only the service's secret checks it
    # (``verify-export``); the checkpoint stands in for it here.
    events = [e for e in parsed if not (isinstance(e, dict) and set(e) == {"signature"})]
    if header.get("version") != EXPORT_VERSION:
        raise CommandError(f"{where}: export version {header.get('version')!r} is not 2")
    own = header.get("checkpoint")
    given = note if note is not None else own
    if not isinstance(given, str) or not given:
        raise CommandError(f"{where} holds no events: give --checkpoint")
    checkpoint, key_name = trusted_checkpoint(given, keys, where)
    if checkpoint.origin != header.get("origin"):
        return Outcome(
            [f"the checkpoint is for {checkpoint.origin}, the export for {header.get('origin')}"]
        )
    first = header.get("first_leaf") or 0
    last = header.get("last_leaf")
    end = first + len(events)
    if not first <= checkpoint.tree_size <= end:
        raise CommandError(
            f"the checkpoint is at size {checkpoint.tree_size}; the export holds leaves "
            f"{first}–{end - 1}: export the log up to that size, or ask for a consistency "
            "proof (auditConsistencyProof)"
        )
    outcome = Outcome()
    try:
        prefix = [bytes.fromhex(h) for h in header.get("prefix", [])]
        tree = CompactRange(prefix, first)
    except ValueError:
        raise CommandError(
            f"{where}: the header's prefix is not the subtrees before leaf {first}"
        ) from None
    roots = {first: tree.root()}
    prev_hash: str | None = None
    for number, event in enumerate(events, start=2):
        if not isinstance(event, dict) or any(k not in event for k in HASHED_FIELDS):
            outcome.problems.append(f"line {number}: not an audit event")
            continue
        body = {name: event[name] for name in HASHED_FIELDS}
        if event["leaf_index"] != tree.size:
            outcome.problems.append(
                f"line {number}: leaf {event['leaf_index']} where {tree.size} was expected"
            )
        if prev_hash is not None and event.get("prev_hash") != prev_hash:
            outcome.problems.append(f"line {number}: prev_hash is not the line before's hash")
        if link_hash(str(event.get("prev_hash", GENESIS_HASH)), body) != event.get("hash"):
            outcome.problems.append(f"line {number}: hash does not match the event's contents")
        prev_hash = str(event.get("hash"))
        tree.append(body_leaf_hash(body))
        roots[tree.size] = tree.root()
    if last is not None and last != end - 1:
        outcome.problems.append(
            f"the header says the last leaf is {last}, the file ends at {end - 1}"
        )
    root = roots[checkpoint.tree_size] if checkpoint.tree_size else EMPTY_ROOT
    if root != checkpoint.root_hash:
        outcome.problems.append(
            f"the events do not hash to the checkpoint's root at size {checkpoint.tree_size}"
        )
    outcome.said = (
        f"{where}: {len(events)} event(s) of {checkpoint.origin} (leaves {first}–{end - 1}) "
        f"agree with the checkpoint at size {checkpoint.tree_size}, signed by {key_name}; "
        f"root {checkpoint.root_hash.hex()}"
    )
    return outcome


def check_proof(proof: Any, keys: list[bytes], note: str, event: Any, where: str) -> Outcome:
    if isinstance(proof, dict) and "data" in proof:
        proof = (proof.get("data") or {}).get("auditInclusionProof")
    if not isinstance(proof, dict) or not {"leafIndex", "treeSize", "leafHash", "hashes"} <= set(
        proof
    ):
        raise CommandError(
            f"{where} is not an inclusion proof (leafIndex, treeSize, leafHash, hashes)"
        )
    checkpoint, key_name = trusted_checkpoint(note, keys, "the checkpoint")
    try:
        leaf = bytes.fromhex(proof["leafHash"])
        path = [bytes.fromhex(h) for h in proof["hashes"]]
        index, size = int(proof["leafIndex"]), int(proof["treeSize"])
    except (TypeError, ValueError):
        raise CommandError(f"{where}: the proof's hashes are not hex") from None
    outcome = Outcome()
    if event is not None:
        if not isinstance(event, dict) or any(k not in event for k in HASHED_FIELDS):
            raise CommandError("the event is not an audit event line of an export")
        recomputed = body_leaf_hash({name: event[name] for name in HASHED_FIELDS})
        if recomputed != leaf:
            outcome.problems.append("the event does not hash to the proof's leaf hash")
        if event["leaf_index"] != index:
            outcome.problems.append(
                f"the event is leaf {event['leaf_index']}, the proof is for leaf {index}"
            )
    if size != checkpoint.tree_size:
        outcome.problems.append(
            f"the proof is for tree size {size}, the checkpoint is at {checkpoint.tree_size}"
        )
    elif not verify_inclusion(index, size, leaf, path, checkpoint.root_hash):
        outcome.problems.append("the proof does not lead to the checkpoint's root")
    what = "the event" if event is not None else f"leaf {proof['leafHash']}"
    outcome.said = (
        f"{what} is leaf {index} of {checkpoint.origin} at size {size}, as the checkpoint "
        f"signed by {key_name} says (root {checkpoint.root_hash.hex()})"
    )
    return outcome


def cmd_verify_proof(settings: Settings, args: argparse.Namespace) -> int:
    try:
        keys = [decode_public_key(k) for k in args.key]
    except NoteError as error:
        complain(f"--key: {error}")
        return EXIT_UNUSABLE
    try:
        note = read_text(args.checkpoint) if args.checkpoint else None
        if args.export:
            outcome = check_export(read_text(args.export), keys, note, args.export)
        else:
            if note is None:
                raise CommandError("--proof needs --checkpoint")
            event = read_json(args.event) if args.event else None
            outcome = check_proof(read_json(args.proof), keys, note, event, args.proof)
    except CommandError as error:
        complain(error.message)
        return error.exit_code
    except _Refused as refused:
        complain(str(refused))
        return EXIT_FAILED
    if outcome.problems:
        complain("it does not verify")
        for problem in outcome.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    say(outcome.said)
    return EXIT_OK


def register(commands: Any) -> None:
    verify = commands.add_parser(
        "verify-proof",
        help="check an audit export or an inclusion proof against a checkpoint, offline",
        description="Check, with only the log's public key, that an audit export (every "
        "event rehashed, the tree head recomputed) or an inclusion proof agrees with a signed "
        "checkpoint (RFC 9162 hashing, C2SP signed note, Ed25519). Needs no database.",
        epilog="Exit status: 0 verified, 1 it does not verify (every problem is listed), "
        "2 the command could not run.",
    )
    verify.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="BASE64",
        help="the Ed25519 public key (auditPublicKey); repeat for retired keys",
    )
    verify.add_argument("--checkpoint", metavar="FILE", help="a checkpoint note")
    what = verify.add_mutually_exclusive_group(required=True)
    what.add_argument("--export", metavar="FILE", help="an export from export-audit")
    what.add_argument("--proof", metavar="FILE", help="an inclusion proof (JSON)")
    verify.add_argument("--event", metavar="FILE", help="with --proof: the event (JSON)")
    verify.set_defaults(func=cmd_verify_proof)
