"""Pipeline runs in the warehouse: the lease that lets one run at a time change the warehouse, the
run summary, and alerts.

`dq.pipeline_runs` holds one row per run (`run_key` = `<dag_id>/<run_id>`). A run *claims* the
pipeline by writing its row with status `running`; a unique index admits one such row, and the
claim itself is serialized by an advisory lock, so two runs started together cannot both hold
it. The second one waits (polling) up to `KONTINGENT_RUN_WAIT_SECONDS`, then gives up with a
message naming the holder. A run that held the pipeline longer than `KONTINGENT_RUN_LEASE_HOURS`
is taken for dead (its row becomes `abandoned`). Each step writes its part of the summary into
the row; the last step (`finish`) settles the status and releases the lease.

`dq.pipeline_alerts` holds one row per alert: a task that failed for good, a feed that is late.
The dashboards' role may read both (they hold counts, file names and reasons, never a value of
a personal-data column).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from kontingent.settings import SCHEMAS, get_settings

CLAIM_LOCK = 7_205_320  # advisory lock: one claim decision at a time

DDL = """
create schema if not exists dq;

create table if not exists dq.pipeline_runs (
    run_key text primary key,
    dag_id text not null,
    run_id text not null,
    data_until date,
    status text not null
        check (status in ('running', 'success', 'failed', 'abandoned')),
    holder text not null,
    claimed_at timestamptz not null default now(),
    waited_seconds numeric(10, 1) not null default 0,
    finished_at timestamptz,
    files_loaded integer,
    files_skipped integer,
    files_failed integer,
    rows_loaded bigint,
    rows_rejected bigint,
    raw_checks text,
    marts_checks text,
    built boolean,
    published boolean,
    notes text[] not null default '{}',
    warnings text[] not null default '{}',
    errors text[] not null default '{}',
    details jsonb not null default '{}'
);
comment on table dq.pipeline_runs is
    'One row per pipeline run: what it loaded, checked and published, and why it failed.';
create unique index if not exists pipeline_runs_one_running
    on dq.pipeline_runs ((true)) where status = 'running';

create table if not exists dq.pipeline_alerts (
    alert_id bigint generated always as identity primary key,
    raised_at timestamptz not null default now(),
    kind text not null,
    dag_id text,
    run_id text,
    task_id text,
    subject text not null,
    detail text,
    emailed boolean not null default false
);
comment on table dq.pipeline_alerts is
    'Alerts of the orchestration: a task failed for good, a feed has not arrived in time.';
