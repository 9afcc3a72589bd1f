#!/usr/bin/env bash
# The client check (README, "A client in CI"): `riverchief serve --demo` on a temporary
# SQLite database, graphql-codegen over schema.graphql and docs/queries, tsc over the
# generated code and the client, then the client against the server. Any failure fails it.
#
#   npm ci --prefix clients && clients/run.sh
#
# RIVERCHIEF (default: riverchief on PATH) is the command that serves; PORT a free port
# (default: one the system picks).
set -euo pipefail
cd "$(dirname "$0")"

RIVERCHIEF="${RIVERCHIEF:-riverchief}"
PORT="${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
SERVER=""

stop() {
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
        kill -TERM "$SERVER" && wait "$SERVER" || true
    fi
    rm -rf "$WORK"
}
trap stop EXIT

if [ ! -d node_modules ]; then
    echo "clients/node_modules is missing: run npm ci --prefix clients" >&2
    exit 2
fi

# The demo takes a while to load: the server starts first, the code is generated meanwhile.
echo "== riverchief serve --demo on $BASE (log: $WORK/server.log)"
(cd "$WORK" && DATABASE_URL="sqlite://$WORK/demo.sqlite3" RIVERCHIEF_ENV=development \
    exec "$RIVERCHIEF" serve --demo --host 127.0.0.1 --port "$PORT") >"$WORK/server.log" 2>&1 &
SERVER=$!

echo "== graphql-codegen: schema.graphql and docs/queries"
rm -rf src/generated dist
npx --no-install graphql-codegen --config codegen.yml
echo "== tsc"
npx --no-install tsc -p tsconfig.json

echo "== waiting for $BASE/readyz"
for _ in $(seq 240); do
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "the server exited:" >&2; cat "$WORK/server.log" >&2; exit 1
    fi
    if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "not ready in 120 s:" >&2; cat "$WORK/server.log" >&2; exit 1; }

echo "== the client"
if ! RIVERCHIEF_URL="$BASE" node dist/main.js; then
    echo "-- the server's log:" >&2; tail -n 40 "$WORK/server.log" >&2; exit 1
fi
