"""Personal data stays in `pii`: a scanner that is first proven able to find planted values,
the roles' access, the age function, erasure and retention."""

from __future__ import annotations

import datetime as dt
import re

import psycopg
import pytest
from ingestion_files import (
    MARK_HEADER,
    MOVEMENT_HEADER,
    STUDENT_HEADER,
    mark_row,
    movement_row,
    student_row,
    write,
)

PEOPLE = [
    ("S-0001", "Кузнецова", "Мария", "123-456-789 64", "14.03.2013"),
    ("S-0002", "Смирнов", "Пётр", "987-654-321 00", "2012-11-30"),
    ("S-0003", "Баранова", "Ольга", "", "05.05.2014"),
]


def _load_people(landing, load):
    rows = []
    for sid, surname, name, snils, birth in PEOPLE:
        rows.append(student_row(sid, surname=surname, snils=snils, birth=birth, first_name=name))
    rows.append(student_row("S-0004", surname="Орлов", birth="31.02.2014"))  # quarantined
    write(landing, "students_20250901.csv", STUDENT_HEADER, rows)
    write(landing, "movements_20250902.csv", MOVEMENT_HEADER,
          [movement_row("E1", "S-0001"), movement_row("E2", "S-0002")])  # fmt: skip
    write(landing, "marks_20250903.csv", MARK_HEADER, [mark_row("M1", "S-0001")])
    return load(landing)


def _needles() -> dict[str, str]:
    """Every identifying value of the input, in each form it could take."""
    out: dict[str, str] = {}
    for sid, surname, name, snils, birth in [*PEOPLE, ("S-0004", "Орлов", "", "", "")]:
        out[surname] = "surname"
        if name:
            out[name] = "name"
        if snils:
            digits = re.sub(r"\D", "", snils)
            out[snils] = "snils"
            out[digits] = "snils digits"
        if birth and birth != "31.02.2014":
            d = (dt.datetime.strptime(birth, "%d.%m.%Y") if "." in birth
                 else dt.datetime.strptime(birth, "%Y-%m-%d")).date()  # fmt: skip
            out[d.strftime("%d.%m.%Y")] = "birth date"
            out[d.isoformat()] = "birth date"
        out[sid] = "source ID"
    return out


def scan(url: str, needles: dict[str, str], skip_schemas=("pii",)) -> list[str]:
    """Every (table.column: kind) outside the skipped schemas holding a needle."""
    found = []
    with psycopg.connect(url) as conn:
        cols = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema not in ('pg_catalog', 'information_schema') "
            "and table_schema <> all(%s) order by 1, 2, 3",
            (list(skip_schemas),),
        ).fetchall()
        for schema, table, column in cols:
            for needle, kind in needles.items():
                hit = conn.execute(
                    f'select 1 from "{schema}"."{table}" '
                    f'where strpos("{column}"::text, %s) > 0 limit 1',
                    (needle,),
                ).fetchone()
                if hit:
                    found.append(f"{schema}.{table}.{column}: {kind}")
    return found


def test_scanner_finds_planted_values_then_nothing_outside_pii(landing, load, wh):
    res = _load_people(landing, load)
    assert all(r.status == "loaded" for r in res.values())
    needles = _needles()
    # prove the scanner can fail: plant values in a raw table, one of each kind
    with psycopg.connect(wh.url) as conn:
        conn.execute("create table raw.planted (note text, day date)")
        conn.execute(
            "insert into raw.planted values (%s, null), (%s, null), (%s, %s)",
            ("ученик Кузнецова", "СНИЛС 12345678964", "др", dt.date(2013, 3, 14)),
        )
    found = scan(wh.url, needles)
    assert "raw.planted.note: surname" in found
    assert "raw.planted.note: snils digits" in found
    assert "raw.planted.day: birth date" in found
    with psycopg.connect(wh.url) as conn:
        conn.execute("drop table raw.planted")
    # the real tables: nothing identifying outside pii (the source IDs of students are
    # pseudonymized everywhere except in the kept original lines of quarantined marks)
    assert scan(wh.url, needles) == []
    inside = scan(wh.url, needles, skip_schemas=("raw", "staging", "core", "marts", "forms",
                                                 "dq", "public"))  # fmt: skip
    assert any(f.startswith("pii.students.surname") for f in inside)
    assert any(f.startswith("pii.quarantine.original_line") for f in inside)


