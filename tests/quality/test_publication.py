"""Write-audit-publish: a build that fails a blocking check changes nothing dashboards read; a
build that passes replaces the published layer in one step, which a reader querying all along
sees as old contents, then new contents, and never anything in between.

The build schemas are made here by copying the published tables (what `dbt build` with the
publish suffix writes; tested in test_dbt_writes_published_layer_to_build_schemas), so the tests
exercise audit and swap without a dbt run."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
import yaml

from kontingent.settings import PROJECT_ROOT
from quality.publish import PUBLISHED, audit_and_publish, publish
from quality.publish import PublishRefused as Refused

CONTENT_CHECKSUM = """
select string_agg(t.schemaname || '.' || t.tablename || ':' || (
    xpath('/row/h/text()', query_to_xml(format(
        'select md5(coalesce(string_agg(r::text, ''|'' order by r::text), '''')) as h '
        'from %%I.%%I as r', t.schemaname, t.tablename), false, true, '')))[1]::text, ','
    order by t.schemaname, t.tablename)
from pg_tables as t where t.schemaname = any(%s)
"""


def _checksum(url: str, schemas: list[str]) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(CONTENT_CHECKSUM, (schemas,)).fetchone()[0]


def _stage_build(copy, change: str | None = None) -> None:
    """Build schemas as dbt writes them: copies of the published tables, no reader grants."""
    statements = []
    for schema in PUBLISHED:
        statements.append(f"drop schema if exists {schema}_next cascade")
        statements.append(f"create schema {schema}_next")
    with psycopg.connect(copy.url) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables where schemaname = any(%s)",
            (list(PUBLISHED),),
        ).fetchall()
    statements += [f"create table {s}_next.{t} as table {s}.{t}" for s, t in tables]
    if change:
        statements.append(change)
    copy.execute(*statements)


def _reader_relations(copy) -> set[str]:
    with psycopg.connect(copy.reader_url) as conn:
        rows = conn.execute(
            "select table_schema from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    return {r[0] for r in rows}


def test_dbt_writes_published_layer_to_build_schemas():
    """dbt_project.yml routes the published folders through the publish suffix."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    models = project["models"]["kontingent"]
    var = "{{ var('kontingent:publish_schema_suffix', '') }}"
    assert models["marts"]["published"]["+schema"] == "marts" + var
    assert models["forms"]["+schema"] == "forms" + var
    assert models["marts"]["core"]["+schema"] == "core"  # the facts are never swapped
    assert project["vars"]["kontingent:publish_schema_suffix"] == ""


def test_blocking_failure_leaves_publication_untouched(warehouse_copy, gx_project):
    copy = warehouse_copy()
    _stage_build(copy, "alter table marts_next.agg_enrolment drop column students")
    before = _checksum(copy.url, list(PUBLISHED))
    assert before

    outcome = audit_and_publish(copy.settings, gx_project)

    assert not outcome.published
    assert "marts.agg_enrolment.columns" in {r.check_name for r in outcome.run.failed_blocking}
    assert _checksum(copy.url, list(PUBLISHED)) == before
    with pytest.raises(Refused):
        publish(copy.settings, outcome.run)
    assert _checksum(copy.url, list(PUBLISHED)) == before
    # the dashboards' role sees the failure and nothing of the build or the internal schemas
    assert _reader_relations(copy) <= {"marts", "forms", "dq"}
    with psycopg.connect(copy.reader_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from marts_next.dim_date")
        conn.rollback()
        failed = conn.execute(
            "select is_success, failed_blocking, published_at from dq.check_run_summary "
            "where run_id = %s",
            (outcome.run.run_id,),
        ).fetchone()
    assert failed[0] is False and failed[1] >= 1 and failed[2] is None


def test_passing_build_swaps_atomically(warehouse_copy, gx_project):
    copy = warehouse_copy()
    new_name = "dim_municipality.municipality_name || ' (новая сборка)'"
    _stage_build(copy, f"update marts_next.dim_municipality set municipality_name = {new_name}")
    with psycopg.connect(copy.url) as conn:
        rows = conn.execute("select count(*) from marts.dim_municipality").fetchone()[0]
        students = conn.execute("select sum(students) from marts.agg_enrolment").fetchone()[0]
    core_before = _checksum(copy.url, ["core"])

    seen: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            with psycopg.connect(copy.reader_url, autocommit=True) as conn:
                while not stop.is_set():
                    seen.append(
                        conn.execute(
                            "select (select count(*) from marts.dim_municipality), "
                            "(select count(*) from marts.dim_municipality "
                            "where municipality_name like '% (новая сборка)'), "
                            "(select sum(students) from marts.agg_enrolment)"
                        ).fetchone()
                    )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        outcome = audit_and_publish(copy.settings, gx_project)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (seen and seen[-1][1] == rows):
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert outcome.published, outcome.message
    assert errors == []
    assert all(total == rows and summed == students for total, _new, summed in seen)
    states = {new for _total, new, _summed in seen}
    assert states == {0, rows}, "the reader saw only the old and the new contents, both"
    first_new = next(i for i, s in enumerate(seen) if s[1] == rows)
    assert all(s[1] == rows for s in seen[first_new:]), "never back to the old contents"

    # grants hold after the swap, the build and previous schemas are not readable, core untouched
    copy.execute("create table marts.added_after_publication as select 1 as x")
    with psycopg.connect(copy.reader_url) as conn:
        assert conn.execute("select count(*) from marts.added_after_publication").fetchone() == (1,)
        forms = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'forms'"
        ).fetchall()
        assert forms
        conn.execute(f"select count(*) from forms.{forms[0][0]}")
    assert _reader_relations(copy) <= {"marts", "forms", "dq"}
    assert _checksum(copy.url, ["core"]) == core_before
    with psycopg.connect(copy.url) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace").fetchall()}
        published = conn.execute("select count(*) from dq.publications").fetchone()[0]
    assert {"marts_previous", "forms_previous"} <= schemas
    assert not {"marts_next", "forms_next"} & schemas
    assert published == 1


def test_results_and_data_docs_stay_out_of_git():
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "expectations/uncommitted/" in ignored
    assert (PROJECT_ROOT / "expectations" / ".gitignore").read_text().strip() == "uncommitted/"
