"""kontingent_maintenance (Airflow DAG): weekly VACUUM (ANALYZE) of the large facts, pruning of
run summaries, alerts, check results, erased quarantine rows and task logs older than
`KONTINGENT_RETENTION_DAYS`.

Wiring only: the task bodies are in `orchestration.tasks`. See docs/orchestration.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from orchestration import tasks

with DAG(
    dag_id="kontingent_maintenance",
    description="Vacuum/analyze the large facts, prune by the retention setting",
    schedule="0 3 * * 0",
    start_date=pendulum.datetime(2026, 9, 1, tz=tasks.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={**tasks.DEFAULT_ARGS, "on_failure_callback": tasks.on_failure},
    tags=["kontingent"],
    doc_md=__doc__,
) as dag:
    prune = task(tasks.prune, task_id="prune_by_retention")()
    vacuum = task(tasks.vacuum_analyze, task_id="vacuum_analyze")()
    logs = task(tasks.prune_airflow_logs, task_id="prune_task_logs")()
    prune >> vacuum
