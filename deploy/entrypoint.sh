#!/bin/sh
# The container's entrypoint: wait for the database, apply migrations, then become the server.
#
#   entrypoint.sh                 migrate, then exec `riverchief serve` (the default)
#   entrypoint.sh COMMAND ARGS…   run `riverchief COMMAND ARGS…` instead, after the wait
#                                 (create-user, migrate, export-schema, …)
#
# The service reads its own settings (DATABASE_URL, RIVERCHIEF_SECRET, RIVERCHIEF_ENV, …) and
# refuses a configuration it must not start with, in its own words; this script only adds
# that production needs DATABASE_URL. These variables are read here, and only here:
#
#   RIVERCHIEF_HOST              address to listen on              (default 0.0.0.0)
#   RIVERCHIEF_PORT              port to listen on                 (default 8000)
#   RIVERCHIEF_WORKERS           server processes                  (default 2)
#   RIVERCHIEF_GRACEFUL_TIMEOUT  seconds a SIGTERM waits for requests in flight (default 30)
#   RIVERCHIEF_ACCESS_LOG        1 adds uvicorn's access line per request, beside the
#                                service's own request line (default 0)
#   RIVERCHIEF_DB_WAIT           seconds to wait for PostgreSQL to accept connections
#                                (default 60; 0 does not wait)
set -eu

say() { echo "entrypoint: $*" >&2; }

env_name=$(printf '%s' "${RIVERCHIEF_ENV:-development}" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]')
if [ "$env_name" = production ] && [ -z "${DATABASE_URL:-}" ]; then
    # The service itself would fall back to an SQLite file inside the container, which is
    # lost with the container: never what a production deployment means.
    say "DATABASE_URL must be set when RIVERCHIEF_ENV=production (e.g. postgres://user:password@db:5432/riverchief)"
    exit 2
fi

# Wait until the database accepts connections, for a bounded time. Settings the service
# refuses are left for `riverchief` to report below; SQLite needs no wait.
python - <<'PY'
import asyncio
import os
import sys
import time

from tortoise import Tortoise, connections

from core.db import tortoise_config
from core.settings import Settings, SettingsError

try:
    settings = Settings.from_env()
except SettingsError:
    sys.exit(0)  # riverchief reports it next, in its own words
try:
    limit = float(os.environ.get("RIVERCHIEF_DB_WAIT", "") or 60)
except ValueError:
    sys.exit("entrypoint: RIVERCHIEF_DB_WAIT must be a number of seconds")
postgres = settings.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))
if limit <= 0 or not postgres:
    sys.exit(0)


async def answers(url: str) -> None:
    try:
        await Tortoise.init(config=tortoise_config(url))
        await connections.get("default").execute_query("SELECT 1")
    finally:
        await Tortoise.close_connections()


deadline = time.monotonic() + limit
while True:
    try:
        asyncio.run(answers(settings.database_url))
        break
    except Exception as exc:  # refused, starting up, unknown host: all mean "not yet"
        if time.monotonic() >= deadline:
            sys.exit(
                f"entrypoint: the database did not accept connections within {limit:g} s:"
                f" {type(exc).__name__}: {exc}"
            )
        print(f"entrypoint: waiting for the database ({type(exc).__name__})", file=sys.stderr)
        time.sleep(1)
PY

if [ "$#" -gt 0 ]; then
    exec riverchief "$@"
fi

riverchief migrate

set -- serve \
    --host "${RIVERCHIEF_HOST:-0.0.0.0}" \
    --port "${RIVERCHIEF_PORT:-8000}" \
    --workers "${RIVERCHIEF_WORKERS:-2}" \
    --graceful-timeout "${RIVERCHIEF_GRACEFUL_TIMEOUT:-30}"
case "${RIVERCHIEF_ACCESS_LOG:-0}" in
    1 | true | yes | on) set -- "$@" --access-log ;;
esac
# exec: the server becomes this process, so the SIGTERM a container stop sends reaches it.
exec riverchief "$@"
