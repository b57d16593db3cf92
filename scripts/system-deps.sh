#!/usr/bin/env bash
# Debian packages the project needs on a fresh machine. As root they are installed; otherwise
# the script names what is missing and stops.
set -euo pipefail

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
# the dashboards' browser tests drive Debian's Chromium (never a downloaded browser)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "== installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# the package may start a system cluster on 5432; the project runs its own on another port
service postgresql stop >/dev/null 2>&1 || true
