"""kontingent_forms (Airflow DAG): a configurable lag (`KONTINGENT_FORMS_LAG_DAYS`) after each
report date — 20 September (ОО-1), 31 December (1-ДОП), the end of each term (results) — build
every form for the region and each municipality as a draft; red on a violated control ratio.
Runs daily, so late records about a report date rebuild its drafts. Releasing stays a
deliberate command (`kontingent forms release`).

Wiring only: the task body is in `orchestration.tasks`. See docs/orchestration.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from orchestration import tasks

with DAG(
    dag_id="kontingent_forms",
    description="Build the official forms as drafts after their report dates",
    schedule="0 9 * * *",
    start_date=pendulum.datetime(2026, 9, 1, tz=tasks.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={**tasks.DEFAULT_ARGS, "on_failure_callback": tasks.on_failure},
    tags=["kontingent"],
    doc_md=__doc__,
) as dag:
    task(tasks.build_form_drafts, task_id="build_form_drafts")()
