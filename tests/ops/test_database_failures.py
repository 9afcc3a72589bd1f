"""Every command that uses the database, run as an operator runs it, on a ``DATABASE_URL`` it
cannot use: one line on stderr, exit status 2, no traceback, nothing created.

The matrix is every such command (``serve``, ``migrate``, ``create-user``, the operator's
commands and ``bench-data``) against each way the database can be out of reach: the server
down, a scheme nobody knows, a database riverchief does not run on (whose driver is not
installed either), a PostgreSQL database that does not exist, an SQLite file that cannot be
created. A test below checks that the matrix leaves out no command of the parser.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import parser
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.operator_cli import REPO, SECRET, environment
from tests.servers import free_port

PASSWORD = "Chishui-river-2026\n"
SUPPORTED = "use sqlite://FILE or postgres://USER@HOST:PORT/DATABASE"


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    migrates: bool = False  # creates (and migrates) a missing SQLite file, as serve does
    stdin: str = ""
    env: tuple[tuple[str, str], ...] = ()  # what the command needs besides the database


CSV = "units.csv"  # written in the command's working folder


def commands(port: int = 8000) -> dict[str, Command]:
    """Each command that uses the database, with arguments that would otherwise run."""
    span = ("--from", "2026-01-01T00:00:00Z", "--to", "2026-02-01T00:00:00Z")
    return {
        "serve": Command(("serve", "--port", str(port)), migrates=True),
        "migrate": Command(("migrate",), migrates=True),
        "create-user": Command(
            ("create-user", "operator", "--password-stdin"), migrates=True, stdin=PASSWORD
        ),
        "deactivate-user": Command(("deactivate-user", "operator")),
        "bootstrap-admin": Command(("bootstrap-admin", "operator", "wx")),
        "grant": Command(("grant", "alice", "township_head", "zx", "--as", "admin")),
        "revoke": Command(("revoke", "alice", "township_head", "zx", "--as", "admin")),
        "import-org": Command(("import-org", CSV), migrates=True),
        "verify-audit": Command(("verify-audit",)),
        "export-audit": Command(("export-audit", "--log", "installation", *span)),
        "policy": Command(("policy", "check")),
        "counters": Command(("counters", "check")),
        "escalate-due": Command(("escalate-due",)),
        "notify-due": Command(("notify-due",)),
        "deliver-notifications": Command(
            ("deliver-notifications", "--once"),
            env=(("RIVERCHIEF_NOTIFY_WEBHOOK", f"http://127.0.0.1:{port}/hook"),),
        ),
        "bench-data": Command(("bench-data", "--tasks", "10"), migrates=True),
    }


# Commands that never open a database.
WITHOUT_DATABASE = {"export-schema", "verify-export", "verify-proof"}
USING_DATABASE = sorted(commands())


def subcommands() -> set[str]:
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_the_matrix_covers_every_command_of_the_parser() -> None:
    assert subcommands() == set(USING_DATABASE) | WITHOUT_DATABASE


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


async def riverchief(database_url: str, name: str, workdir: Path) -> Run:
    """``riverchief`` running command ``name`` in ``workdir`` (which gets the CSV file)."""
    await asyncio.to_thread(
        (workdir / CSV).write_text, "code,name,level,parent_code\nwx,威信县,COUNTY,\n", "utf-8"
    )
    command = commands(free_port())[name]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *command.args,
        cwd=workdir,
        env={**environment(database_url, SECRET), "PYTHONPATH": str(REPO), **dict(command.env)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(command.stdin.encode()), timeout=120)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def assert_one_line(run: Run, expected: str) -> None:
    """Exit status 2, and stderr is exactly one line, ours, saying ``expected``."""
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert run.status == 2, run
    assert len(lines) == 1, run.err
    assert lines[0].startswith("riverchief: "), run.err
    assert expected in lines[0], run.err
    assert "Traceback" not in run.err + run.out


@pytest.mark.parametrize("name", USING_DATABASE)
async def test_a_server_that_is_down(name: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgres://postgres:hunter2-secret@127.0.0.1:{port}/riverchief"

    run = await riverchief(url, name, tmp_path)

    assert_one_line(run, f"cannot reach the database at postgres://postgres@127.0.0.1:{port}/")
    assert "ConnectionRefusedError" in run.err
    assert "hunter2-secret" not in run.err + run.out


@pytest.mark.parametrize("name", USING_DATABASE)
async def test_an_unknown_scheme(name: str, tmp_path: Path) -> None:
    run = await riverchief("foo://somewhere/riverchief", name, tmp_path)

    assert_one_line(run, f"DATABASE_URL has foo://, which riverchief does not know: {SUPPORTED}")
    assert sorted(p.name for p in await asyncio.to_thread(tmp_path.iterdir)) == ["units.csv"]


@pytest.mark.parametrize("name", USING_DATABASE)
async def test_a_database_riverchief_does_not_run_on(name: str, tmp_path: Path) -> None:
    """``mysql://``: Tortoise knows the scheme, but its driver (aiomysql) is not installed, and
    riverchief runs on SQLite and PostgreSQL only: that is what the line says."""
    url = "mysql://root@127.0.0.1:3306/riverchief"

    run = await riverchief(url, name, tmp_path)

    assert_one_line(
        run, "DATABASE_URL names a mysql:// database: riverchief runs on SQLite and PostgreSQL"
    )


@pytest.mark.skipif(not ON_POSTGRES, reason="needs a PostgreSQL server to ask for the database")
@pytest.mark.parametrize("name", USING_DATABASE)
async def test_a_missing_postgres_database(name: str, tmp_path: Path) -> None:
    missing = f"rc_missing_{uuid.uuid4().hex[:12]}"
    url = f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{missing}"

    run = await riverchief(url, name, tmp_path)

    assert_one_line(run, f"the database '{missing}' does not exist on ")
    assert f"create it (createdb {missing}) or correct DATABASE_URL" in run.err


def unwritable_paths(tmp_path: Path) -> dict[str, Path]:
    """SQLite files that cannot be created, even by root: under a file, and in /proc."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file, not a folder")
    return {
        "under a file": blocker / "riverchief.sqlite3",
        "in /proc": Path("/proc/riverchief-test.sqlite3"),
    }


