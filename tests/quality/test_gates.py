"""The checks catch what they are for: a clean region passes every blocking check, and each class
of defect, written into a copy of the built warehouse, trips its own check with its severity."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from quality.checks import catalogue, checks_of
from quality.project import PROJECT_DIR
from quality.run import run_check

NEWEST_MARKS_LOAD = "(select max(load_id) from raw.marks)"
NEWEST_ORG_SNAPSHOT = "(select max(load_id) from raw.organizations)"
NEWEST_COUNT_DATE = (
    "(select max(count_date) from core.fct_enrolment_on_count_date "
    "where to_char(count_date, 'MM-DD') = '09-20')"
)
LARGEST_SCHOOL = (
    "(select organization_id from marts.agg_enrolment where is_main_program "
    f"and count_date = {NEWEST_COUNT_DATE} group by organization_id "
    "order by sum(students) desc limit 1)"
)
NEWEST_QUARTER = (
    "(select academic_year, term_name_ru from core.fct_final_mark as f "
    "inner join marts.dim_term as t using (academic_year, term_name_ru) "
    "where t.term_system = 'quarter' order by t.start_date desc limit 1)"
)

ORPHANS = (
    "insert into raw.movements (load_id, extract_date, line_number, event_id, student_key, "
    "organization_id, event_type_code, event_date, program_level_code, grade_level, class_name) "
    "select m.load_id, m.extract_date, m.line_number + 100000 + n, 'orphan-event-' || n, "
    "'orphan-student-' || n, m.organization_id, 'Зачисление', m.event_date, 'НОО', 1, '1А' "
    "from (select * from raw.movements order by load_id desc limit 1) as m, "
    "generate_series(1, {n}) as n"
)


def test_committed_project_matches_the_check_definitions():
    """The committed suites are what quality/checks.py declares (rerun `python -m quality.project`
    after changing a check)."""
    on_disk: dict[str, tuple] = {}
    for path in (PROJECT_DIR / "expectations").rglob("*.json"):
        for exp in json.loads(path.read_text())["expectations"]:
            on_disk[exp["meta"]["check"]] = (exp["severity"], exp["kwargs"], exp["description"])
    declared = {
        c.name: ("critical" if c.blocking else "warning", c.kwargs, c.description)
        for c in catalogue()[1]
    }
    assert on_disk == declared
    layers = {c.name for c in checks_of("raw")} | {c.name for c in checks_of("marts")}
    assert layers == set(declared)
    text = (PROJECT_DIR / "great_expectations.yml").read_text()
    assert "${KONTINGENT_DQ_URL}" in text
    assert "postgresql://" not in text and "postgresql+psycopg://" not in text
    assert "analytics_enabled: false" in text


@pytest.fixture(scope="module")
def clean_runs(built_warehouse, warehouse_copy_module, gx_project):
    copy = warehouse_copy_module()
    raw = run_check("raw", settings=copy.settings, project_dir=gx_project)
    marts = run_check("marts", settings=copy.settings, project_dir=gx_project)
    return copy, raw, marts


def test_clean_region_passes_every_blocking_check(clean_runs):
    _copy, raw, marts = clean_runs
    for run in (raw, marts):
        assert len(run.results) == len(checks_of(run.layer))
        assert run.failed_blocking == [], [(r.check_name, r.error) for r in run.failed_blocking]
        assert run.is_success
    # the clean region is clean: no warning either
    assert raw.failed_warning == [] and marts.failed_warning == []


def test_every_result_is_in_dq_and_readable_by_dashboards(clean_runs):
    copy, raw, marts = clean_runs
    with psycopg.connect(copy.reader_url) as conn:
        rows = conn.execute(
            "select layer, check_name, severity, is_success, observed_value "
            "from dq.check_latest_results"
        ).fetchall()
        summary = conn.execute(
            "select layer, expectations, failed_blocking, is_success from dq.check_run_summary"
        ).fetchall()
    assert len(rows) == len(raw.results) + len(marts.results)
    by_name = {r[1]: r for r in rows}
    assert by_name["raw.marks.mark_value.codes"][2:4] == ("blocking", True)
    assert by_name["raw.load_log.marks.freshness"][2:4] == ("warning", True)
    assert by_name["marts.agg_enrolment.rows"][4] is not None  # the observed row count
    assert sorted(summary) == sorted(
        [("raw", len(raw.results), 0, True), ("marts", len(marts.results), 0, True)]
    )
    assert raw.data_docs_path and Path(raw.data_docs_path).exists()


# (name, layer, suite, statements, check that must fail, its severity)
DEFECTS = [
    (
        "missing column",
        "raw",
        "raw.movements",
        ["alter table raw.movements drop column program_level_code cascade"],
        "raw.movements.columns",
        "blocking",
    ),
    (
        "code outside list",
        "raw",
        "raw.marks",
        [f"update raw.marks set mark_value = '7' where load_id = {NEWEST_MARKS_LOAD}"],
        "raw.marks.mark_value.codes",
        "blocking",
    ),
    (
        "checksum storm",
        "raw",
        "raw.organizations.newest",
        [
            "update raw.organizations set is_inn_valid = false "
            f"where load_id = {NEWEST_ORG_SNAPSHOT} and organization_id in ("
            f"select organization_id from raw.organizations where load_id = {NEWEST_ORG_SNAPSHOT} "
            "order by organization_id limit 8)"
        ],
        "raw.organizations.newest.is_inn_valid.checksum_share",
        "warning",
    ),
    (
        "volume collapse (delta)",
        "raw",
        "raw.load_log",
        [
            "insert into raw.load_log (feed, file_name, extract_date, status, rows_read, "
            "rows_loaded, rows_rejected) select 'marks', 'marks_collapse.csv', "
            "max(extract_date) + 1, 'loaded', 4, 4, 0 from raw.load_log"
        ],
        "raw.load_log.marks.volume",
        "warning",
    ),
    (
        "volume collapse (snapshot)",
        "raw",
        "raw.load_log",
        [
            "insert into raw.load_log (feed, file_name, extract_date, status, rows_read, "
            "rows_loaded, rows_rejected) select 'students', 'students_collapse.csv', "
            "max(extract_date) + 1, 'loaded', 90, 90, 0 from raw.load_log"
        ],
        "raw.load_log.students.volume",
        "blocking",
    ),
    (
        "orphan movement (one)",
        "raw",
        "raw.movements",
        [ORPHANS.format(n=1)],
        "raw.movements.orphans",
        "warning",
    ),
    (
        "orphan movements (burst)",
        "raw",
        "raw.movements",
        [ORPHANS.format(n=40)],
        "raw.movements.orphan_burst",
        "blocking",
    ),
    (
        "duplicate enrolment burst",
        "marts",
        "marts.agg_enrolment",
        [
            "insert into core.fct_enrolment_on_count_date (count_date, enrolment_spell_id, "
            "student_id, organization_id, spell_track, is_main_program, grade_level, "
            "program_level, program_code, orientation_code, class_name, study_form_code, "
            "is_cutoff_date) select count_date, enrolment_spell_id || '-twin', student_id, "
            "'twin-school', spell_track, is_main_program, grade_level, program_level, "
            "program_code, orientation_code, class_name, study_form_code, is_cutoff_date "
            f"from core.fct_enrolment_on_count_date where count_date = {NEWEST_COUNT_DATE} "
            "and is_main_program and student_id < '4'"
        ],
        "marts.agg_enrolment.two_main_programs",
        "blocking",
    ),
    (
        "grade/age nonsense",
        "marts",
        "marts.agg_enrolment",
        [
            "update core.fct_enrolment_on_count_date set grade_level = 11 "
            f"where count_date = {NEWEST_COUNT_DATE} and is_main_program and grade_level = 1"
        ],
        "marts.agg_enrolment.grade_age",
        "warning",
    ),
    (
        "mark-distribution jump",
        "marts",
        "marts.agg_results",
        [
            "update core.fct_final_mark set numeric_value = 5, mark_code = '5' "
            f"where organization_id = {LARGEST_SCHOOL} and numeric_value is not null "
            f"and (academic_year, term_name_ru) = {NEWEST_QUARTER}"
        ],
        "marts.agg_results.fives_jump",
        "warning",
    ),
    (
        "enrolment outlier",
        "marts",
        "marts.agg_enrolment",
        [
            "update marts.agg_enrolment set students = students * 4 "
            f"where organization_id = {LARGEST_SCHOOL} and count_date = {NEWEST_COUNT_DATE}"
        ],
        "marts.agg_enrolment.outlier",
        "warning",
    ),
    (
        "reconciliation gap",
        "marts",
        "marts.agg_results",
        [
            "delete from core.fct_final_mark where final_mark_id in "
            "(select final_mark_id from core.fct_final_mark order by final_mark_id limit 25)"
        ],
        "marts.reconcile.final_marks",
        "blocking",
    ),
    (
        "broken reference in marts",
        "marts",
        "marts.agg_accounts",
        [
            "insert into marts.agg_accounts select month_start_date, 999, municipality_id, 1, 0 "
            "from marts.agg_accounts limit 1"
        ],
        "marts.agg_accounts.role_id.references",
        "blocking",
    ),
    (
        "flows lose a move at one level",
        "marts",
        "marts.agg_trajectory_flows",
        [
            "update marts.agg_trajectory_flows set students = students + 1 where ctid = "
            "(select ctid from marts.agg_trajectory_flows where flow_level = 'municipality' "
            "order by students desc limit 1)"
        ],
        "marts.agg_trajectory_flows.levels_agree",
        "blocking",
    ),
    (
        "a student without a yearly status",
        "marts",
        "marts.agg_student_year_status",
        [
            "delete from core.fct_student_year_status where student_id = "
            "(select min(student_id) from core.fct_student_year_status)"
        ],
        "marts.agg_student_year_status.covers_core",
        "blocking",
    ),
    (
        "a lost child missing from the aggregate",
        "marts",
        "marts.agg_student_year_status",
        [
            "insert into core.fct_lost_child (student_id, last_organization_id, "
            "municipality_id, exit_date, academic_year_start, days_since_exit) "
            "select 'planted-lost-child', organization_id, municipality_id, current_date, "
            "2026, 0 from marts.dim_organization where is_current limit 1"
        ],
        "marts.agg_lost_children.agrees_with_core",
        "blocking",
    ),
    (
        "more mobile students than enrolled",
        "marts",
        "marts.agg_mobility",
        [
            "update marts.agg_mobility set students_mobile = students_enrolled + 1 where ctid = "
            "(select ctid from marts.agg_mobility limit 1)"
        ],
        "marts.agg_mobility.bounds",
        "blocking",
    ),
]


@pytest.mark.parametrize(
    ("layer", "suite", "statements", "check", "severity"),
    [d[1:] for d in DEFECTS],
    ids=[d[0] for d in DEFECTS],
)
def test_defect_trips_its_check(
    clean_runs, warehouse_copy, gx_project, layer, suite, statements, check, severity
):
    _clean_copy, *clean = clean_runs
    assert {r.check_name: r for run in clean for r in run.results}[check].is_success
    copy = warehouse_copy()
    copy.execute(*statements)
    run = run_check(
        layer, settings=copy.settings, project_dir=gx_project, data_docs=False, suites=[suite]
    )
    result = run.result(check)
    assert not result.is_success, result
    assert result.severity == severity
    assert result.error is None, result.error  # it failed on the data, not on an exception
    with psycopg.connect(copy.url) as conn:
        stored = conn.execute(
            "select severity, is_success from dq.check_results where run_id = %s "
            "and check_name = %s",
            (run.run_id, check),
        ).fetchone()
    assert stored == (severity, False)
    if severity == "blocking":
        assert result in run.failed_blocking
    else:
        assert result in run.failed_warning


def test_check_command_exits_non_zero_on_a_blocking_failure(warehouse_copy, monkeypatch):
    from typer.testing import CliRunner

    from kontingent.cli import app

    copy = warehouse_copy()
    copy.execute(f"update raw.marks set mark_value = '7' where load_id = {NEWEST_MARKS_LOAD}")
    for key in ("WAREHOUSE_URL", "WAREHOUSE_READER_URL", "WAREHOUSE_PII_URL"):
        monkeypatch.setenv(key, copy.settings.env[key])
    result = CliRunner().invoke(app, ["check", "raw"])
    assert result.exit_code == 1, result.output
    assert "raw.marks.mark_value.codes" in result.output
    assert CliRunner().invoke(app, ["check", "nonsense"]).exit_code == 2
