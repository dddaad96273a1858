#!/usr/bin/env bash
# `make run`: migrate, start the sandbox with demo data (unless a real BotPenguin token is set),
# sync, create the demo login, then run the worker and the dashboard until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var

# A local, interactive run: debug pages on, a development secret key unless one is set.
export DEBUG="${DEBUG:-true}"
export PYTHONUNBUFFERED=1

token_set=""
if [ -n "${BOTPENGUIN_API_TOKEN:-}" ]; then token_set=1
elif [ -f .env ] && grep -Eq '^[[:space:]]*BOTPENGUIN_API_TOKEN=[^[:space:]]+' .env; then token_set=1; fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

$PY manage.py migrate --noinput -v 0

if [ -z "$token_set" ]; then
  SANDBOX_PORT="${SANDBOX_PORT:-8765}"
  export BOTPENGUIN_API_URL="http://127.0.0.1:${SANDBOX_PORT}"
  export BOTPENGUIN_API_TOKEN="sandbox-token"
  export BOTPENGUIN_BOT_ID="sandbox-bot"
  export BOTPENGUIN_CUSTOMER_ID="sandbox-customer"
  $PY manage.py botpenguin_sandbox --port "$SANDBOX_PORT" --chats "${SANDBOX_CHATS:-2000}" \
    --page-size 20 --state-file var/sandbox-state.json &
  pids+=($!)
  $PY - "$SANDBOX_PORT" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        break
    except OSError:
        time.sleep(0.1)
PY
else
  echo "Using the BotPenguin account from the environment / .env (no sandbox)."
fi

$PY manage.py sync_leads || echo "The first sync failed; the dashboard still starts (see the last sync on the page)."
$PY manage.py demo_user

$PY manage.py db_worker --no-reload -v 0 &
pids+=($!)
# Incremental sync every SYNC_EVERY_MINUTES (default 5), delivery sweeps and worker heartbeats.
$PY manage.py run_scheduler &
pids+=($!)

echo
echo "BotPanel: http://127.0.0.1:8000/  (Ctrl-C stops the dashboard, worker and sandbox)"
$PY manage.py runserver 127.0.0.1:8000 --noreload
