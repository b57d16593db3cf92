"""Check results in the `dq` schema: one row per run, one row per expectation result, one row
per publication, and the views the data-quality dashboard reads (the reader role may select them).

Nothing here holds a value of a personal-data column: a result keeps its counts (rows checked,
unexpected rows, their share) and, for checks that are not personal, the observed value GX
reports (a row count, a column list, a share). `dq` is never swapped by publication: a failed
audit stays visible next to the publication it did not replace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from kontingent.settings import SCHEMAS

DDL = """
create table if not exists dq.check_runs (
    run_id uuid primary key,
    layer text not null,
    audited_schemas text[] not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    expectations integer,
    failed_blocking integer,
    failed_warning integer,
    is_success boolean,
    data_docs_path text
);
comment on table dq.check_runs is
    'One row per `kontingent check` run: the layer, the schemas audited and the outcome.';

create table if not exists dq.check_results (
    run_id uuid not null references dq.check_runs (run_id) on delete cascade,
    check_name text not null,
    layer text not null,
    checkpoint_name text not null,
    suite_name text not null,
    expectation_type text not null,
    severity text not null check (severity in ('blocking', 'warning')),
    is_personal boolean not null,
    is_success boolean not null,
    observed_value text,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent numeric,
    error text,
    description text,
    primary key (run_id, check_name)
);
comment on table dq.check_results is
    'One row per expectation per run. Never holds values of personal-data columns: counts only.';

create table if not exists dq.publications (
    publication_id bigint generated always as identity primary key,
    run_id uuid references dq.check_runs (run_id),
    published_at timestamptz not null default now(),
    published_schemas text[] not null,
    warnings integer not null default 0
);
comment on table dq.publications is
    'Each swap of a build of the published layer into the schemas dashboards read.';

create or replace view dq.check_run_summary as
select
    runs.run_id,
    runs.layer,
    array_to_string(runs.audited_schemas, ', ') as audited_schemas,
    runs.started_at,
    runs.finished_at,
    runs.expectations,
    runs.failed_blocking,
    runs.failed_warning,
    runs.is_success,
    publications.published_at
from dq.check_runs as runs
left join dq.publications as publications on runs.run_id = publications.run_id;

create or replace view dq.check_latest_results as
with newest as (
    select distinct on (runs.layer, runs.audited_schemas) runs.*
    from dq.check_runs as runs
    where runs.finished_at is not null
    order by runs.layer, runs.audited_schemas, runs.started_at desc
)
select
    newest.layer,
    array_to_string(newest.audited_schemas, ', ') as audited_schemas,
    newest.started_at as run_started_at,
    results.check_name,
    results.suite_name,
    results.expectation_type,
    results.severity,
    results.is_success,
    results.observed_value,
    results.element_count,
    results.unexpected_count,
    results.unexpected_percent,
    results.error,
    results.description
from newest
inner join dq.check_results as results on newest.run_id = results.run_id;

create or replace view dq.check_history as
select
    runs.layer,
    array_to_string(runs.audited_schemas, ', ') as audited_schemas,
    runs.started_at::date as run_date,
    results.check_name,
    results.severity,
    bool_and(results.is_success) as is_success,
    max(results.unexpected_count) as unexpected_count
from dq.check_results as results
inner join dq.check_runs as runs on results.run_id = runs.run_id
group by 1, 2, 3, 4, 5;

-- loads, as the data-quality dashboard shows them (the reader cannot see raw itself): counts
-- and reasons only, never the content of a line
create or replace view dq.load_history as
select
    log.load_id,
    log.kind,
    log.feed,
    log.file_name,
    log.extract_date,
    log.status,
    log.error_reason,
    log.rows_read,
    log.rows_loaded,
    log.rows_rejected,
    log.rows_flagged,
    log.rows_orphan,
    log.started_at,
    log.finished_at,
    log.seconds
from raw.load_log as log;

create or replace view dq.rejected_rows as
with feeds as (
    select distinct log.feed from raw.load_log as log where log.feed is not null
),
rejected as (
    select quarantine.feed, reason, count(*) as lines,
        count(*) filter (where quarantine.resolved_load_id is null) as open_lines
    from raw.quarantine as quarantine
    cross join lateral unnest(quarantine.reasons) as reason
    group by quarantine.feed, reason
)
select feeds.feed, rejected.reason, coalesce(rejected.lines, 0) as lines,
    coalesce(rejected.open_lines, 0) as open_lines
