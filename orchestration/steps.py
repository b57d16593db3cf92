"""The steps of the pipeline runs, each a function of the stage packages' public API that records
its outcome in the run summary (`orchestration.runs`). A step that finds a problem a retry
cannot fix raises StepFailed; a database that does not answer raises psycopg's
OperationalError, which the DAGs retry with backoff."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from kontingent.settings import get_settings
from orchestration import runs
from orchestration.config import FEED_INTERVAL_DAYS, get_config

log = logging.getLogger(__name__)


class StepFailed(RuntimeError):
    """A failure no retry can fix (a file refused whole, a blocking check, a violated control
    ratio): the run turns red with this message."""


# -- kontingent_daily -------------------------------------------------------------------------
def load(key: str, until: date | None = None, landing: Path | None = None) -> dict[str, Any]:
    """Load the new extract files (up to `until`) of the landing folder.

    Rows rejected into quarantine are a warning of the run; a file refused whole fails it.
    """
    from ingestion.loader import load_landing, summary_counts

    results = load_landing(landing, until=until)
    counts = summary_counts(results)
    loaded = [r for r in results if r.status == "loaded"]
    failed = [r for r in results if r.status == "failed"]
    rows_loaded = sum(r.rows_loaded for r in loaded)
    rows_rejected = sum(r.rows_rejected for r in loaded)
    warnings = [
        f"{r.file}: {r.rows_rejected} of {r.rows_read} rows rejected into quarantine"
        for r in loaded
        if r.rows_rejected
    ]
    errors = [f"file refused whole: {r.file} ({r.reason}, line {r.line or 1})" for r in failed]
    runs.record(
        key,
        files_loaded=counts["loaded"],
        files_skipped=counts["skipped"],
        files_failed=counts["failed"],
        rows_loaded=rows_loaded,
        rows_rejected=rows_rejected,
        warnings=warnings,
        errors=errors,
        details={
            "files": [
                {
                    "file": r.file,
                    "status": r.status,
                    "rows_loaded": r.rows_loaded,
                    "rows_rejected": r.rows_rejected,
                    "reason": r.reason,
                }
                for r in results
                if r.status != "skipped"
            ]
        },
    )
    for r in failed:
        log.error("%s", r.message)
    log.info(
        "%d file(s) loaded, %d already loaded, %d refused; %d rows loaded, %d rejected",
        counts["loaded"],
        counts["skipped"],
        counts["failed"],
        rows_loaded,
        rows_rejected,
    )
    if failed:
        raise StepFailed(
            f"{len(failed)} file(s) refused whole and moved to failed/: "
            + "; ".join(r.message for r in failed)
        )
    return {"loaded": counts["loaded"], "rows_loaded": rows_loaded, "rows_rejected": rows_rejected}


def needs_build(key: str, force: bool = False, url: str | None = None) -> bool:
    """Whether the published layer is behind the raw layer: a file loaded (or quarantine
    replayed) after the newest publication, or no publication yet."""
    from quality.store import ensure_tables

    if force:
        runs.record(key, notes="rebuild requested")
        return True
    with psycopg.connect(url or get_settings().warehouse_url, autocommit=True) as conn:
        ensure_tables(conn)
        last = conn.execute("select max(published_at) from dq.publications").fetchone()[0]
        newer = conn.execute(
            "select count(*) from raw.load_log where status = 'loaded' "
            "and (%s::timestamptz is null or finished_at > %s::timestamptz)",
            (last, last),
        ).fetchone()[0]
    if newer:
        return True
    runs.record(
        key,
        built=False,
        published=False,
        notes="nothing loaded since the last publication: the published layer is current",
    )
    return False


def check_raw(key: str) -> dict[str, Any]:
    """The raw checks; a blocking failure fails the run."""
    from quality.run import run_check

    run = run_check("raw")
    text = _checks_text(run)
    runs.record(
        key,
        raw_checks=text,
        warnings=[f"raw check {r.check_name} (warning)" for r in run.failed_warning],
        errors=[f"raw check {r.check_name} failed (blocking)" for r in run.failed_blocking],
        details={"raw_check_run": run.run_id},
    )
    log.info("raw checks: %s", text)
    if not run.is_success:
        raise StepFailed(
            "blocking raw checks failed: "
            + ", ".join(r.check_name for r in run.failed_blocking)
            + f" (check run {run.run_id}; results in dq.check_latest_results and Data Docs)"
        )
    return {"run_id": run.run_id, "warnings": len(run.failed_warning)}


def prepare_build() -> None:
    """Empty build schemas, so that a model removed from the project is never published."""
    from quality.publish import drop_build_schemas

    drop_build_schemas()


def publish(key: str) -> dict[str, Any]:
    """Audit the build schemas and swap them in; a blocking failure keeps the publication."""
    from quality.publish import audit_and_publish

    runs.record(key, built=True)
    outcome = audit_and_publish()
    run = outcome.run
    text = _checks_text(run) if run else "not run"
    runs.record(
        key,
        marts_checks=text,
        published=outcome.published,
        warnings=[
            f"marts check {r.check_name} (warning)" for r in (run.failed_warning if run else [])
        ],
        errors=[] if outcome.published else [outcome.message, *_blocking(run)],
        details={"marts_check_run": run.run_id if run else None},
    )
    log.info("%s; marts checks: %s", outcome.message, text)
    if not outcome.published:
        raise StepFailed(outcome.message + "; the previous publication stays")
    return {"published": True, "warnings": len(run.failed_warning) if run else 0}


def superset_cache_dir() -> Path:
    """Where Superset keeps chart data (FileSystemCache, see superset/superset_config.py)."""
    home = os.environ.get("SUPERSET_HOME", "").strip()
    if home:
        return Path(home) / "cache" / "data"
    from kontingent.dashboards import configure

    return configure().state_dir / "cache" / "data"


def refresh_dashboards(key: str, cache_dir: Path | None = None) -> int:
    """Drop the chart data Superset cached from the previous publication; returns the number
    of cached results removed (charts query the new marts on their next view)."""
    cache_dir = cache_dir or superset_cache_dir()
    removed = 0
    if cache_dir.is_dir():
        for entry in cache_dir.iterdir():
            if entry.is_file():
                entry.unlink(missing_ok=True)
                removed += 1
    runs.record(key, notes=f"dashboard cache: {removed} cached chart result(s) dropped")
    return removed


@dataclass
class LateFeed:
    feed: str
    newest: date | None
    days: int | None
    interval: int


def late_feeds(on: date, url: str | None = None) -> list[LateFeed]:
    """Feeds whose newest loaded extract is older than their expected interval on `on` (a feed
    never delivered counts once the warehouse has had data for longer than its interval)."""
    with psycopg.connect(url or get_settings().warehouse_url, autocommit=True) as conn:
        rows = conn.execute(
            "select feed, max(extract_date) from raw.load_log "
            "where status = 'loaded' and kind = 'file' and extract_date <= %s group by feed",
            (on,),
        ).fetchall()
    newest = dict(rows)
    if not newest:
        return []
    first = min(newest.values())
    out = []
    for feed, interval in FEED_INTERVAL_DAYS.items():
        day = newest.get(feed)
        if day is None:
            if (on - first).days > interval:
                out.append(LateFeed(feed, None, None, interval))
        elif (on - day).days > interval:
            out.append(LateFeed(feed, day, (on - day).days, interval))
    return out


def check_feeds(key: str, on: date, dag_id: str, run_id: str) -> list[str]:
    """Alert on every late feed (a warning of the run, not a failure)."""
    messages = []
    for late in late_feeds(on):
        text = (
            f"feed {late.feed}: no extract for {late.days} days (newest {late.newest}, expected "
            f"every {late.interval} days)"
            if late.newest
            else f"feed {late.feed}: never delivered (expected every {late.interval} days)"
        )
        runs.raise_alert("feed_late", text, text, dag_id=dag_id, run_id=run_id)
        messages.append(text)
    if messages:
        runs.record(key, warnings=messages)
    return messages


def _blocking(run) -> list[str]:
    return (
        [f"marts check {r.check_name} failed (blocking)" for r in run.failed_blocking]
        if run
        else []
    )


def _checks_text(run) -> str:
    return (
        f"{len(run.results)} checks, {len(run.failed_blocking)} blocking failed, "
        f"{len(run.failed_warning)} warnings"
    )


# -- kontingent_forms -------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    form: str
    report_date: date
    period: str | None = None


def due_reports(today: date, lag_days: int, url: str | None = None) -> list[Report]:
    """The newest report date of each form whose lag has passed: ОО-1 (20 September), 1-ДОП
    (31 December), the results report (the end of the newest finished terms)."""
    cutoff = today - timedelta(days=lag_days)
    out = []
    year = cutoff.year if cutoff >= date(cutoff.year, 9, 20) else cutoff.year - 1
    out.append(Report("oo1", date(year, 9, 20)))
    year = cutoff.year if cutoff >= date(cutoff.year, 12, 31) else cutoff.year - 1
    out.append(Report("1dop", date(year, 12, 31)))
    with psycopg.connect(url or get_settings().reader_url, autocommit=True) as conn:
        rows = conn.execute(
            "select distinct term_name_ru, end_date from marts.dim_term "
            "where end_date = (select max(end_date) from marts.dim_term where end_date <= %s) "
            "order by term_name_ru",
            (cutoff,),
        ).fetchall()
    out += [Report("results", end, name) for name, end in rows]
    return out


def territories(url: str | None = None) -> list[tuple[str, str | None]]:
    """The region and each known municipality."""
    with psycopg.connect(url or get_settings().reader_url, autocommit=True) as conn:
        rows = conn.execute(
            "select municipality_id from marts.dim_municipality "
            "where municipality_id <> '-1' order by municipality_id"
        ).fetchall()
    return [("region", None)] + [("municipality", r[0]) for r in rows]


@dataclass
class DraftOutcome:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def build_drafts(report: Report, home: Path | None = None) -> DraftOutcome:
    """Build the form for the region and every municipality as drafts. A draft is rewritten only
    when its cells changed (late records about the report date); violated control ratios are
    collected, and the drafts are still written so that a person can see them."""
    import forms
    from forms.archive import content_hash

    outcome = DraftOutcome()
    for level, code in territories():
        built = forms.build_form(report.form, report.report_date, level, code, period=report.period)
        target = forms.draft_path(built, home)
        marker = target.with_name(target.name + ".sha256")
        digest = content_hash(built)
        label = f"{report.form} {built.report_date} {built.territory_slug}" + (
            f" ({report.period})" if report.period else ""
        )
        if target.exists() and marker.exists() and marker.read_text().strip() == digest:
            outcome.unchanged.append(label)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            forms.write(built, target)
            marker.write_text(digest + "\n")
            outcome.written.append(label)
        outcome.violations += [
            f"{label}: control {v.control_id} violated ({v.text}) {v.instance}"
            for v in built.violations
        ]
    return outcome


# -- kontingent_maintenance -------------------------------------------------------------------
LARGE_TABLES = (
    "raw.marks",
    "raw.movements",
    "raw.final_marks",
    "core.fct_mark",
    "core.fct_final_mark",
    "core.fct_enrolment_on_count_date",
    "core.fct_enrolment_spell",
)


def vacuum_analyze(url: str | None = None) -> list[str]:
    """VACUUM (ANALYZE) the large facts that exist; returns the tables done."""
    done = []
    with psycopg.connect(url or get_settings().warehouse_url, autocommit=True) as conn:
        for name in LARGE_TABLES:
            if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is None:
                continue
            schema, table = name.split(".")
            conn.execute(
                psycopg.sql.SQL("vacuum (analyze) {}.{}").format(
                    psycopg.sql.Identifier(schema), psycopg.sql.Identifier(table)
                )
            )
            done.append(name)
    return done


def prune(retention_days: int | None = None, url: str | None = None) -> dict[str, int]:
    """Delete what is older than the retention period: run summaries, alerts, check runs (their
    results cascade), and quarantined rows whose original line was already erased; also erase
    personal data the ingestion's own retention rule allows."""
    from ingestion.erase import apply_retention
    from quality.store import ensure_tables as ensure_dq

    days = get_config().retention_days if retention_days is None else retention_days
    out: dict[str, int] = {}
    with psycopg.connect(url or get_settings().warehouse_url, autocommit=True) as conn:
        runs.ensure_tables(conn)
        ensure_dq(conn)
        statements = {
            "pipeline_runs": "delete from dq.pipeline_runs where status <> 'running' "
            "and claimed_at < now() - make_interval(days => %s)",
            "pipeline_alerts": "delete from dq.pipeline_alerts "
            "where raised_at < now() - make_interval(days => %s)",
            "check_runs": "delete from dq.check_runs as r where r.started_at < "
            "now() - make_interval(days => %s) and not exists "
            "(select 1 from dq.publications as p where p.run_id = r.run_id)",
            "quarantine": "delete from pii.quarantine where original_line is null "
            "and quarantined_at < now() - make_interval(days => %s)",
        }
        for name, statement in statements.items():
            out[name] = conn.execute(statement, (days,)).rowcount
        conn.autocommit = False
        erased = apply_retention(conn, days)
        conn.commit()
    out.update({f"erased_{k}": v for k, v in erased.items()})
    return out
