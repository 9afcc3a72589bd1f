"""``riverchief``, the composition root of the command line: ``serve``, ``migrate`` and
``export-schema`` are here; the operator's commands come from the modules of ``ops/``, and
commands of other installed parts (``bench-data``) through the ``riverchief.commands``
entry points."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from app.logs import configure as configure_logs
from core.db import is_postgres
from core.settings import Settings, SettingsError
from core.time_limits import TimeLimitError, configured
from ops import (
    accounts,
    audit_export,
    audit_proof,
    counters,
    escalate_due,
    org_import,
    policy_check,
    runtime,
)
from ops import notify as notify_jobs
from ops.help_text import CommandParser
from ops.runtime import CommandError, positive_int
from resolvers.role_policy import seed_role_policy

log = logging.getLogger("riverchief")

DESCRIPTION = (
    "riverchief: serve, migrate, export the schema, create accounts, load benchmark data, and "
    "the operator's commands (accounts, grants, org import, audit export and checks, policy "
    "check, counters). Settings come from the environment (DATABASE_URL, RIVERCHIEF_SECRET, "
    "…: see the README); `riverchief COMMAND --help` describes each command."
)
EXIT_STATUS = (
    "Exit status: 0 done; 1 refused, or a check found problems; 2 the command could not run "
    "(bad arguments, settings, a DATABASE_URL it cannot use, the database unreachable or not "
    "migrated), said in one line on stderr; 130 interrupted."
)

# Each module's ``register(subparsers)`` adds its commands (docs/operations.md).
OPERATOR_COMMANDS = (
    accounts,
    org_import,
    audit_export,
    audit_proof,
    policy_check,
    counters,
    escalate_due,
)
# Other installed parts add theirs through this entry-point group: each entry point names a
# ``register(subparsers)`` function, e.g. ``bench-data = "bench.cli:register"``.
COMMAND_ENTRY_POINTS = "riverchief.commands"


async def prepare_database(settings: Settings, *, demo: bool = False) -> None:
    """Migrate, seed the role policy on first start, and load the demo if asked."""
    # The demo seeds the role policy itself, at the start of its past.
    await runtime.prepare_database(settings, seed=not demo)
    if demo:
        from demo.loader import load_demo

        async with runtime.opened(settings):
            loaded = await load_demo()
            await seed_role_policy()  # a database that was not the demo's: as on any start
        log.info("demo data %s", "loaded" if loaded else "already present: left as it is")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import ESCALATE_EVERY_ENV, SERVE_DELIVER, create_app

    if args.workers > 1 and not is_postgres(settings.database_url):
        print(
            "riverchief: several worker processes need PostgreSQL: on SQLite each process would"
            " keep its own copy of the policy, and a grant made through one would not reach"
            " the others. Run one process, or set DATABASE_URL to a PostgreSQL database.",
            file=sys.stderr,
        )
        return 2
    deliver = notify_jobs.notify_settings() if args.deliver else None
    if deliver is not None and deliver.webhook is None:
        print("riverchief: --deliver needs RIVERCHIEF_NOTIFY_WEBHOOK", file=sys.stderr)
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
        # The app takes the client's address itself (app/client_address.py): uvicorn would
        # otherwise believe X-Forwarded-For from 127.0.0.1 without being asked to.
        "proxy_headers": False,
        # A WebSocket frame over the body limit is refused as it arrives (1009), unbuffered.
        "ws_max_size": settings.max_body_bytes,
    }
    try:
        configured()  # a bad RIVERCHIEF_TIME_LIMITS stops the start, not the first report
    except TimeLimitError as error:
        raise CommandError(str(error)) from None
    if args.workers == 1:
        app = create_app(
            settings, escalate_every=args.escalate_every, deliver=deliver, freeze_heap=True
        )
        uvicorn.run(app, **options)
        return 0
    if args.escalate_every:
        os.environ[ESCALATE_EVERY_ENV] = str(args.escalate_every)
    if deliver is not None:  # each worker process delivers too (docs/notifications.md)
        os.environ[SERVE_DELIVER] = "1"
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

    sdl = schema.as_str() + "\n"
    if args.output is None:
        sys.stdout.write(sdl)
        return 0
    try:
        Path(args.output).write_text(sdl, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(f"wrote {args.output}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = CommandParser(prog="riverchief", description=DESCRIPTION, epilog=EXIT_STATUS)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the service (migrating the database first)",
        description="Migrate the database on DATABASE_URL (seeding the role policy on first "
        "start), then serve GraphQL on http://HOST:PORT/graphql with /healthz, /readyz and "
        "/metrics. Each request is logged once, by the service's own request line "
        "(docs/observability.md). On SIGTERM it stops accepting connections and lets "
        "requests in flight finish.",
        epilog=EXIT_STATUS,
    )
    serve.add_argument(
        "--demo", action="store_true", help="load the demo data into an empty database"
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on")
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes, each a full server (more than one needs PostgreSQL)",
    )
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also write uvicorn's access line for each request, beside the service's own "
        "request line (default: off)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=positive_int,
        default=30,
        metavar="SECONDS",
        help="how long a SIGTERM waits for requests in flight before closing what is left",
    )
    serve.add_argument(
        "--escalate-every",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="also run `escalate-due` every SECONDS in the background (safe in every worker "
        "and beside cron runs: each overdue stage is escalated once)",
    )
    serve.add_argument(
        "--deliver",
        action="store_true",
        help="also deliver notifications to RIVERCHIEF_NOTIFY_WEBHOOK from this process, as "
        "`riverchief deliver-notifications` does (docs/notifications.md)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser(
        "migrate",
        help="apply pending schema migrations",
        description="Bring the database on DATABASE_URL up to the latest schema migration "
        "and seed the role policy on first start; `serve` does this too. Safe to run from "
        "several processes at once on PostgreSQL (one migrates, the others wait).",
        epilog=EXIT_STATUS,
    )
    migrate.set_defaults(func=cmd_migrate)

    export = commands.add_parser(
        "export-schema",
        help="print the GraphQL schema (SDL)",
        description="Print the service's GraphQL schema as SDL, as schema.graphql holds it. "
        "Needs no database.",
        epilog=EXIT_STATUS,
    )
    export.add_argument(
        "--output", metavar="FILE", help="write the SDL to FILE (default: standard output)"
    )
    export.set_defaults(func=cmd_export_schema, no_settings=True)

    for module in OPERATOR_COMMANDS:
        module.register(commands)
    notify_jobs.register(commands)  # notify-due, deliver-notifications
    for entry_point in sorted(entry_points(group=COMMAND_ENTRY_POINTS), key=lambda e: e.name):
        try:
            register = entry_point.load()
        except ImportError as error:  # a part installed without what it needs: the rest works
            log.warning("command %s is unavailable: %s", entry_point.name, error)
            continue
        register(commands)
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
        configure_logs(settings.log_format)
    database_url = settings.database_url if settings is not None else None
    return runtime.reported(lambda: int(args.func(settings, args)), database_url)


if __name__ == "__main__":
    raise SystemExit(main())
