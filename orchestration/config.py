"""Orchestration settings: every value comes from the environment, with a documented default
(the table is in docs/orchestration.md).

- `KONTINGENT_WAREHOUSE_CONN_ID` (`kontingent_warehouse`): the Airflow connection of the
  warehouse, e.g. from `AIRFLOW_CONN_KONTINGENT_WAREHOUSE`;
- `KONTINGENT_RUN_WAIT_SECONDS` (1800): how long a run waits for another one to finish;
- `KONTINGENT_RUN_LEASE_HOURS` (12): a run holding the pipeline longer is taken for dead;
- `KONTINGENT_DBT_MANIFEST` (`<KONTINGENT_HOME>/airflow/dbt/manifest.json`): the dbt manifest
  the DAG renders its tasks from;
- `KONTINGENT_FORMS_LAG_DAYS` (10): days after a report date before its drafts are built;
- `KONTINGENT_RETENTION_DAYS` (400): age after which maintenance prunes;
- `KONTINGENT_ALERT_EMAIL` (none): comma-separated alert recipients, sent through
  `KONTINGENT_SMTP_HOST`, `_PORT` (25), `_USER`, `_PASSWORD`, `_FROM`.

Standard library only: the DAG files read it at parse time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kontingent.settings import get_settings

DEFAULT_CONN_ID = "kontingent_warehouse"

# A feed that has not delivered an extract for this many days raises an alert
# (marks and accounts come every school day; registries weekly; final marks each term).
FEED_INTERVAL_DAYS = {
    "accounts": 4,
    "marks": 4,
    "organizations": 10,
    "students": 10,
    "movements": 21,
    "final_marks": 130,
}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class OrchestrationConfig:
    conn_id: str
    run_wait_seconds: int
    lease_hours: int
    dbt_manifest: Path
    forms_lag_days: int
    retention_days: int
    alert_email: tuple[str, ...]
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_from: str


def get_config() -> OrchestrationConfig:
    env = os.environ
    home = get_settings().home
    manifest = env.get("KONTINGENT_DBT_MANIFEST", "").strip()
    return OrchestrationConfig(
        conn_id=env.get("KONTINGENT_WAREHOUSE_CONN_ID", "").strip() or DEFAULT_CONN_ID,
        run_wait_seconds=_int("KONTINGENT_RUN_WAIT_SECONDS", 1800),
        lease_hours=_int("KONTINGENT_RUN_LEASE_HOURS", 12),
        dbt_manifest=Path(manifest) if manifest else home / "airflow" / "dbt" / "manifest.json",
        forms_lag_days=_int("KONTINGENT_FORMS_LAG_DAYS", 10),
        retention_days=_int("KONTINGENT_RETENTION_DAYS", 400),
        alert_email=tuple(
            a.strip() for a in env.get("KONTINGENT_ALERT_EMAIL", "").split(",") if a.strip()
        ),
        smtp_host=env.get("KONTINGENT_SMTP_HOST", "").strip() or None,
        smtp_port=_int("KONTINGENT_SMTP_PORT", 25),
        smtp_user=env.get("KONTINGENT_SMTP_USER", "").strip() or None,
        smtp_password=env.get("KONTINGENT_SMTP_PASSWORD") or None,
        smtp_from=env.get("KONTINGENT_SMTP_FROM", "").strip() or "kontingent@localhost",
    )
