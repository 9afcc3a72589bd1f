"""``riverchief export-audit``, ``verify-export`` and ``verify-audit``: a jurisdiction's audit
log, exported signed for handing over, and every log checked.

An export is JSON lines, UTF-8, each line one canonical JSON object (sorted keys, no spaces):

1. a header: ``{"format": "riverchief-audit-export", "version": 2, "origin", "jurisdiction",
   "from", "to", "exported_at", "first_leaf", "last_leaf", "first_seq", "last_seq",
   "events", "prefix", "checkpoint"}``: ``prefix`` holds the hashes (hex) of the complete
   subtrees before ``first_leaf`` (``cover(0, first_leaf)``), and ``checkpoint`` the log's
   signed checkpoint at size ``last_leaf + 1``, so that the tree head can be recomputed from
   the prefix and the events' leaves alone (``riverchief verify-proof``, with only the
   public key);
2. one line per event, in leaf order: the fields its hashes cover (``seq``,
   ``jurisdiction``, ``leaf_index``, ``at``, ``action``, ``entity_type``, ``entity_id``,
   ``actor_id``, ``org_path``, ``before``, ``after``, ``request_id``) with ``prev_hash`` and
   ``hash``, so that ``hash = sha256(prev_hash + canonical(fields))`` and the leaf
   ``sha256(0x00 ‖ canonical(fields))`` can be recomputed from the line alone;
3. a signature: ``{"signature": {"alg": "HMAC-SHA256", "key_id", "value"}}``, where ``value``
   is the HMAC-SHA256 of every byte before that line, keyed with
   ``HMAC-SHA256(RIVERCHIEF_SECRET, "riverchief-audit-export-v1")`` (a key of its own, derived
   from the service secret, so an export signature can never stand for anything else), and
   ``key_id`` the first 16 hex digits of the key's SHA-256, naming the key without giving it.

The export holds every event of one log from the first one at or after ``--from`` to the last
one before ``--to`` (by leaf index, so the stretch is contiguous), and it is only written if
that stretch checks out: linked to the event before it, and giving the stored tree's head.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tortoise.functions import Max, Min

from core.checkpoint import LogKeys, log_keys
from core.merkle import CompactRange, cover
from core.settings import Settings
from models.audit import AuditEvent
from ops.help_text import RawHelpFormatter
from ops.runtime import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    complain,
    opened,
    run,
    say,
)
from resolvers.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    body_leaf_hash,
    canonical,
    event_body,
    link_hash,
)
from resolvers.audit_log import (
    Log,
    issue_checkpoint,
    log_by_code,
    range_hashes,
    root_at,
)
from resolvers.audit_queries import Anchor, verify_every_log

FORMAT = "riverchief-audit-export"
VERSION = 2
ALGORITHM = "HMAC-SHA256"
KEY_LABEL = b"riverchief-audit-export-v1"
BATCH = 5000
LINE_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")  # an event's line in the export


def export_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def encode_line(value: dict[str, Any]) -> bytes:
    return (canonical(value) + "\n").encode()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def require_secret(settings: Settings) -> str:
    if settings.secret_generated:
        raise CommandError(
            "RIVERCHIEF_SECRET is not set: exports are signed and checked with the service's "
            "secret; set it to the value the servers use"
        )
    return settings.secret


# -- exporting ------------------------------------------------------------------------------


class ChainBroken(Exception):
    def __init__(self, leaf: int) -> None:
        super().__init__(f"the audit log is broken at leaf {leaf}")
        self.leaf = leaf


@dataclass(frozen=True)
class ExportSummary:
    events: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str | None
    key_id: str


async def write_export(
    out: IO[bytes], *, log: Log, since: datetime, until: datetime, secret: str, keys: LogKeys
) -> ExportSummary:
    """Write the signed export of ``log``'s events in [since, until) to ``out``;
    ``ChainBroken`` if a link in that stretch (or to the event before it), or the tree head
    it gives, does not check out."""
    key = export_key(secret)
    mac = hmac.new(key, digestmod=hashlib.sha256)

    def emit(value: dict[str, Any]) -> None:
        encoded = encode_line(value)
        mac.update(encoded)
        out.write(encoded)

    (bounds,) = (
        await AuditEvent.filter(jurisdiction=log.jurisdiction, at__gte=since, at__lt=until)
        .annotate(first=Min("leaf_index"), last=Max("leaf_index"))
        .values("first", "last")
    )
    first, last = bounds["first"], bounds["last"]
    lines: list[dict[str, Any]] = []
    prefix: list[bytes] = []
    tree = CompactRange()
    if first is not None:
        prefix = await _prefix_nodes(log, first)
        tree = CompactRange(prefix, first)
        prev_hash = await _predecessor_hash(log, first)
        expected = first
        while expected <= last:
            batch = (
                await AuditEvent.filter(
                    jurisdiction=log.jurisdiction, leaf_index__gte=expected, leaf_index__lte=last
                )
                .order_by("leaf_index")
                .limit(BATCH)
            )
            if not batch:
                raise ChainBroken(expected)
            for event in batch:
                body = event_body(event)
                if (
                    event.leaf_index != expected
                    or event.prev_hash != prev_hash
                    or link_hash(prev_hash, body) != event.hash
                ):
                    raise ChainBroken(expected)
                tree.append(body_leaf_hash(body))
                lines.append({**body, "prev_hash": event.prev_hash, "hash": event.hash})
                prev_hash, expected = event.hash, expected + 1
        if tree.root() != await root_at(log.jurisdiction, tree.size):
            raise ChainBroken(first)
    checkpoint = (await issue_checkpoint(keys, log, tree.size)).note if lines else None
    emit(
        {
            "format": FORMAT,
            "version": VERSION,
            "origin": log.origin,
            "jurisdiction": log.jurisdiction,
            "from": iso(since),
            "to": iso(until),
            "exported_at": iso(datetime.now(UTC)),
            "first_leaf": first,
            "last_leaf": last,
            "first_seq": lines[0]["seq"] if lines else None,
            "last_seq": lines[-1]["seq"] if lines else None,
            "events": len(lines),
            "prefix": [h.hex() for h in prefix],
            "checkpoint": checkpoint,
        }
    )
    for line in lines:
        emit(line)
    signature = {"alg": ALGORITHM, "key_id": key_id(key), "value": mac.hexdigest()}
    out.write(encode_line({"signature": signature}))
    return ExportSummary(
        len(lines),
        lines[0]["seq"] if lines else None,
        lines[-1]["seq"] if lines else None,
        lines[-1]["hash"] if lines else None,
        key_id(key),
    )


async def _prefix_nodes(log: Log, first: int) -> list[bytes]:
    """The hashes of the complete subtrees before leaf ``first``, largest first."""
    ranges = [(position << level, 1 << level) for level, position in cover(0, first)]
    return await range_hashes(log.jurisdiction, ranges)


async def _predecessor_hash(log: Log, leaf: int) -> str:
    if leaf == 0:
        return GENESIS_HASH
    before = await AuditEvent.get_or_none(jurisdiction=log.jurisdiction, leaf_index=leaf - 1)
    if before is None:
        raise ChainBroken(leaf - 1)
    return before.hash


# -- verifying an export --------------------------------------------------------------------


@dataclass
class ExportCheck:
    problems: list[str] = field(default_factory=list)
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    key_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def verify_export(data: bytes, secret: str) -> ExportCheck:
    """Check an export's signature, header, and every event's hash and link to the one before.
    Every problem is listed (by line), not just the first."""
    check = ExportCheck(key_id=key_id(export_key(secret)))
    if not data.endswith(b"\n"):
        check.problems.append("the file does not end with a line break: it was cut short")
        return check
    lines = data[:-1].split(b"\n")
    if len(lines) < 2:
        check.problems.append("not an export: expected a header, the events, then a signature")
        return check
    _check_signature(check, data[: len(data) - len(lines[-1]) - 1], lines[-1], secret)
    header = _json_object(lines[0])
    if header is None or header.get("format") != FORMAT:
        check.problems.append("line 1: not the header of a riverchief audit export")
        return check
    if header.get("version") != VERSION:
        check.problems.append(f"line 1: export version {header.get('version')!r} is not {VERSION}")
        return check
    _check_events(check, header, lines[1:-1])
    return check


def _check_signature(check: ExportCheck, signed: bytes, line: bytes, secret: str) -> None:
    trailer = _json_object(line)
    signature = trailer.get("signature") if trailer else None
    if not isinstance(signature, dict):
        check.problems.append("the last line is not the signature: the export is incomplete")
        return
    algorithm, key_id = signature.get("alg"), signature.get("key_id")  # public, not secret
    if algorithm != ALGORITHM:
        check.problems.append(f"signature algorithm {algorithm!r} is not {ALGORITHM}")
        return
    if key_id != check.key_id:
        check.problems.append(
            f"signed with another key (key id {key_id}; this RIVERCHIEF_SECRET "
            f"gives {check.key_id})"
        )
        return
    expected = hmac.new(export_key(secret), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("value", ""))):
        check.problems.append("the signature does not match: the file was changed after export")


def _check_events(check: ExportCheck, header: dict[str, Any], lines: list[bytes]) -> None:
    expected_leaf = header.get("first_leaf")
    prev_hash: str | None = None
    for number, raw in enumerate(lines, start=2):
        event = _json_object(raw)
        if event is None or any(name not in event for name in LINE_FIELDS):
            check.problems.append(f"line {number}: not an audit event")
            prev_hash, expected_leaf = None, None
            continue
        seq, leaf = event["seq"], event["leaf_index"]
        where = f"line {number} (seq {seq})"
        if expected_leaf is not None and leaf != expected_leaf:
            check.problems.append(
                f"{where}: expected leaf {expected_leaf}: events missing or moved"
            )
        if prev_hash is not None and event["prev_hash"] != prev_hash:
            check.problems.append(f"{where}: prev_hash is not the hash of the line before")
        body = {name: event[name] for name in HASHED_FIELDS}
        if link_hash(str(event["prev_hash"]), body) != event["hash"]:
            check.problems.append(f"{where}: hash does not match the event's contents")
        prev_hash = str(event["hash"])
        expected_leaf = leaf + 1 if isinstance(leaf, int) else None
        if check.first_seq is None:
            check.first_seq = seq
        check.last_seq, check.head_hash = seq, prev_hash
        check.events += 1
    if check.events != header.get("events"):
        check.problems.append(
            f"the header announces {header.get('events')} events, the file holds {check.events}"
        )


# -- the commands ---------------------------------------------------------------------------


def cmd_export_audit(settings: Settings, args: argparse.Namespace) -> int:
    target = Path(args.output) if args.output else None
    done: list[ExportSummary] = []
    spools: list[str] = []

    async def work() -> int:
        secret = require_secret(settings)
        if args.since >= args.until:
            raise CommandError("--from must be before --to")
        # Written aside first: a failed export leaves no half-file (nor half an stdout).
        with _spool(target) as spool:
            spools.append(spool.name)
            async with opened(settings):
                log = await log_by_code(args.log)
                if log is None:
                    raise CommandError(
                        f"no top-level unit has the code {args.log!r} (or say installation)"
                    )
                try:
                    summary = await write_export(
                        spool,
                        log=log,
                        since=args.since,
                        until=args.until,
                        secret=secret,
                        keys=keys_of_settings(settings),
                    )
                except ChainBroken as broken:
                    raise CommandError(
                        f"{broken}: nothing was exported; run `riverchief verify-audit`",
                        EXIT_FAILED,
                    ) from None
        done.append(summary)
        return EXIT_OK

    try:
        status = run(work)
        if status == EXIT_OK:
            status = _publish(spools[0], target, done[0])
    finally:
        for name in spools:
            Path(name).unlink(missing_ok=True)
    return status


def _spool(target: Path | None) -> IO[bytes]:
    """A temporary file beside ``target`` (so that it can be renamed into place)."""
    directory = target.parent if target is not None else None
    try:
        return tempfile.NamedTemporaryFile(
            "w+b", dir=directory, prefix=".audit-export-", delete=False
        )
    except OSError as error:
        where = directory or "a temporary file"
        raise CommandError(f"cannot write to {where}: {error.strerror}") from None


def _publish(spool: str, target: Path | None, summary: ExportSummary) -> int:
    """Move the finished export into place, or copy it to stdout; then say what it holds."""
    try:
        if target is not None:
            os.replace(spool, target)
        else:
            with open(spool, "rb") as written:
                sys.stdout.flush()
                shutil.copyfileobj(written, sys.stdout.buffer)
                sys.stdout.buffer.flush()
    except OSError as error:
        complain(f"cannot write {target or 'to stdout'}: {error.strerror or error}")
        return 2
    span = (
        f"seq {summary.first_seq}–{summary.last_seq}, last hash {summary.head_hash}"
        if summary.events
        else "no events in that range"
    )
    print(
        f"exported {summary.events} audit event(s){f' to {target}' if target else ''} "
        f"({span}); signed {ALGORITHM}, key id {summary.key_id}",
        file=sys.stdout if target else sys.stderr,
    )
    return EXIT_OK


def cmd_verify_export(settings: Settings, args: argparse.Namespace) -> int:
    try:
        secret = require_secret(settings)
        data = Path(args.file).read_bytes()
    except CommandError as error:
        complain(error.message)
        return error.exit_code
    except OSError as error:
        complain(f"cannot read {args.file}: {error.strerror or error}")
        return 2
    check = verify_export(data, secret)
    if not check.ok:
        complain(f"{args.file}: the export does not verify")
        for problem in check.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    span = (
        f"seq {check.first_seq}–{check.last_seq}, chained intact; last hash {check.head_hash}"
        if check.events
        else "no events"
    )
    say(
        f"{args.file}: signature valid ({ALGORITHM}, key id {check.key_id}); "
        f"{check.events} event(s), {span}"
    )
    return EXIT_OK


def keys_of_settings(settings: Settings) -> LogKeys:
    return log_keys(settings.audit_key, settings.audit_old_keys)


def cmd_verify_audit(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            report = await verify_every_log(keys_of_settings(settings), args.anchor)
        for log in report.logs:
            if log.ok:
                say(
                    f"{log.origin}: intact, {log.checked} event(s), root {log.root_hash}, "
                    f"{log.checkpoints} checkpoint(s) agree; head seq {log.head_seq}, "
                    f"hash {log.head_hash}"
                )
            else:
                seq = f" (seq {log.first_broken_seq})" if log.first_broken_seq is not None else ""
                complain(
                    f"{log.origin}: broken at leaf {log.first_broken_leaf_index}{seq}: "
                    f"{log.problem}; {log.checked} event(s) before it check out"
                )
        if report.anchor_missing and args.anchor:
            complain(
                f"no log passes through the anchor {args.anchor.seq}:{args.anchor.hash}: "
                "events were removed or rewritten since it was written down"
            )
        if not report.logs:
            say("no audit events yet")
        return EXIT_OK if report.ok else EXIT_FAILED

    return run(work)


# -- arguments ------------------------------------------------------------------------------


def moment(raw: str) -> datetime:
    """An ISO 8601 date-time that states its UTC offset."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a date-time like 2026-01-01T00:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{raw!r} does not say its UTC offset: write it like 2026-01-01T00:00:00+08:00 "
            "or 2026-01-01T00:00:00Z"
        )
    return value


