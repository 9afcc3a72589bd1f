"""``riverchief import-org``: an org tree from a CSV file, all of it or nothing.

The whole file is checked before anything is written, and every problem is reported with its
line number; only a file without problems is imported, in one transaction, with one
``org_unit.create`` audit event per unit (the actor is the system: no account). Parents may
come after their children in the file, or already be in the database.

This module reads and checks the file; the writes are ``resolvers.org_units.create_units``.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.context import RequestContext
from core.errors import DomainError
from core.settings import Settings
from models.enums import OrgLevel
from models.org import ALLOWED_PARENTS, HierarchyError, OrgUnit, check_parent
from ops.help_text import RawHelpFormatter
from ops.runtime import (
    EXIT_OK,
    EXIT_UNUSABLE,
    CommandError,
    cli_context,
    complain,
    opened,
    run,
    say,
)
from policies.engine import PolicyEngine
from resolvers.org_units import NewUnit, create_units, units_by_code

COLUMNS = ("code", "name", "level", "parent_code")
MAX_CODE = 64
MAX_NAME = 200
# Deepest unit the paths have room for: 21 ids of up to 10 digits fit a 255-character path.
MAX_DEPTH = 20
SHOWN_PROBLEMS = 200

COLUMN_HELP = f"""\
The file is CSV with a header row naming these columns, in any order:

  code         the unit's code, unique across the system (at most {MAX_CODE} characters)
  name         its name (at most {MAX_NAME} characters)
  level        COUNTY, TOWNSHIP, VILLAGE, GRID, DEPARTMENT or ENTERPRISE
  parent_code  the parent's code, a unit in the file (before or after this line) or one
               already in the database; empty for a county, the only kind of root

Where a unit may sit: TOWNSHIP and DEPARTMENT under a COUNTY, VILLAGE under a TOWNSHIP,
GRID under a VILLAGE or another GRID, ENTERPRISE under a TOWNSHIP or VILLAGE. Levels are
not case-sensitive; blank lines are skipped; values are trimmed. The file is UTF-8, with or
without a byte-order mark; for another encoding (say a file Excel saved as GB18030) pass
--encoding. Codes that already exist in the database are refused: the import only adds.

Example:

  code,name,level,parent_code
  weixin,威信县,COUNTY,
  zhaxi,扎西镇,TOWNSHIP,weixin
  shilong,石龙村,VILLAGE,zhaxi
  shilong-g1,石龙村第一网格,GRID,shilong

Exit status: 0 imported (or, with --dry-run, no problems), 2 problems found (each printed
with its line number; nothing imported) or the command could not run.
"""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class InvalidFile(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = sorted(problems, key=lambda p: p.line)


@dataclass
class Row:
    line: int
    code: str
    name: str
    level: OrgLevel | None  # None: not a level (already reported)
    parent_code: str


@dataclass
class Plan:
    """Rows in an order that puts every parent before its children."""

    rows: list[Row]


# -- reading --------------------------------------------------------------------------------


def decode(data: bytes, encoding: str) -> str:
    """The file's text, without a byte-order mark; ``InvalidFile`` for bytes that do not
    decode, at the line they are on."""
    name = codecs.lookup(encoding).name
    try:
        text = data.decode("utf-8-sig" if name == "utf-8" else name)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        hint = (
            "; save it as UTF-8, or pass --encoding (e.g. gb18030 for a file Excel saved "
            "in a Chinese locale)"
            if name == "utf-8"
            else ""
        )
        raise InvalidFile(
            [Problem(line, f"not valid {name} text (byte 0x{data[error.start]:02x}){hint}")]
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidFile(
            [Problem(line, "contains a NUL character (is the file UTF-16? pass --encoding)")]
        )
    return text


def _control_character(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def _cell_problems(line: int, values: dict[str, str]) -> list[Problem]:
    problems = []
    for column, limit in (("code", MAX_CODE), ("name", MAX_NAME), ("parent_code", MAX_CODE)):
        value = values[column]
        if not value and column != "parent_code":
            problems.append(Problem(line, f"{column} is empty"))
        elif len(value) > limit:
            problems.append(Problem(line, f"{column} is longer than {limit} characters"))
        elif _control_character(value):
            problems.append(Problem(line, f"{column} contains a line break or control character"))
    return problems


def parse(text: str) -> tuple[list[Row], list[Problem]]:
    """The rows of the file, and the problems each line has on its own."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], [Problem(1, f"the file is empty: expected a header row {','.join(COLUMNS)}")]
        columns = [cell.strip().lower() for cell in header]
        header_problems = _header_problems(columns)
        if header_problems:
            return [], header_problems
        rows: list[Row] = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                problems.append(
                    Problem(
                        line,
                        f"expected {len(columns)} fields ({','.join(columns)}), "
                        f"found {len(record)}",
                    )
                )
                continue
            values = {name: cell.strip() for name, cell in zip(columns, record, strict=True)}
            problems.extend(_cell_problems(line, values))
            level = _level(values["level"])
            if level is None:
                problems.append(Problem(line, _level_problem(values["level"])))
            if values["code"]:  # kept even with problems: its children may name it
                rows.append(Row(line, values["code"], values["name"], level, values["parent_code"]))
    except csv.Error as error:
        problems.append(Problem(reader.line_num, f"not readable as CSV: {error}"))
        return [], problems
    if not rows and not problems:
        problems.append(Problem(2, "no units after the header row"))
    return rows, problems


