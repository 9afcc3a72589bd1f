"""What the operator commands share: the database migrated, or opened and closed around the
work, a request context for the account a command acts as, and failures told in one clear
line.

Exit codes, the same for every command (``reported`` gives them): 0 done (or clean), 1
refused, or a check found problems, 2 the command could not run (bad arguments or input,
configuration, a ``DATABASE_URL`` it cannot use, the database unreachable or not migrated:
``ops.failures`` says which, in one line), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from core.context import RequestContext, Viewer
from core.db import apply_migrations, check_sqlite_opens, tortoise_config
from core.settings import Settings, ensure_sqlite_directory
from ops.failures import explain, url_problem
from policies.engine import PolicyEngine
from resolvers.role_policy import seed_role_policy

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130

# Libraries that narrate their start-up at INFO: an operator wants the command's answer.
CHATTY_LOGGERS = ("casbin", "casbin.policy", "casbin.role", "tortoise")


class CommandError(Exception):
    """A problem the operator can act on: one line on stderr, and the exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_UNUSABLE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def new_request_id(command: str) -> str:
    """``cli-<command>-<random>``: the audit events of one command run share it, and it says
    they came from the operator CLI rather than an HTTP request."""
    return f"cli-{command}-{uuid.uuid4().hex[:16]}"


def cli_context(engine: PolicyEngine, command: str, viewer: Viewer | None = None) -> RequestContext:
    """A request context for one command run. The CLI never issues tokens: no secret."""
    return RequestContext(
        viewer=viewer,
        policy=engine,
        request_id=new_request_id(command),
        client_address="cli",
    )


def sqlite_file(database_url: str) -> Path | None:
    prefix = "sqlite://"
    if not database_url.startswith(prefix) or ":memory:" in database_url:
        return None
    return Path(database_url[len(prefix) :].split("?", 1)[0]).expanduser()


async def prepare_database(settings: Settings, *, seed: bool = True) -> None:
    """Bring the schema up to date, and seed the role policy on first start (an audit event
    records it) unless the caller seeds it (the demo, at the start of its past)."""
    check_database_url(settings.database_url)
    ensure_sqlite_directory(settings.database_url)
    await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        if seed:
            await seed_role_policy()
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def opened(settings: Settings, *, migrate: bool = False) -> AsyncIterator[None]:
    """The database, for the length of a command.

    ``migrate`` brings the schema up to date first (and seeds the role policy), as
    ``create-user`` does; otherwise a missing SQLite file is refused rather than created.
    """
    if migrate:
        await prepare_database(settings)
    else:
        check_database_url(settings.database_url)
        path = sqlite_file(settings.database_url)
        if path is not None and not path.exists():
            raise CommandError(
                f"no database at {path}: check DATABASE_URL, or run `riverchief migrate`"
            )
        check_sqlite_opens(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


def check_database_url(database_url: str) -> None:
    """Refuse an address no connection could come of, before trying one."""
    problem = url_problem(database_url)
    if problem is not None:
        raise CommandError(problem)


def positive_int(raw: str) -> int:
    """An argument type: a whole number above zero."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} is not positive")
    return value


def quiet_libraries() -> None:
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def say(message: str) -> None:
    print(message, flush=True)


def complain(message: str) -> None:
    print(f"riverchief: {message}", file=sys.stderr, flush=True)


def reported(command: Callable[[], int], database_url: str | None) -> int:
    """Run a command; a ``CommandError``, an interruption or a failure to use the database
    (``ops.failures``) becomes one line on stderr and its exit code, never a traceback.
    Anything else is a fault of ours and keeps its traceback."""
    try:
        return command()
    except CommandError as error:
        complain(error.message)
        return error.exit_code
    except KeyboardInterrupt:
        complain("interrupted: nothing was committed that had not finished")
        return EXIT_INTERRUPTED
    except Exception as error:
        line = explain(error, database_url)
        if line is None:
            raise
        complain(line)
        return EXIT_UNUSABLE


def run(work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command's coroutine, without the libraries' start-up chatter. What stops it
    reaches ``reported`` (``app.cli.main``), which says it in one line."""
    quiet_libraries()
    return asyncio.run(work())
