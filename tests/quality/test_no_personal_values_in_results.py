"""Results never show values of personal-data columns: planted values are counted, not listed, in
the dq tables, the GX validation results and Data Docs; a planted value of a column that is not
personal is listed (so the scan below would have found a leak)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from quality.run import run_check

PLANTED_SEX = "ПОСАДКА-ПОЛ-7f3a"  # raw.students.sex (a person's attribute)
PLANTED_ROLE = "ПОСАДКА-РОЛЬ-91c2"  # raw.accounts.role (a person's account)
PLANTED_KEY = "planted-student-key-5d1e"  # a pseudonymous key in raw.marks
PLANTED_MARK = "ПОСАДКА-ОТМЕТКА"  # raw.marks.mark_value: a code, not personal


def _files_text(root: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.stat().st_size
    )


def test_planted_personal_values_are_counted_never_listed(warehouse_copy, gx_project):
    copy = warehouse_copy()
    copy.execute(
        f"update raw.students set sex = '{PLANTED_SEX}' "
        "where load_id = (select max(load_id) from raw.students) and line_number % 3 = 0",
        f"update raw.accounts set role = '{PLANTED_ROLE}' where line_number % 2 = 0",
        f"update raw.marks set student_key = '{PLANTED_KEY}', teacher_key = '{PLANTED_KEY}' "
        "where line_number % 5 = 0",
        f"update raw.marks set mark_value = '{PLANTED_MARK}' where line_number % 7 = 0",
    )
    run = run_check("raw", settings=copy.settings, project_dir=gx_project)

    sex = run.result("raw.students.sex.codes")
    role = run.result("raw.accounts.role.codes")
    mark = run.result("raw.marks.mark_value.codes")
    for result in (sex, role, mark):
        assert not result.is_success and result.unexpected_count, result
    assert sex.is_personal and role.is_personal and not mark.is_personal

    with psycopg.connect(copy.url) as conn:
        stored = conn.execute(
            "select string_agg(concat_ws('|', check_name, observed_value, error, description), "
            "E'\\n') from dq.check_results"
        ).fetchone()[0]
    docs = _files_text(Path(run.data_docs_path).parent)
    validations = _files_text(gx_project / "uncommitted" / "validations")
    assert docs and validations
    for text in (stored, docs, validations):
        for planted in (PLANTED_SEX, PLANTED_ROLE, PLANTED_KEY):
            assert planted not in text
    # the value of a non-personal code column is listed: the scan above can see listed values
    assert PLANTED_MARK in docs