def _header_problems(columns: list[str]) -> list[Problem]:
    problems = []
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if len(columns) == 1 and any(separator in columns[0] for separator in ";\t"):
        return [Problem(1, "the header is one column: the file must be comma-separated")]
    if missing:
        problems.append(Problem(1, f"missing column(s): {', '.join(missing)}"))
    if unknown:
        problems.append(
            Problem(
                1,
                f"unknown column(s): {', '.join(repr(c) for c in unknown)}; "
                f"the columns are {', '.join(COLUMNS)}",
            )
        )
    if repeated:
        problems.append(Problem(1, f"column(s) named twice: {', '.join(repeated)}"))
    return problems


def _level(raw: str) -> OrgLevel | None:
    try:
        return OrgLevel(raw.upper())
    except ValueError:
        return None


def _level_problem(raw: str) -> str:
    if not raw:
        return "level is empty"
    return f"level {raw!r} is not one of {', '.join(level.value for level in OrgLevel)}"


# -- checking against itself and the database -----------------------------------------------


async def plan(rows: list[Row]) -> Plan:
    """Check the rows as a whole (codes, parents, levels, cycles, depth); ``InvalidFile``
    with every problem found, or the plan to import them."""
    problems: list[Problem] = []
    in_file: dict[str, Row] = {}
    for row in rows:
        first = in_file.get(row.code)
        if first is not None:
            problems.append(Problem(row.line, f"code {row.code!r} is already on line {first.line}"))
        else:
            in_file[row.code] = row
    codes = {r.code for r in rows} | {r.parent_code for r in rows}
    existing = await units_by_code(c for c in codes if c and len(c) <= MAX_CODE)
    for row in rows:
        if row.code in existing and in_file[row.code] is row:
            problems.append(
                Problem(
                    row.line,
                    f"a unit with code {row.code!r} already exists "
                    f"({existing[row.code].name}); the import only adds units",
                )
            )
        problems.extend(_parent_problems(row, in_file, existing))
    problems.extend(_cycle_problems(in_file))
    if not problems:
        problems.extend(_depth_problems(rows, in_file, existing))
    if problems:
        raise InvalidFile(problems)
    depth = _file_depths(in_file)
    ordered = sorted(rows, key=lambda r: (depth[r.code], r.line))
    return Plan(rows=ordered)


def _parent_problems(
    row: Row, in_file: dict[str, Row], existing: dict[str, OrgUnit]
) -> list[Problem]:
    if row.parent_code == row.code:
        return [Problem(row.line, "a unit cannot be its own parent")]
    parent_level: OrgLevel | None
    if not row.parent_code:
        if row.level is not None and None not in ALLOWED_PARENTS[row.level]:
            return [
                Problem(
                    row.line,
                    f"parent_code is empty, but a {row.level.value} unit needs a parent: "
                    "only a COUNTY is a root",
                )
            ]
        return []
    if row.parent_code in in_file:
        parent_level = in_file[row.parent_code].level
    elif row.parent_code in existing:
        parent_level = existing[row.parent_code].level
    else:
        return [
            Problem(
                row.line,
                f"unknown parent {row.parent_code!r}: not in the file, not in the database",
            )
        ]
    if row.level is None or parent_level is None:
        return []  # the bad level is reported on its own line
    try:
        check_parent(row.level, parent_level)
    except HierarchyError as error:
        return [Problem(row.line, f"{error} (parent {row.parent_code!r})")]
    return []


def _cycle_problems(in_file: dict[str, Row]) -> list[Problem]:
    """Units whose parents, followed through the file, come back to them."""
    problems = []
    settled: set[str] = set()
    for code in in_file:
        trail: list[str] = []
        current: str | None = code
        while current is not None and current in in_file and current not in settled:
            if current in trail:
                loop = [*trail[trail.index(current) :], current]
                for member in loop[:-1]:
                    problems.append(
                        Problem(in_file[member].line, f"parents form a cycle: {' → '.join(loop)}")
                    )
                break
            trail.append(current)
            parent = in_file[current].parent_code
            current = parent if parent and parent != current else None
        settled.update(trail)
    return problems


