"""Why a command could not use its database, said in one line the operator can act on.

Every ``riverchief`` command runs through ``ops.runtime.reported``, which asks ``explain``
about whatever stopped it: a ``DATABASE_URL`` riverchief cannot use (an unknown scheme, a
database it does not run on, a driver that is not installed, a malformed address), a server
that does not answer, a PostgreSQL database that does not exist or refuses the login, an
SQLite file that cannot be created or written. Each becomes one line and exit status 2; what
``explain`` does not recognise is a fault of ours and keeps its traceback.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import BaseORMException, ConfigurationError

from core.db import is_postgres
from core.errors import database_unavailable

SUPPORTED = "sqlite://FILE or postgres://USER@HOST:PORT/DATABASE"
SCHEMES = frozenset({"sqlite", "postgres", "postgresql", "asyncpg"})
# Drivers Tortoise imports for the schemes it knows: one missing means the scheme's driver.
DRIVERS = frozenset(
    {"aiomysql", "asyncmy", "psycopg", "psycopg_pool", "asyncodbc", "pyodbc", "oracledb"}
)
REFUSED_LOGIN = (
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
)
CAUSES_FOLLOWED = 10


def where(database_url: str) -> str:
    """The database an address names, without its password or options: what a message may
    show of ``DATABASE_URL``."""
    sqlite = sqlite_path(database_url)
    if sqlite is not None:
        return sqlite
    try:
        parts = urlsplit(database_url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{database_url.partition('://')[0]}://…"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def sqlite_path(database_url: str) -> str | None:
    prefix = "sqlite://"
    if not database_url.startswith(prefix):
        return None
    return database_url[len(prefix) :].split("?", 1)[0] or None


def url_problem(database_url: str) -> str | None:
    """What is wrong with ``database_url`` before anything connects, or None."""
    scheme = database_url.partition("://")[0] if "://" in database_url else ""
    try:
        expand_db_url(database_url)
    except ConfigurationError as error:
        if str(error).startswith("Unknown DB scheme"):
            return unknown_scheme(scheme)
        return f"DATABASE_URL is not a database address ({error}): use {SUPPORTED}"
    except (ValueError, KeyError, TypeError) as error:
        return f"DATABASE_URL is not a database address ({error}): use {SUPPORTED}"
    if scheme not in SCHEMES:
        return (
            f"DATABASE_URL names a {scheme}:// database: riverchief runs on SQLite and "
            f"PostgreSQL only ({SUPPORTED})"
        )
    return None


def unknown_scheme(scheme: str) -> str:
    named = f"{scheme}://" if scheme else "no scheme"
    return f"DATABASE_URL has {named}, which riverchief does not know: use {SUPPORTED}"


def explain(error: BaseException, database_url: str | None) -> str | None:
    """One line for a failure to use the database, or None for anything else."""
    url = database_url or ""
    chain = list(_causes(error))
    for cause in chain:
        line = _specific(cause, url)
        if line is not None:
            return line
    if url and sqlite_path(url) is not None and any(_sqlite_cannot_open(c) for c in chain):
        return _sqlite_unusable(url, chain)
    if database_unavailable(error):
        return f"cannot reach the database at {where(url)} ({_said(error)})"
    if isinstance(error, BaseORMException):
        return (
            f"database error ({_said(error)}); if the schema is out of date, run "
            "`riverchief migrate`"
        )
    return None


def _specific(cause: BaseException, url: str) -> str | None:
    if isinstance(cause, ConfigurationError) and str(cause).startswith("Unknown DB scheme"):
        return unknown_scheme(url.partition("://")[0] if "://" in url else "")
    if isinstance(cause, ModuleNotFoundError) and (cause.name or "").split(".")[0] in DRIVERS:
        scheme = url.partition("://")[0]
        return (
            f"the driver for DATABASE_URL's {scheme}:// is not installed ({cause}); riverchief "
            f"runs on SQLite and PostgreSQL ({SUPPORTED})"
        )
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        name = urlsplit(url).path.lstrip("/") if is_postgres(url) else ""
        return (
            f"the database {name!r} does not exist on {_server(url)}: create it "
            f"(createdb {name}) or correct DATABASE_URL"
        )
    if isinstance(cause, REFUSED_LOGIN):
        return f"the database at {where(url)} refused the login ({_said(cause)})"
    return None


def _sqlite_cannot_open(error: BaseException) -> bool:
    if isinstance(error, PermissionError | IsADirectoryError | NotADirectoryError):
        return True
    if isinstance(error, FileNotFoundError | FileExistsError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        return "unable to open" in text or "readonly" in text or "read-only" in text
    return False


def _sqlite_unusable(url: str, chain: list[BaseException]) -> str:
    cause = next(c for c in chain if _sqlite_cannot_open(c))
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
    if isinstance(cause, FileExistsError | NotADirectoryError) and cause.filename:
        reason = f"{cause.filename} is a file, not a folder"
    return (
        f"cannot open the SQLite database {sqlite_path(url)} ({reason}): check that its "
        "folder exists or can be created, and that the file and folder are writable"
    )


def _server(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    except ValueError:
        return "the server"


def _said(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(seen) < CAUSES_FOLLOWED and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
