#!/usr/bin/env bash
# `make run`: migrate, start the sandbox with two demo bots, "Website" and "WhatsApp" (unless a
# real BotPenguin token is set), sync, create the demo logins (a team per bot), then run the
# worker and the dashboard until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var

# A local, interactive run: debug pages on, a development secret key unless one is set.
export DEBUG="${DEBUG:-true}"
export PYTHONUNBUFFERED=1

# The bots' API tokens are encrypted at rest with this key: generate one once, keep it in .env.
if [ -z "${BOTPANEL_ENCRYPTION_KEY:-}" ] && ! { [ -f .env ] && grep -Eq '^[[:space:]]*BOTPANEL_ENCRYPTION_KEY=[^[:space:]]+' .env; }; then
  key=$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
  touch .env && chmod 600 .env
  printf '\n# Encrypts the bots'"'"' API tokens (keep it: without it stored tokens are unreadable).\nBOTPANEL_ENCRYPTION_KEY=%s\n' "$key" >> .env
  echo "Generated BOTPANEL_ENCRYPTION_KEY into .env."
fi

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
  # The environment's bot is the "Website" one; the sandbox serves a second, "WhatsApp", on the
  # same port with its own token and IDs, added below with addbot.
  export BOTPENGUIN_BOT_NAME="Website"
  whatsapp_token="whatsapp-sandbox-token"
  $PY manage.py botpenguin_sandbox --port "$SANDBOX_PORT" --chats "${SANDBOX_CHATS:-2000}" \
    --page-size 20 --state-file var/sandbox-state.json \
    --bot "${whatsapp_token}:whatsapp-bot:whatsapp-customer:${SANDBOX_CHATS_WHATSAPP:-600}" &
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
  # The token goes through standard input, never an argument (nor this shell's environment).
  printf '%s\n' "$whatsapp_token" | env -u BOTPENGUIN_API_TOKEN $PY manage.py addbot WhatsApp \
    --bot-id whatsapp-bot --customer-id whatsapp-customer --api-url "$BOTPENGUIN_API_URL"
else
  echo "Using the BotPenguin account from the environment / .env (no sandbox)."
fi

$PY manage.py sync_leads --no-progress || echo "A first sync failed; the dashboard still starts (see the last sync on the page)."
$PY manage.py demo_user

$PY manage.py db_worker --no-reload -v 0 &
pids+=($!)
# Incremental sync every SYNC_EVERY_MINUTES (default 5), delivery sweeps and worker heartbeats.
$PY manage.py run_scheduler &
pids+=($!)

echo
echo "BotPanel: http://127.0.0.1:${BOTPANEL_PORT:-8000}/  (Ctrl-C stops the dashboard, worker and sandbox)"
$PY manage.py runserver "127.0.0.1:${BOTPANEL_PORT:-8000}" --noreload
