"""Write-audit-publish of the published layer (`marts`, `forms`).

1. **Write**: dbt builds the whole project with `kontingent:publish_schema_suffix` = `_next`:
   staging and the incremental facts in `core` are built in place as always, the published
   models go to `marts_next` and `forms_next`, which the dashboards' role cannot read.
2. **Audit**: the marts checks run on the build schemas (`run_check("marts", build=True)`).
3. **Publish**: only when no blocking check failed, one transaction renames `marts` →
   `marts_previous` and `marts_next` → `marts` (the same for `forms`), re-applies the readers'
   grants and default privileges, and records the publication in `dq.publications`. Readers see
   the old tables or the new ones, never a mix and never an empty one; `core` is not touched,
   so the incremental state of the facts carries on.

On failure nothing is renamed: `marts`/`forms` stay byte-identical, the failure is in the exit
code, `dq` and Data Docs, and the build schemas stay for inspection (the owner can read them)
until the next build replaces them. The previous publication is kept as `*_previous` (not
readable by dashboards) until the next publication, for a manual rollback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from kontingent.db import grant_readers
from kontingent.settings import SCHEMAS, Settings, get_settings
from quality.project import PROJECT_DIR, PUBLISHED_SEARCH_PATH
from quality.run import BUILD_SUFFIX, run_check
from quality.store import CheckRun, ensure_tables

PUBLISHED = PUBLISHED_SEARCH_PATH  # ("marts", "forms")
PREVIOUS_SUFFIX = "_previous"
SUFFIX_VAR = "kontingent:publish_schema_suffix"
PUBLISH_LOCK = 7_205_313  # advisory lock: one publication at a time


class PublishRefused(RuntimeError):
    """The build did not pass, or is not there: nothing was published."""


@dataclass
class Outcome:
    run: CheckRun | None
    published: bool
    message: str


def build_schema(schema: str) -> str:
    return schema + BUILD_SUFFIX


def dbt_build_args(extra: list[str] | None = None) -> list[str]:
    """`dbt build` writing the published layer into the build schemas."""
    return ["build", "--vars", json.dumps({SUFFIX_VAR: BUILD_SUFFIX}), *(extra or [])]


def drop_build_schemas(settings: Settings | None = None) -> None:
    """Start a build from empty build schemas, so a model removed from the project is not
    published again from a stale table."""
    settings = settings or get_settings()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for schema in PUBLISHED:
            conn.execute(
                sql.SQL("drop schema if exists {} cascade").format(
                    sql.Identifier(build_schema(schema))
                )
            )


def write(settings: Settings | None = None, dbt_args: list[str] | None = None) -> None:
    """Write: dbt builds everything, the published layer into the build schemas."""
    from kontingent.dbt_runner import run_dbt

    settings = settings or get_settings()
    drop_build_schemas(settings)
    run_dbt(dbt_build_args(dbt_args), settings=settings)


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone()
    return row is not None


def _revoke_readers(conn: psycopg.Connection, schema: str, role: str) -> None:
    """The dashboards' role loses every right on a schema that is no longer published."""
    if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is None:
        return
    ident, role_ident = sql.Identifier(schema), sql.Identifier(role)
    conn.execute(sql.SQL("revoke all on schema {} from {}").format(ident, role_ident))
    conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(ident, role_ident))
    conn.execute(
        sql.SQL("alter default privileges in schema {} revoke all on tables from {}").format(
            ident, role_ident
        )
    )


def publish(settings: Settings | None = None, run: CheckRun | None = None) -> list[str]:
    """Swap the build schemas in, in one transaction; returns the schemas published.

    Refuses when `run` (the audit of the build) failed a blocking check, or when a build
    schema is missing.
    """
    if run is not None and (
        not run.is_success
        or run.is_partial
        or run.layer != "marts"
        or run.audited_schemas != [build_schema(s) for s in PUBLISHED]
    ):
        raise PublishRefused(
            f"the audit {run.run_id} is not a passing audit of the build schemas "
            f"({len(run.failed_blocking)} blocking check(s) failed): "
            "the published layer stays as it was"
        )
    settings = settings or get_settings()
    with psycopg.connect(settings.warehouse_url) as conn:
        ensure_tables(conn)
        with conn.transaction():
            conn.execute("set local lock_timeout = '60s'")
            conn.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
            missing = [s for s in PUBLISHED if not _schema_exists(conn, build_schema(s))]
            if missing:
                raise PublishRefused(
                    "no build to publish: "
                    + ", ".join(build_schema(s) for s in missing)
                    + " missing (run `kontingent publish`)"
                )
            for schema in PUBLISHED:
                current = sql.Identifier(schema)
                previous = sql.Identifier(schema + PREVIOUS_SUFFIX)
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
                if _schema_exists(conn, schema):
                    conn.execute(sql.SQL("alter schema {} rename to {}").format(current, previous))
                    for role in SCHEMAS[schema]:
                        _revoke_readers(conn, schema + PREVIOUS_SUFFIX, role)
                conn.execute(
                    sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(build_schema(schema)), current
                    )
                )
                grant_readers(conn, schema)
            conn.execute(
                "insert into dq.publications (run_id, published_schemas, warnings) "
                "values (%s, %s, %s)",
                (
                    run.run_id if run else None,
                    list(PUBLISHED),
                    len(run.failed_warning) if run else 0,
                ),
            )
    return list(PUBLISHED)


def audit_and_publish(settings: Settings | None = None, project_dir: Path = PROJECT_DIR) -> Outcome:
    """Audit the build schemas and publish them when no blocking check fails."""
    settings = settings or get_settings()
    run = run_check("marts", build=True, settings=settings, project_dir=project_dir)
    if not run.is_success:
        return Outcome(
            run,
            False,
            f"not published: {len(run.failed_blocking)} blocking check(s) failed on the build",
        )
    publish(settings, run)
    return Outcome(
        run, True, f"published {', '.join(PUBLISHED)} ({len(run.failed_warning)} warning(s))"
    )


def build_audit_publish(
    settings: Settings | None = None,
    project_dir: Path = PROJECT_DIR,
    dbt_args: list[str] | None = None,
) -> Outcome:
    """The whole cycle, as `kontingent publish` and the DAG run it."""
    import subprocess

    settings = settings or get_settings()
    try:
        write(settings, dbt_args)
    except subprocess.CalledProcessError as exc:
        return Outcome(None, False, f"not published: dbt build failed ({exc.returncode})")
    return audit_and_publish(settings, project_dir)
