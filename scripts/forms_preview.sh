#!/usr/bin/env bash
# `make forms-preview`: each form of the region rendered to PNG (LibreOffice headless, then
# pdftoppm) into .local/forms-preview/. Installs the two Debian packages it needs when running
# as root (otherwise names them and stops), then runs scripts/forms_preview.py with the arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages: ${missing[*]}" >&2
        echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "== installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

exec .venv/bin/python scripts/forms_preview.py "$@"