def _file_depths(in_file: dict[str, Row]) -> dict[str, int]:
    """How many of a row's ancestors are in the file (no cycles by now)."""
    depth: dict[str, int] = {}
    for code in in_file:
        chain = []
        current = code
        while current in in_file and current not in depth:
            chain.append(current)
            current = in_file[current].parent_code
        base = depth[current] + 1 if current in depth else 0
        for offset, member in enumerate(reversed(chain)):
            depth[member] = base + offset
    return depth


def _depth_problems(
    rows: list[Row], in_file: dict[str, Row], existing: dict[str, OrgUnit]
) -> list[Problem]:
    file_depth = _file_depths(in_file)
    problems = []
    for row in rows:
        top = row
        while top.parent_code in in_file:
            top = in_file[top.parent_code]
        base = existing[top.parent_code].depth + 1 if top.parent_code else 0
        if base + file_depth[row.code] > MAX_DEPTH:
            problems.append(
                Problem(row.line, f"nested more than {MAX_DEPTH} levels below its county")
            )
    return problems


# -- importing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    units: list[OrgUnit]
    first_seq: int | None
    last_seq: int | None
    request_id: str


async def apply(import_plan: Plan, context: RequestContext) -> Imported:
    """Create the units, parents first, each with its audit event, in one transaction."""
    units = []
    for row in import_plan.rows:
        assert row.level is not None  # a plan holds valid rows only
        units.append(NewUnit(row.code, row.name, row.level, row.parent_code))
    try:
        created = await create_units(context, units)
    except DomainError as error:  # the plan checked all this: the database changed since
        raise CommandError(
            f"{error.code.value}: {error.message} The database changed during the import: "
            "nothing was imported"
        ) from None
    seqs = [done.audit_seq for done in created]
    return Imported(
        [done.unit for done in created],
        seqs[0] if seqs else None,
        seqs[-1] if seqs else None,
        context.request_id,
    )


async def import_org(data: bytes, *, encoding: str = "utf-8", dry_run: bool = False) -> Imported:
    """Check ``data`` whole, then import it (the database must be open). ``InvalidFile``
    lists every problem; nothing is written unless there are none."""
    rows, problems = parse(decode(data, encoding))
    try:
        checked = await plan(rows)
    except InvalidFile as invalid:
        problems.extend(invalid.problems)
    if problems:
        raise InvalidFile(problems)
    context = cli_context(PolicyEngine(), "import-org")
    if dry_run:
        return Imported([], None, None, context.request_id)
    return await apply(checked, context)


# -- the command ----------------------------------------------------------------------------


def read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {name}: {error.strerror or error}") from None


def cmd_import_org(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        data = read_input(args.file)
        async with opened(settings, migrate=not args.dry_run):
            try:
                done = await import_org(data, encoding=args.encoding, dry_run=args.dry_run)
            except InvalidFile as invalid:
                complain(f"{args.file}: {len(invalid.problems)} problem(s); nothing was imported")
                for problem in invalid.problems[:SHOWN_PROBLEMS]:
                    print(f"  {problem}", file=sys.stderr)
                if len(invalid.problems) > SHOWN_PROBLEMS:
                    print(f"  … and {len(invalid.problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
                return EXIT_UNUSABLE
        if args.dry_run:
            say(f"{args.file}: no problems found (dry run: nothing imported)")
        elif done.units:
            say(
                f"imported {len(done.units)} org unit(s) from {args.file} in one transaction; "
                f"audit events {done.first_seq}–{done.last_seq} (request {done.request_id})"
            )
        return EXIT_OK

    return run(work)


def _encoding(raw: str) -> str:
    try:
        return codecs.lookup(raw).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {raw!r}") from None


def register(commands: Any) -> None:
    command = commands.add_parser(
        "import-org",
        help="import an org tree from a CSV file (checked whole; all or nothing)",
        description="Import org units from a CSV file. The whole file is checked first and "
        "every problem is reported by line number; nothing is imported unless the file has "
        "none. Then every unit is created in one transaction, each with an org_unit.create "
        "audit event.",
        epilog=COLUMN_HELP,
        formatter_class=RawHelpFormatter,
    )
    command.add_argument("file", metavar="FILE.csv", help="the CSV file, or - for stdin")
    command.add_argument("--encoding", type=_encoding, default="utf-8", help="the file's encoding")
    command.add_argument(
        "--dry-run", action="store_true", help="check the file against the database only"
    )
    command.set_defaults(func=cmd_import_org)
