#!/usr/bin/env bash
# One-shot set-up of Superset, run by the `superset-init` service before the web server starts
# (again at every `docker compose up`; each step is idempotent):
#   1. Superset's metadata database to the current schema;
#   2. the admin account (password from SUPERSET_ADMIN_PASSWORD; people sign in through OIDC);
#   3. roles and permissions;
#   4. the dashboards as code from superset/ (database, datasets, charts, dashboards).
set -euo pipefail

: "${SUPERSET_ADMIN_USER:?is not set}"
: "${SUPERSET_ADMIN_PASSWORD:?is not set}"

echo "== superset db upgrade"
superset db upgrade

echo "== superset admin '${SUPERSET_ADMIN_USER}'"
superset fab create-admin \
    --username "$SUPERSET_ADMIN_USER" \
    --firstname Kontingent \
    --lastname Admin \
    --email "${SUPERSET_ADMIN_EMAIL:-admin@localhost}" \
    --password "$SUPERSET_ADMIN_PASSWORD"

echo "== superset init"
superset init

echo "== dashboards as code"
provision=/opt/kontingent/superset/provision.py
if [ -f "$provision" ]; then
    python "$provision"
else
    echo "no $provision in this image: dashboards not imported" >&2
fi
