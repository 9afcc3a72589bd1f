"""``riverchief``: serve, migrate, export the schema, create accounts, load benchmark data, and
the operator's commands (accounts, grants, org import, audit export and checks, policy check)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from app.db import apply_migrations, tortoise_config
from app.settings import Settings, SettingsError, ensure_sqlite_directory
from core.security import password_problem

log = logging.getLogger("riverchief")


async def prepare_database(settings: Settings, *, demo: bool = False) -> None:
    """Migrate, seed the role policy on first start, and load the demo if asked."""
    from policies.engine import PolicyEngine

    ensure_sqlite_directory(settings.database_url)
    await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        await PolicyEngine().seed_if_empty()
        if demo:
            from demo.loader import load_demo

            loaded = await load_demo()
            log.info("demo data %s", "loaded" if loaded else "already present: left as it is")
    finally:
        await Tortoise.close_connections()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.db import is_postgres
    from app.main import create_app

    if args.workers > 1 and not is_postgres(settings.database_url):
        print(
            "riverchief: several worker processes need PostgreSQL: on SQLite each process would"
            " keep its own copy of the policy, and a grant made through one would not reach"
            " the others. Run one process, or set DATABASE_URL to a PostgreSQL database.",
            file=sys.stderr,
        )
        return 2
    asyncio.run(prepare_database(settings, demo=args.demo))
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "access_log": args.access_log,
        # SIGTERM: stop accepting, let requests in flight finish, then close what is left
        # (open subscriptions) rather than wait on them for ever.
        "timeout_graceful_shutdown": args.graceful_timeout,
        # A WebSocket frame over the body limit is refused as it arrives (1009), unbuffered.
        "ws_max_size": settings.max_body_bytes,
    }
    if args.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    if settings.secret_generated:  # every worker must sign and check with the same secret
        os.environ["RIVERCHIEF_SECRET"] = settings.secret
    uvicorn.run("app.main:app_from_env", factory=True, workers=args.workers, **options)
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    asyncio.run(prepare_database(settings))
    print("database is up to date")
    return 0


def cmd_export_schema(_settings: Settings | None, args: argparse.Namespace) -> int:
    from schema.build import schema

    Path(args.output).write_text(schema.as_str() + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


async def create_user(settings: Settings, username: str, password: str) -> int:
    from core.security import hash_password
    from models.people import User

    await prepare_database(settings)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        if await User.exists(username=username):
            raise SystemExit(f"a user named {username!r} already exists")
        user = await User.create(username=username, password_hash=hash_password(password))
        return int(user.id)
    finally:
        await Tortoise.close_connections()


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    problem = password_problem(password, args.username)
    if problem is not None:
        print(f"riverchief: {problem}", file=sys.stderr)
        return 2
    user_id = asyncio.run(create_user(settings, args.username, password))
    print(f"created user {args.username} (id {user_id})")
    return 0


def cmd_bench_data(settings: Settings, args: argparse.Namespace) -> int:
    from bench.data import BenchDataError, build_bench_data

    try:
        summary = asyncio.run(
            build_bench_data(settings.database_url, args.tasks, seed=args.seed, grants=args.grants)
        )
    except BenchDataError as exc:
        print(f"riverchief: {exc}", file=sys.stderr)
        return 2
    print(summary.report())
    return 0


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} is not positive")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="riverchief", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (migrating the database first)")
    serve.add_argument(
        "--demo", action="store_true", help="load the demo data into an empty database"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (each a full server)"
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="leave out uvicorn's line per request",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=_positive_int,
        default=30,
        help="seconds a SIGTERM waits for requests in flight before closing (default 30)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply pending schema migrations")
    migrate.set_defaults(func=cmd_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    export.set_defaults(func=cmd_export_schema, no_settings=True)

    create = commands.add_parser("create-user", help="create a login account")
    create.add_argument("username")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    create.set_defaults(func=cmd_create_user)

    bench = commands.add_parser(
        "bench-data",
        help="load the seeded benchmark dataset into an empty database",
        description="Load a deterministic benchmark dataset into an empty DATABASE_URL: one "
        "county per 200,000 tasks, with records, observations, accounts, grants and the "
        "hash-chained audit trail. The benchmark accounts (bench_county, bench_township, "
        "bench_village, bench_grid, bench_inspector, bench_department) log in with "
        "the password bench-pass.",
    )
    bench.add_argument("--tasks", type=_positive_int, required=True, help="how many tasks")
    bench.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
    bench.add_argument(
        "--grants",
        type=_positive_int,
        default=None,
        help="how many role grants in all (default: one per unit head and inspector)",
    )
    bench.set_defaults(func=cmd_bench_data)

    # The operator's commands (docs/operations.md), each in a module of its own.
    from app import audit_export, cli_operator, org_import, policy_check

    for module in (cli_operator, org_import, audit_export, policy_check):
        module.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser().parse_args(argv)
    try:
        settings = None if getattr(args, "no_settings", False) else Settings.from_env()
    except SettingsError as exc:
        print(f"riverchief: {exc}", file=sys.stderr)
        return 2
    if settings is not None:  # the command's own lines in the configured format, too
        from app.logs import configure

        configure(settings.log_format)
    return int(args.func(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