def anchor(raw: str) -> Anchor:
    seq, _, digest = raw.partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise argparse.ArgumentTypeError(f"{raw!r} is not SEQ:HASH (a number, 64 hex digits)")
    return Anchor(int(seq), digest)


EXPORT_HELP = """\
The export is JSON lines: a header, one line per event (the chained fields with prev_hash
and hash), and a last line {"signature": {"alg": "HMAC-SHA256", "key_id", "value"}}.
The signature is the HMAC-SHA256 of every byte before the last line, keyed with
HMAC-SHA256(RIVERCHIEF_SECRET, "riverchief-audit-export-v1"). Check it with
`riverchief verify-export FILE` (same RIVERCHIEF_SECRET), or by hand:

  KEY=$(printf %s riverchief-audit-export-v1 \\
        | openssl dgst -sha256 -hmac "$RIVERCHIEF_SECRET" -r | cut -d' ' -f1)
  head -n -1 FILE | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY -r
  tail -n 1 FILE     # the same hex digits as "value"

Exit status: 0 exported, 1 the chain in that range does not check out (nothing written),
2 the command could not run.
"""


def register(commands: Any) -> None:
    export = commands.add_parser(
        "export-audit",
        help="export audit events in a time range as signed JSON lines",
        description="Export the audit events from --from (inclusive) to --to (exclusive), "
        "each with its chain hash, followed by a signature over the whole export. The "
        "date-times state their UTC offset. Needs RIVERCHIEF_SECRET.",
        epilog=EXPORT_HELP,
        formatter_class=RawHelpFormatter,
    )
    export.add_argument(
        "--log",
        required=True,
        metavar="CODE",
        help="the jurisdiction: a top-level unit's code, or `installation`",
    )
    export.add_argument(
        "--from",
        dest="since",
        type=moment,
        required=True,
        metavar="DATETIME",
        help="the first moment exported (inclusive), with its UTC offset",
    )
    export.add_argument(
        "--to",
        dest="until",
        type=moment,
        required=True,
        metavar="DATETIME",
        help="the moment the export stops (exclusive), with its UTC offset",
    )
    export.add_argument("--output", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(func=cmd_export_audit)

    verify = commands.add_parser(
        "verify-export",
        help="check an audit export's signature and hash chain",
        description="Check an export written by export-audit: its signature (with "
        "RIVERCHIEF_SECRET), and that every event's hash matches its contents and links to "
        "the event before it. Needs no database.",
        epilog="Exit status: 0 valid, 1 it does not verify (every problem is listed), "
        "2 the command could not run.",
    )
    verify.add_argument("file", metavar="FILE", help="the export to check")
    verify.set_defaults(func=cmd_verify_export)

    chain = commands.add_parser(
        "verify-audit",
        help="verify the whole audit chain in the database",
        description="Recompute every link of the audit chain, as the verifyAuditChain query "
        "does, and print the head (seq and hash: write it down, and pass it as --anchor "
        "later to prove the chain was not cut short or rewritten since).",
        epilog="Exit status: 0 intact, 1 broken (the first broken seq is printed), "
        "2 the command could not run.",
    )
    chain.add_argument("--anchor", type=anchor, metavar="SEQ:HASH", help="a head recorded earlier")
    chain.set_defaults(func=cmd_verify_audit)