def test_roles_see_only_their_zone(landing, load, wh):
    _load_people(landing, load)
    with psycopg.connect(wh.pii_url) as conn:
        assert conn.execute("select count(*) from pii.students").fetchone()[0] == 3
        assert conn.execute("select count(*) from pii.quarantine").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.students")
    with psycopg.connect(wh.reader_url) as conn:
        for table in ("pii.students", "raw.students", "raw.quarantine"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table}")
            conn.rollback()


def test_age_function_answers_without_reading_pii(landing, load, wh, q, pseudonym_key):
    from ingestion.pseudonym import pseudonym

    _load_people(landing, load)
    key = pseudonym(pseudonym_key.encode(), "S-0001")  # born 14.03.2013
    assert q("select pii.age_on(%s, date '2026-03-13')", (key,)) == [(12,)]
    assert q("select pii.age_on(%s, date '2026-03-14')", (key,)) == [(13,)]
    ages = dict(q("select student_key, age from pii.ages_on(date '2026-01-01')"))
    assert ages[key] == 12 and len(ages) == 3
    fn = q("select prosecdef, pg_get_userbyid(proowner) from pg_proc "
           "where oid = 'pii.age_on(text, date)'::regprocedure")  # fmt: skip
    assert fn == [(True, "kontingent_owner")]


def test_newest_version_of_a_person_is_one_index_entry(landing, load, wh, q):
    """`pii.age_on` runs once per counted student in the forms: its newest version must be the
    first entry of the student's key in an index, not a sort of all the weekly versions."""
    _load_people(landing, load)
    with psycopg.connect(wh.url, autocommit=True) as conn:
        conn.execute("set enable_seqscan = off")
        plan = [r[0] for r in conn.execute(
            "explain select s.birth_date from pii.students as s where s.student_key = 'k' "
            "and s.birth_date is not null "
            "order by s.extract_date desc, s.load_id desc, s.line_number limit 1")]  # fmt: skip
    assert any("students_student_key_newest" in line for line in plan), plan
    assert not any("Sort" in line for line in plan), plan


def test_erase_removes_identifying_data_and_keeps_facts(landing, load, wh, q, pseudonym_key):
    from ingestion.erase import erase_person
    from ingestion.pseudonym import pseudonym

    _load_people(landing, load)
    write(landing, "marks_20250904.csv", MARK_HEADER, [mark_row("M9", "S-0001", mark="7")])
    load(landing)
    key = pseudonym(pseudonym_key.encode(), "S-0001")
    before = q("select count(*) from raw.movements where student_key = %s", (key,))
    res = erase_person(student_id="S-0001", url=wh.url)
    assert res.pii_rows == 1 and res.quarantine_lines == 1
    assert q("select count(*) from pii.students where student_key = %s", (key,)) == [(0,)]
    assert q("select count(*) from raw.movements where student_key = %s", (key,)) == before
    assert q("select count(*) from raw.students where student_key = %s", (key,)) == [(1,)]
    assert q("select original_line, erased_at is not null from raw.quarantine") == [(None, True)]
    assert q("select subject_kind, subject_key from pii.erasures") == [("student", key)]
    assert q("select pii.age_on(%s, current_date)", (key,)) == [(None,)]
    needles = {k: v for k, v in _needles().items() if v != "source ID"}
    assert not any("Кузнецова" in f for f in scan(wh.url, {"Кузнецова": "surname"}, ()))
    assert scan(wh.url, needles, skip_schemas=("pii",)) == []


def test_retention_drops_replaced_old_versions(landing, load, wh, q, monkeypatch):
    from ingestion.erase import apply_retention

    write(landing, "students_20250901.csv", STUDENT_HEADER, [student_row("S1", "Старая")])
    write(landing, "students_20250908.csv", STUDENT_HEADER, [student_row("S1", "Новая")])
    load(landing)
    assert q("select count(*) from pii.students") == [(2,)]
    with psycopg.connect(wh.url) as conn:
        out = apply_retention(conn, days=30)
    assert out["students"] == 1
    assert q("select surname from pii.students") == [("Новая",)]
    assert q("select count(*) from raw.students") == [(2,)]
