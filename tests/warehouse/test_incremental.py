"""A daily delta run processes only new loads, and an incremental build after several daily
loads equals a full refresh, row for row."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

KONTINGENT = [sys.executable, "-m", "kontingent.cli"]
CHECKSUM = """
    select count(*), md5(coalesce(string_agg(row_text, '' order by row_text), ''))
    from (select t::text as row_text from {} as t) as rows
"""
# the fact and the incremental aggregates of marks, with what dashboards read from them
MARK_TABLES = (
    "core.fct_mark",
    "staging.int_marks_by_month",
    "marts.agg_attendance",
    "marts.agg_current_marks",
    "staging.int_marks_outside_enrolment",
)
MARK_MODELS = [t.split(".")[1] for t in MARK_TABLES]
# the enrolment ranges that the check of marks outside enrolment reads, rebuilt on every run
ENROLMENT_MODELS = ["+int_enrolment_coverage"]
CAUTIOUS = ["--indirect-selection", "cautious"]
MOVEMENTS_HEADER = (
    "ID события;ID обучающегося;ID ОО;Тип события;Дата события;Вид программы;Направленность;"
    "Код программы;Параллель;Класс;Форма обучения;Причина;ОО назначения;Номер приказа;"
    "Дата приказа;Удалена"
)


def _run(args: list[str], env: dict) -> None:
    started = time.monotonic()
    proc = subprocess.run([*KONTINGENT, *args], env=env, capture_output=True, text=True)
    print(f"{' '.join(args[:2])}: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _extract_date(path: Path) -> str:
    return re.search(r"_(\d{8})", path.name).group(1)


def _deliver(files: list[Path], landing: Path, env: dict, keep) -> None:
    """Drop the files whose extract date `keep` accepts into the landing folder and load it."""
    for path in files:
        if keep(_extract_date(path)):
            shutil.copy2(path, landing / path.name)
    _run(["load", str(landing)], env)


def _moved_mark(files: list[Path], day: str, landing: Path) -> tuple[str, ...]:
    """Send again, as a second file of `day`, one earlier mark with its lesson a month earlier
    within the same school year (the month it leaves must be counted again, not only the one it
    enters), and another mark, of a second organization, given to the first mark's student
    (not enrolled there; the organizations' counts of marks stay).
    Returns the first mark's ID, its old and new lesson dates (ISO), the second mark's ID and
    the student's ID."""
    found = (
        found
        for found in _marks_lines(files)
        if found[3].month in (10, 11, 12, 2, 3, 4, 5) and found[3].day <= 28
    )
    lines, fields, at, lesson, iso = next(found)
    moved = lesson.replace(month=lesson.month - 1)
    fields[at] = moved.isoformat() if iso else moved.strftime("%d.%m.%Y")
    header = lines[0].split(";")
    organization, student = header.index("ID ОО"), header.index("ID обучающегося")
    foreign = next(other[1] for other in found if other[1][organization] != fields[organization])
    foreign[student] = fields[student]
    path = landing / f"marks_{day}_02.csv"
    path.write_text(
        "\n".join([lines[0], ";".join(fields), ";".join(foreign)]) + "\n", encoding="utf-8"
    )
    return fields[0], lesson.isoformat(), moved.isoformat(), foreign[0], fields[student]


def _expulsion(files: list[Path], before: str, other_than: set[str]) -> tuple[str, str, list[str]]:
    """An expulsion, dated on the lesson of a mark delivered before day `before`, of that
    mark's student from its organization: the mark and the student's later marks there fall
    outside enrolment. The mark and its student are none of `other_than` (marks and students
    the test changes otherwise). Returns the mark ID, the lesson date (ISO) and the
    movement's fields."""
    for lines, fields, _at, lesson, _iso in _marks_lines(
        [p for p in files if _extract_date(p) < before]
    ):
        header = lines[0].split(";")
        student, organization = (
            fields[header.index(name)] for name in ("ID обучающегося", "ID ОО")
        )
        grade = re.match(r"[1-9][0-9]?", fields[header.index("Класс")])
        if lesson.month in (11, 12, 2, 3, 4) and grade and not {fields[0], student} & other_than:
            break
    level = "НОО" if int(grade.group()) <= 4 else "ООО" if int(grade.group()) <= 9 else "СОО"
    on = lesson.strftime("%d.%m.%Y")
    event = [f"test-expulsion-{fields[0]}", student, organization, "Отчисление", on, level]
    event += ["", "", "", "", "очная", "смена места жительства", "", "1-т", on, "нет"]
    return fields[0], lesson.isoformat(), event


def _marks_lines(files: list[Path]):
    """Each plain line of the marks files, split, with its lesson date."""
    for path in files:
        if not path.name.startswith("marks_"):
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1251")
        lines = text.splitlines()
        at = lines[0].split(";").index("Дата урока")
        for line in lines[1:]:
            fields = line.split(";")
            if '"' in line or not fields[at]:
                continue
            value = fields[at]
            iso = "." not in value
            lesson = (
                dt.date.fromisoformat(value)
                if iso
                else dt.datetime.strptime(value, "%d.%m.%Y").date()
            )
            yield lines, fields, at, lesson, iso


def _checksums(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(CHECKSUM.format(t)).fetchone() for t in MARK_TABLES}


def test_incremental_equals_full_refresh(warehouse, correctness_region, pseudonym_key, tmp_path):
    region, manifest = correctness_region
    files = sorted(p for p in region.iterdir() if p.is_file() and not p.name.startswith("_"))
    mark_days = sorted({_extract_date(p) for p in files if p.name.startswith("marks_")})
    assert len(mark_days) > 10
    cut_days = mark_days[-2:]  # the last days arrive one at a time, as daily deltas
    landing = tmp_path / "landing"
    landing.mkdir()
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt-target")}

    _deliver(files, landing, env, lambda d: d < cut_days[0])
    _run(
        ["dbt", "build", "--select", "+int_marks_by_month", *ENROLMENT_MODELS, *CAUTIOUS],
        env,
    )
    _run(["dbt", "run", "--select", *MARK_MODELS[2:]], env)
    with psycopg.connect(warehouse.url) as conn:
        before = conn.execute("select count(*), max(load_id) from core.fct_mark").fetchone()
    assert before[0] > 0

    moved = _moved_mark(files, cut_days[-1], landing)
    expelled, expelled_on, expulsion = _expulsion(
        files, cut_days[0], {moved[0], moved[3], moved[4]}
    )
    outside = "select mark_id from staging.int_marks_outside_enrolment"
    for day, event in zip(cut_days, (expulsion, [*expulsion[:-1], "да"]), strict=True):
        # the expulsion arrives with the first day and is withdrawn (a tombstone) with the last
        (landing / f"movements_{day}_02.csv").write_text(
            MOVEMENTS_HEADER + "\n" + ";".join(event) + "\n", encoding="utf-8"
        )
        _deliver(files, landing, env, lambda d, day=day: d == day)
        _run(["dbt", "run", "--select", *MARK_MODELS, *ENROLMENT_MODELS], env)
        with psycopg.connect(warehouse.url) as conn:
            found = {row[0] for row in conn.execute(outside)}
        assert (expelled in found) == (day == cut_days[0]), (day, expelled, expelled_on)
    assert moved[3] in found, "a mark given to a student of another organization"
    incremental = _checksums(warehouse.url)
    with psycopg.connect(warehouse.url) as conn:
        assert conn.execute(
            "select mark_id, lesson_date::text from core.fct_mark where mark_id = %s", moved[:1]
        ).fetchall() == [(moved[0], moved[2])]
        # the month it left was noted, and is counted again by the incremental aggregate
        assert (
            conn.execute(
                "select count(*) from core.fct_mark_replaced where lesson_date = %s", moved[1:2]
            ).fetchone()[0]
            >= 1
        )
        newest = conn.execute("select max(load_id) from core.fct_mark").fetchone()[0]
        deleted = conn.execute(
            """
            select count(*) from staging.stg_journal__mark_versions as deletion
            where deletion.is_deleted and deletion.load_id > %(cut)s
              and exists (
                  select 1 from staging.stg_journal__mark_versions as earlier
                  where earlier.mark_id = deletion.mark_id and earlier.load_id <= %(cut)s
                    and not earlier.is_deleted)
            """,
            {"cut": before[1]},
        ).fetchone()[0]
    assert newest > before[1], "the incremental runs took in the new loads"
    assert deleted > 0, "the daily loads delete marks given before them: removal was exercised"

    _run(["dbt", "run", "--select", *MARK_MODELS, *ENROLMENT_MODELS, "--full-refresh"], env)
    full = _checksums(warehouse.url)
    assert incremental == full
    assert all(count > 0 for count, _ in full.values())
    # and the current marks equal the generator's ground truth
    truth = {
        (row["org_id"], row["school_year"]): (row["marks"], row["numeric"], row["numeric_sum"])
        for row in manifest["current_marks"]
    }
    with psycopg.connect(warehouse.url) as conn:
        rows = conn.execute(
            """
            select organization_id, academic_year_start || '/' || academic_year_start + 1,
                   count(*), count(numeric_value), coalesce(sum(numeric_value), 0)
            from core.fct_mark group by 1, 2
            """
        ).fetchall()
    assert {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows} == truth


@pytest.mark.parametrize(
    ("feed", "model", "key"),
    [
        ("final_marks", "stg_journal__final_marks", "final_mark_id"),
        ("students", "stg_kontingent__students", "student_id"),
    ],
)
def test_staging_incremental_equals_full_refresh(
    warehouse, correctness_region, pseudonym_key, tmp_path, feed, model, key
):
    """The final marks' and the students' staging tables read only new loads; after daily
    loads, and a re-sent older extract arriving last, each equals a full refresh row for row."""
    region, _manifest = correctness_region
    files = sorted(p for p in region.iterdir() if p.is_file() and not p.name.startswith("_"))
    days = sorted({_extract_date(p) for p in files if p.name.startswith(f"{feed}_")})
    assert len(days) >= 4
    cut_days = days[-3:]
    landing = tmp_path / "landing"
    landing.mkdir()
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt-target")}
    table = f"staging.{model}"
    model = ["dbt", "run", "--select", model]

    _deliver(files, landing, env, lambda d: d < cut_days[0])
    _run(model, env)
    with psycopg.connect(warehouse.url) as conn:
        first = conn.execute(f"select count(*), max(load_id) from {table}").fetchone()
    assert first[0] > 0
    for day in cut_days:
        _deliver(files, landing, env, lambda d, day=day: d == day)
        _run(model, env)
    # an early extract sent again (new content: its last line dropped) after the newer ones
    early = next(p for p in files if p.name.startswith(f"{feed}_"))
    lines = early.read_bytes().splitlines(keepends=True)
    resent = landing / early.name.replace(".csv", "_99.csv")
    resent.write_bytes(b"".join(lines[:-1]))
    _run(["load", str(landing)], env)
    _run(model, env)
    with psycopg.connect(warehouse.url) as conn:
        incremental = conn.execute(CHECKSUM.format(table)).fetchone()
        resent_rows = conn.execute(
            "select rows_loaded from raw.load_log where file_name = %s and status = 'loaded'",
            (resent.name,),
        ).fetchone()
        changed = conn.execute(
            f"select count(*) from {table} where load_id > %s", (first[1],)
        ).fetchone()[0]
        assert resent_rows is not None and resent_rows[0] > 0
        assert changed > 0, "the incremental runs took in the new loads"
    _run([*model, "--full-refresh"], env)
    with psycopg.connect(warehouse.url) as conn:
        full = conn.execute(CHECKSUM.format(table)).fetchone()
        assert _has_unique_index(conn, table, key)
    assert incremental == full


def test_students_table_of_an_earlier_release_is_rebuilt(
    warehouse, correctness_region, pseudonym_key, tmp_path
):
    """A students' staging table built before it was incremental (no `load_id`) is rebuilt
    from the whole history on the next run, gains the column, and equals a full refresh."""
    region, _manifest = correctness_region
    files = sorted(p for p in region.iterdir() if p.name.startswith("students_"))
    landing = tmp_path / "landing"
    landing.mkdir()
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt-target")}
    table = "staging.stg_kontingent__students"
    model = ["dbt", "run", "--select", "stg_kontingent__students"]
    _deliver(files, landing, env, lambda _d: True)
    _run(model, env)
    with psycopg.connect(warehouse.url) as conn:
        conn.execute(f"alter table {table} drop column load_id")
        conn.execute(f"update {table} set sex = 'unknown'")  # what a rebuild must put right
    _run(model, env)
    with psycopg.connect(warehouse.url) as conn:
        rebuilt = conn.execute(CHECKSUM.format(table)).fetchone()
        assert conn.execute(f"select count(*) from {table} where load_id > 0").fetchone()[0] > 0
    _run([*model, "--full-refresh"], env)
    with psycopg.connect(warehouse.url) as conn:
        assert rebuilt == conn.execute(CHECKSUM.format(table)).fetchone()


def _has_unique_index(conn: psycopg.Connection, table: str, column: str) -> bool:
    return conn.execute(
        """
        select exists (
            select 1 from pg_index as i
            join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
            where i.indrelid = %s::regclass and i.indisunique
              and i.indnatts = 1 and a.attname = %s)
        """,
        (table, column),
    ).fetchone()[0]


def test_mark_grain_is_enforced_by_the_table(built_warehouse):
    """The fact's grain (one row per mark ID) is a unique index, so no data test re-reads the
    whole table for it: the index is there after a build, and a duplicate is refused."""
    with psycopg.connect(built_warehouse.url) as conn:
        assert _has_unique_index(conn, "core.fct_mark", "mark_id")
        assert conn.execute("select count(*) from core.fct_mark").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into core.fct_mark select * from core.fct_mark limit 1")
        conn.rollback()
        final_marks = "staging.stg_journal__final_marks"
        assert _has_unique_index(conn, final_marks, "final_mark_id")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"insert into {final_marks} select * from {final_marks} limit 1")