from feeds
left join rejected on feeds.feed = rejected.feed;

create or replace view dq.feed_freshness as
with newest as (
    select log.feed, max(log.extract_date) as newest_extract_date,
        max(log.finished_at) as last_loaded_at, count(*) as files
    from raw.load_log as log
    where log.kind = 'file' and log.status = 'loaded' and log.feed is not null
    group by log.feed
)
select newest.*,
    max(newest.newest_extract_date) over () - newest.newest_extract_date
        as days_behind_newest_feed,
    current_date - newest.newest_extract_date as days_since_extract
from newest;

create or replace view dq.publication_current as
select publications.*, runs.failed_warning
from dq.publications as publications
left join dq.check_runs as runs on publications.run_id = runs.run_id
order by publications.published_at desc
limit 1;
"""

_TABLES = (
    "check_runs",
    "check_results",
    "publications",
    "check_run_summary",
    "check_latest_results",
    "check_history",
    "publication_current",
    "load_history",
    "rejected_rows",
    "feed_freshness",
)


@dataclass
class Result:
    check_name: str
    layer: str
    checkpoint_name: str
    suite_name: str
    expectation_type: str
    severity: str
    is_personal: bool
    is_success: bool
    observed_value: str | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    error: str | None = None
    description: str | None = None


@dataclass
class CheckRun:
    run_id: str
    layer: str
    audited_schemas: list[str]
    started_at: datetime
    finished_at: datetime | None = None
    results: list[Result] = field(default_factory=list)
    data_docs_path: str | None = None
    is_partial: bool = False  # narrowed to some suites: never the audit of a publication

    @property
    def failed_blocking(self) -> list[Result]:
        return [r for r in self.results if not r.is_success and r.severity == "blocking"]

    @property
    def failed_warning(self) -> list[Result]:
        return [r for r in self.results if not r.is_success and r.severity == "warning"]

    @property
    def is_success(self) -> bool:
        return bool(self.results) and not self.failed_blocking

    def result(self, check_name: str) -> Result:
        for r in self.results:
            if r.check_name == check_name:
                return r
        raise KeyError(check_name)


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the dq tables and views (idempotent) and let the dashboards' role read them."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(7205312)")
        conn.execute("create schema if not exists dq")
        conn.execute(DDL)
        for role in SCHEMAS["dq"]:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            if not exists:
                continue
            conn.execute(sql.SQL("grant usage on schema dq to {}").format(sql.Identifier(role)))
            for name in _TABLES:
                conn.execute(
                    sql.SQL("grant select on {} to {}").format(
                        sql.Identifier("dq", name), sql.Identifier(role)
                    )
                )


def save_run(conn: psycopg.Connection, run: CheckRun) -> None:
    with conn.transaction():
        conn.execute(
            """
            insert into dq.check_runs (run_id, layer, audited_schemas, started_at, finished_at,
                expectations, failed_blocking, failed_warning, is_success, data_docs_path)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id) do update set finished_at = excluded.finished_at,
                expectations = excluded.expectations,
                failed_blocking = excluded.failed_blocking,
                failed_warning = excluded.failed_warning, is_success = excluded.is_success,
                data_docs_path = excluded.data_docs_path
            """,
            (
                run.run_id,
                run.layer,
                run.audited_schemas,
                run.started_at,
                run.finished_at,
                len(run.results),
                len(run.failed_blocking),
                len(run.failed_warning),
                run.is_success,
                run.data_docs_path,
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into dq.check_results (run_id, check_name, layer, checkpoint_name,
                    suite_name, expectation_type, severity, is_personal, is_success,
                    observed_value, element_count, unexpected_count, unexpected_percent, error,
                    description)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (run_id, check_name) do nothing
                """,
                [
                    (
                        run.run_id,
                        r.check_name,
                        r.layer,
                        r.checkpoint_name,
                        r.suite_name,
                        r.expectation_type,
                        r.severity,
                        r.is_personal,
                        r.is_success,
                        r.observed_value,
                        r.element_count,
                        r.unexpected_count,
                        r.unexpected_percent,
                        r.error,
                        r.description,
                    )
                    for r in run.results
                ],
            )


def observed_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:1000]
    return json.dumps(value, ensure_ascii=False, default=str)[:1000]
