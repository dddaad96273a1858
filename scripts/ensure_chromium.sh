#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser). In CI it is installed here
# when missing; elsewhere the browser tests skip with a printed reason if it is absent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "${CI:-}" = "true" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Note: /usr/bin/chromium is missing; browser tests will be skipped (apt-get install chromium)."
fi