# The ways of reaching SQLite: migrating it (serve, migrate, create-user), opening it (the
# operator's commands), and bench-data's own writer.
SQLITE_SAMPLE = ["serve", "migrate", "create-user", "verify-audit", "import-org", "bench-data"]


@pytest.mark.parametrize("name", USING_DATABASE)
async def test_an_sqlite_file_under_a_file(name: str, tmp_path: Path) -> None:
    await assert_cannot_create(name, unwritable_paths(tmp_path)["under a file"], tmp_path)


@pytest.mark.parametrize("name", SQLITE_SAMPLE)
async def test_an_sqlite_file_in_proc(name: str, tmp_path: Path) -> None:
    await assert_cannot_create(name, unwritable_paths(tmp_path)["in /proc"], tmp_path)


async def assert_cannot_create(name: str, database: Path, tmp_path: Path) -> None:
    run = await riverchief(f"sqlite://{database}", name, tmp_path)

    if commands()[name].migrates:
        assert_one_line(run, f"cannot open the SQLite database {database} (")
    else:  # the operator's commands never create a database: they say there is none
        assert_one_line(run, f"no database at {database}: check DATABASE_URL")
    assert not await asyncio.to_thread(database.exists)


@pytest.mark.parametrize("name", SQLITE_SAMPLE)
async def test_an_sqlite_path_that_is_a_folder(name: str, tmp_path: Path) -> None:
    run = await riverchief(f"sqlite://{tmp_path}", name, tmp_path)

    assert_one_line(
        run, f"cannot open the SQLite database {tmp_path} (unable to open database file)"
    )
