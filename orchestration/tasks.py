"""The task callables of the DAGs: each reads the Airflow run context, points the stages at the
warehouse of the Airflow connection, runs one step and turns a step failure into a red task
without retries (transient database errors propagate and are retried with backoff).

Imported by the DAG files at parse time: nothing here touches a database or the network until
a task runs.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from orchestration import runs, steps
from orchestration.config import get_config

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Moscow"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "kontingent",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


# -- context ------------------------------------------------------------------------------------
def _context() -> dict[str, Any]:
    from airflow.sdk import get_current_context

    return get_current_context()


def use_warehouse(conn_id: str | None = None) -> str | None:
    """Point the stages (`WAREHOUSE_URL`) at the Airflow connection's database, when that
    connection is defined; otherwise the project's settings decide. Returns the connection id
    used."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn_id = conn_id or get_config().conn_id
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    user = quote(conn.login or "", safe="")
    password = quote(conn.password or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@"
    os.environ["WAREHOUSE_URL"] = (
        f"postgresql://{auth}{conn.host or '127.0.0.1'}:{conn.port or 5432}/{conn.schema or ''}"
    )
    return conn_id


def run_identity(context: dict[str, Any] | None = None) -> tuple[str, str, str]:
    context = context or _context()
    dag_id = context["dag"].dag_id
    run_id = context["run_id"]
    return dag_id, run_id, runs.run_key(dag_id, run_id)


def data_until(context: dict[str, Any] | None = None) -> date | None:
    """The newest extract date this run loads: the `until` parameter, else the run's logical
    date (a scheduled or backfilled run); a manual run without either loads every file."""
    context = context or _context()
    until = (context.get("params") or {}).get("until")
    if until:
        return date.fromisoformat(str(until))
    logical = context.get("logical_date")
    if logical is None:
        return None
    import pendulum

    return pendulum.instance(logical).in_timezone(TIMEZONE).date()


def report_day(context: dict[str, Any] | None = None) -> date:
    """The day a run stands for: its logical date (Moscow), else today."""
    context = context or _context()
    logical = context.get("logical_date")
    import pendulum

    moment = pendulum.instance(logical) if logical is not None else pendulum.now()
    return moment.in_timezone(TIMEZONE).date()


def fail_fast(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A StepFailed or PipelineBusy fails the task at once (a retry cannot help)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        try:
            return fn(*args, **kwargs)
        except (steps.StepFailed, runs.PipelineBusy) as exc:
            raise AirflowFailException(str(exc)) from None

    return wrapper


# -- callbacks ----------------------------------------------------------------------------------
def on_failure(context: dict[str, Any]) -> None:
    """A task failed for good: the reason goes into the run summary and an alert record (and
    an e-mail when SMTP is configured). Never raises."""
    try:
        use_warehouse()
        dag_id, run_id, key = run_identity(context)
        ti = context.get("task_instance") or context.get("ti")
        task_id = getattr(ti, "task_id", None) or "?"
        reason = runs.clip(str(context.get("exception") or "failed"))
        runs.record(key, errors=f"task {task_id} failed: {reason}")
        runs.raise_alert(
            "task_failed",
            f"{dag_id}: task {task_id} failed",
            f"run {run_id}: {reason}",
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
        )
    except Exception:
        log.exception("the failure alert could not be recorded")


# -- kontingent_daily ---------------------------------------------------------------------------
@fail_fast
def claim() -> dict[str, Any]:
    use_warehouse()
    dag_id, run_id, _key = run_identity()
    got = runs.claim(dag_id, run_id, data_until(), on_wait=log.warning)
    log.info(
        "pipeline claimed by %s (waited %.0f s)%s",
        got.run_key,
        got.waited_seconds,
        f"; took over from the abandoned run {got.took_over}" if got.took_over else "",
    )
    return {"run_key": got.run_key, "waited_seconds": got.waited_seconds}


@fail_fast
def load() -> dict[str, Any]:
    use_warehouse()
    _, _, key = run_identity()
    until = data_until()
    log.info("loading extract files%s", f" up to {until}" if until else "")
    return steps.load(key, until=until)


def needs_build() -> bool:
    use_warehouse()
    _, _, key = run_identity()
    force = bool((_context().get("params") or {}).get("rebuild"))
    build = steps.needs_build(key, force=force)
    log.info("rebuild: %s", "yes" if build else "no, nothing new since the last publication")
    return build


@fail_fast
def check_raw() -> dict[str, Any]:
    use_warehouse()
    _, _, key = run_identity()
    return steps.check_raw(key)


def prepare_build() -> None:
    use_warehouse()
    steps.prepare_build()


@fail_fast
def publish() -> dict[str, Any]:
    use_warehouse()
    _, _, key = run_identity()
    return steps.publish(key)


def refresh_dashboards() -> int:
    use_warehouse()
    _, _, key = run_identity()
    return steps.refresh_dashboards(key)


def check_feeds() -> list[str]:
    use_warehouse()
    dag_id, run_id, key = run_identity()
    return steps.check_feeds(key, data_until() or report_day(), dag_id, run_id)


def finish() -> dict[str, Any]:
    """Settle the run's status, release the pipeline, print the run summary."""
    use_warehouse()
    _, _, key = run_identity()
    summary = runs.release(key)
    for line in runs.summary_text(summary).splitlines():
        log.info("%s", line)
    return summary


# -- kontingent_forms ---------------------------------------------------------------------------
@fail_fast
def build_form_drafts() -> dict[str, Any]:
    """Build every due form for every territory as drafts; fail on a violated control ratio."""
    use_warehouse()
    today = report_day()
    due = steps.due_reports(today, get_config().forms_lag_days)
    written: list[str] = []
    unchanged: list[str] = []
    violations: list[str] = []
    for report in due:
        outcome = steps.build_drafts(report)
        written += outcome.written
        unchanged += outcome.unchanged
        violations += outcome.violations
    log.info("drafts written: %d, unchanged: %d", len(written), len(unchanged))
    for line in written:
        log.info("written: %s", line)
    for line in violations:
        log.error("%s", line)
    if violations:
        raise steps.StepFailed(
            f"{len(violations)} control ratio(s) violated: " + "; ".join(violations[:20])
        )
    return {"written": written, "unchanged": len(unchanged), "reports": [str(r) for r in due]}


# -- kontingent_maintenance ---------------------------------------------------------------------
def vacuum_analyze() -> list[str]:
    use_warehouse()
    done = steps.vacuum_analyze()
    log.info("vacuum (analyze): %s", ", ".join(done) or "no table yet")
    return done


def prune() -> dict[str, int]:
    use_warehouse()
    out = steps.prune()
    log.info("pruned: %s", ", ".join(f"{k} {v}" for k, v in out.items()))
    return out


def prune_airflow_logs() -> int:
    """Delete task log files older than the retention period under Airflow's log folder."""
    from airflow.configuration import conf

    folder = conf.get("logging", "base_log_folder", fallback="")
    if not folder or not os.path.isdir(folder):
        return 0
    horizon = datetime.now().timestamp() - get_config().retention_days * 86400
    removed = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.getmtime(path) < horizon:
                os.unlink(path)
                removed += 1
    log.info("%d log file(s) older than %d days removed", removed, get_config().retention_days)
    return removed
