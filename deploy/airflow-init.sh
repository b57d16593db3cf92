#!/usr/bin/env bash
# One-shot set-up of the pipeline, run by the `airflow-init` service before the Airflow
# components start (again at every `docker compose up`; each step is idempotent):
#   1. Airflow's metadata database to the current schema;
#   2. the sign-in of the Airflow admin (password from AIRFLOW_ADMIN_PASSWORD);
#   3. the warehouse's schemas, privileges and stage tables (kontingent/db.py).
set -euo pipefail

: "${AIRFLOW_ADMIN_USER:?is not set}"
: "${AIRFLOW_ADMIN_PASSWORD:?is not set}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?is not set}"

echo "== airflow db migrate"
airflow db migrate

echo "== airflow admin sign-in for '${AIRFLOW_ADMIN_USER}'"
umask 077
python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
users = {os.environ["AIRFLOW_ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}
tmp = path.with_suffix(".tmp")
tmp.write_text(json.dumps(users) + "\n")
tmp.replace(path)
PY

echo "== warehouse schemas, privileges and stage tables"
python - <<'PY'
import psycopg

from kontingent.db import prepare_warehouse, redact
from kontingent.settings import get_settings

url = get_settings().warehouse_url
with psycopg.connect(url) as conn:
    prepare_warehouse(conn)
print(f"prepared {redact(url)}")
PY
