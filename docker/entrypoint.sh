#!/bin/sh
# Container entry point: refuse an unwritable data volume, then run the app (or an agent-app command).
set -eu

PY="${AGENT_APP_PYTHON:-python}"
DATA="${AGENT_APP_DATA_DIR:-/data}"
export AGENT_APP_DATA_DIR="$DATA"

mkdir -p "$DATA" 2>/dev/null || true
probe="$DATA/.write-probe.$$"
if ! (: >"$probe") 2>/dev/null; then
    echo "agent-app: the data directory $DATA is not writable by uid $(id -u)." >&2
    echo "Mount a volume there that this user owns (see docs/deploy.md)." >&2
    exit 73
fi
rm -f "$probe"

# `docker compose run app users add alice --admin` and friends: any other agent-app command.
if [ "$#" -gt 0 ] && [ "$1" != "ui" ]; then
    exec "$PY" -m agent_app.cli.main "$@"
fi
[ "$#" -gt 0 ] && shift

# agent-app ui refuses a public address without sign-in when a provider key is set.
exec "$PY" -m agent_app.cli.main ui --address "${AGENT_APP_ADDRESS:-0.0.0.0}" \
    --port "${AGENT_APP_PORT:-8501}" "$@"