"""

_TABLES = ("pipeline_runs", "pipeline_alerts")
_MAX_TEXT = 600


class PipelineBusy(RuntimeError):
    """Another run holds the pipeline and did not finish in time: this run did nothing."""


@dataclass(frozen=True)
class Claim:
    run_key: str
    waited_seconds: float
    took_over: str | None = None  # the abandoned run this claim replaced


def run_key(dag_id: str, run_id: str) -> str:
    return f"{dag_id}/{run_id}"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _url(url: str | None) -> str:
    return url or get_settings().warehouse_url


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the tables (idempotent); the dashboards' role may read them."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (CLAIM_LOCK,))
        conn.execute(DDL)
        for role in SCHEMAS["dq"]:
            if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                for table in _TABLES:
                    conn.execute(
                        sql.SQL("grant select on dq.{} to {}").format(
                            sql.Identifier(table), sql.Identifier(role)
                        )
                    )


def clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _try_claim(
    conn: psycopg.Connection,
    key: str,
    dag_id: str,
    run_id: str,
    data_until: date | None,
    lease_hours: int,
) -> tuple[bool, dict | None, str | None]:
    """One claim attempt: (claimed, the holder when not, the run taken over)."""
    took_over = None
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (CLAIM_LOCK,))
        holder = conn.execute(
            "select run_key, holder, claimed_at, now() - claimed_at > make_interval(hours => %s) "
            "as stale from dq.pipeline_runs where status = 'running'",
            (lease_hours,),
        ).fetchone()
        if holder and holder["run_key"] != key:
            if not holder["stale"]:
                return False, holder, None
            conn.execute(
                "update dq.pipeline_runs set status = 'abandoned', finished_at = now(), "
                "errors = errors || %s::text where run_key = %s",
                (f"taken for dead after {lease_hours} h; replaced by {key}", holder["run_key"]),
            )
            took_over = holder["run_key"]
        conn.execute(
            "insert into dq.pipeline_runs (run_key, dag_id, run_id, data_until, status, holder) "
            "values (%s, %s, %s, %s, 'running', %s) "
            "on conflict (run_key) do update set status = 'running', holder = excluded.holder, "
            "data_until = excluded.data_until, claimed_at = now(), finished_at = null, "
            "files_loaded = null, files_skipped = null, files_failed = null, "
            "rows_loaded = null, rows_rejected = null, raw_checks = null, marts_checks = null, "
            "built = null, published = null, notes = '{}', warnings = '{}', errors = '{}', "
            "details = '{}'",
            (key, dag_id, run_id, data_until, holder_name()),
        )
    return True, None, took_over


def claim(
    dag_id: str,
    run_id: str,
    data_until: date | None = None,
    *,
    wait_seconds: float | None = None,
    lease_hours: int | None = None,
    poll_seconds: float = 5.0,
    url: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Claim:
    """Take the pipeline for this run, waiting for another run to finish when one holds it.

    Claiming again for the same run (a retried or cleared task) succeeds at once. Raises
    PipelineBusy when the holder has not finished within `wait_seconds`.
    """
    from orchestration.config import get_config

    config = get_config()
    wait_seconds = config.run_wait_seconds if wait_seconds is None else wait_seconds
    lease_hours = config.lease_hours if lease_hours is None else lease_hours
    key = run_key(dag_id, run_id)
    started = time.monotonic()
    announced = False
    with psycopg.connect(_url(url), autocommit=True, row_factory=dict_row) as conn:
        ensure_tables(conn)
        while True:
            claimed, holder, took_over = _try_claim(
                conn, key, dag_id, run_id, data_until, lease_hours
            )
            waited = time.monotonic() - started
            if claimed:
                if waited >= 1:
                    conn.execute(
                        "update dq.pipeline_runs set waited_seconds = %s, "
                        "notes = notes || %s::text where run_key = %s",
                        (round(waited, 1), f"waited {waited:.0f} s for another run", key),
                    )
                return Claim(key, round(waited, 1), took_over)
            assert holder is not None
            message = (
                f"another pipeline run holds the warehouse: {holder['run_key']} "
                f"(on {holder['holder']}, since {holder['claimed_at']:%Y-%m-%d %H:%M:%S %Z})"
            )
            if waited >= wait_seconds:
                raise PipelineBusy(
                    f"{message}; this run waited {waited:.0f} s and did nothing. "
                    "Run it again when that run has finished."
                )
            if on_wait and not announced:
                on_wait(message + "; waiting for it to finish")
                announced = True
            time.sleep(min(poll_seconds, max(0.1, wait_seconds - waited)))


def release(key: str, url: str | None = None) -> dict[str, Any]:
    """Settle a run's status from what its steps recorded and release the lease; returns the
    run summary."""
    with psycopg.connect(_url(url), autocommit=True, row_factory=dict_row) as conn:
        ensure_tables(conn)
        row = conn.execute(
            "update dq.pipeline_runs set finished_at = now(), status = case "
            "when status <> 'running' then status "
            "when cardinality(errors) > 0 then 'failed' else 'success' end "
            "where run_key = %s returning *",
            (key,),
        ).fetchone()
    if row is None:
        raise KeyError(f"no pipeline run {key}")
    return summary_of(row)


def record(key: str, url: str | None = None, **fields: Any) -> None:
    """Set summary columns of a run (`notes`, `warnings`, `errors` are appended to; `details`
    is merged)."""
    appended = {k: fields.pop(k) for k in ("notes", "warnings", "errors") if k in fields}
    details = fields.pop("details", None)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for name, value in fields.items():
        parts.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(value)
    for name, values in appended.items():
        if isinstance(values, str):
            values = [values]
        parts.append(sql.SQL("{0} = {0} || %s::text[]").format(sql.Identifier(name)))
        params.append([clip(v) for v in values])
    if details:
        parts.append(sql.SQL("details = details || %s::jsonb"))
        params.append(json.dumps(details, default=str))
    if not parts:
        return
    with psycopg.connect(_url(url), autocommit=True) as conn:
        ensure_tables(conn)
        conn.execute(
            sql.SQL("update dq.pipeline_runs set {} where run_key = %s").format(
                sql.SQL(", ").join(parts)
            ),
            [*params, key],
        )


def get_run(key: str, url: str | None = None) -> dict[str, Any] | None:
    with psycopg.connect(_url(url), autocommit=True, row_factory=dict_row) as conn:
        ensure_tables(conn)
        row = conn.execute("select * from dq.pipeline_runs where run_key = %s", (key,)).fetchone()
    return summary_of(row) if row else None


def summary_of(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in ("claimed_at", "finished_at"):
        if isinstance(out.get(name), datetime):
            out[name] = out[name].isoformat()
    if isinstance(out.get("data_until"), date):
        out["data_until"] = out["data_until"].isoformat()
    if out.get("waited_seconds") is not None:
        out["waited_seconds"] = float(out["waited_seconds"])
    if row.get("finished_at") and row.get("claimed_at"):
        out["duration_seconds"] = round((row["finished_at"] - row["claimed_at"]).total_seconds(), 1)
    return out


def summary_text(summary: dict[str, Any]) -> str:
    """The run summary as a few lines for the task log."""
    lines = [
        f"run {summary['run_key']}: {summary['status']}"
        + (f" in {summary['duration_seconds']} s" if summary.get("duration_seconds") else "")
        + (f" (waited {summary['waited_seconds']:.0f} s)" if summary.get("waited_seconds") else ""),
        f"files: {summary.get('files_loaded') or 0} loaded, {summary.get('files_skipped') or 0} "
        f"already loaded, {summary.get('files_failed') or 0} refused; rows: "
        f"{summary.get('rows_loaded') or 0} loaded, {summary.get('rows_rejected') or 0} rejected",
        f"checks: raw {summary.get('raw_checks') or 'not run'}; "
        f"marts {summary.get('marts_checks') or 'not run'}",
        "published: " + ("yes" if summary.get("published") else "no"),
    ]
    lines += [f"note: {n}" for n in summary.get("notes") or []]
    lines += [f"warning: {w}" for w in summary.get("warnings") or []]
    lines += [f"error: {e}" for e in summary.get("errors") or []]
    return "\n".join(lines)


def raise_alert(
    kind: str,
    subject: str,
    detail: str = "",
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    url: str | None = None,
) -> int:
    """Write an alert record and e-mail it when SMTP and recipients are configured."""
    from orchestration.alerts import send_email

    emailed = send_email(f"[kontingent] {subject}", detail or subject)
    with psycopg.connect(_url(url), autocommit=True) as conn:
        ensure_tables(conn)
        return conn.execute(
            "insert into dq.pipeline_alerts (kind, dag_id, run_id, task_id, subject, detail, "
            "emailed) values (%s, %s, %s, %s, %s, %s, %s) returning alert_id",
            (kind, dag_id, run_id, task_id, clip(subject), clip(detail), emailed),
        ).fetchone()[0]
