"""kontingent_daily (Airflow DAG): landing folder → load → raw checks → dbt (one task per model,
with its tests) into the build schemas → marts checks → publish → dashboard cache → run summary.

Wiring only: every task body is in `orchestration.tasks`. See docs/orchestration.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from orchestration import tasks
from orchestration.dbt import dbt_task_group

with DAG(
    dag_id="kontingent_daily",
    description="Load new extracts, build and audit the warehouse, publish it",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 9, 1, tz=tasks.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={**tasks.DEFAULT_ARGS, "on_failure_callback": tasks.on_failure},
    params={
        "until": Param(
            None,
            type=["null", "string"],
            description="Load extracts up to this date (YYYY-MM-DD); default: the run's date",
        ),
        "rebuild": Param(False, type="boolean", description="Rebuild even if nothing is new"),
    },
    tags=["kontingent"],
    doc_md=__doc__,
) as dag:
    claim = task(tasks.claim, task_id="claim_pipeline", retries=0)()
    load = task(tasks.load, task_id="load_landing")()
    feeds = task(tasks.check_feeds, task_id="check_feed_arrival")()
    plan = task.short_circuit(
        tasks.needs_build, task_id="needs_build", ignore_downstream_trigger_rules=False
    )()
    check_raw = task(tasks.check_raw, task_id="check_raw")()
    prepare = task(tasks.prepare_build, task_id="prepare_build")()
    dbt = dbt_task_group("dbt")
    publish = task(tasks.publish, task_id="audit_and_publish")()
    refresh = task(tasks.refresh_dashboards, task_id="refresh_dashboards")()
    finish = task(tasks.finish, task_id="run_summary")()

    claim >> load >> [feeds, plan]
    plan >> check_raw >> prepare >> dbt >> publish >> refresh
    [feeds, refresh] >> finish
    finish.as_teardown(setups=claim)
