"""The warehouse built from the clean correctness region equals the generator's ground truth,
exactly: enrolment on 20 September, movements, accounts, attestation and additional education.
The generator computes these from its own model, never from the files; any difference fails."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import psycopg
import pytest

SEX = {"male": "М", "female": "Ж"}


@pytest.fixture(scope="module")
def conn(built_warehouse):
    with psycopg.connect(built_warehouse.url) as connection:
        yield connection


def _rows(conn, query: str, params=()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def test_the_region_is_not_degenerate(built_warehouse):
    """Before comparing anything: the region has the cases the comparisons must cover."""
    facts = built_warehouse.manifest["non_degeneracy"]
    assert facts, "the manifest lists its non-degeneracy facts"
    attestation = built_warehouse.manifest["attestation"]
    assert any(row["pass_rate"] < 100 for row in attestation if row["subject_to_attestation"])
    assert any(
        0 < row["quality_rate"] < 100 for row in attestation if row["subject_to_attestation"]
    )
    movement_types = {row["type"] for row in built_warehouse.manifest["movements"]}
    assert "Оставлен на повторное обучение" in movement_types
    lost = [r for r in built_warehouse.manifest["trajectory_counts"] if r["class"] == "lost"]
    assert sum(r["count"] for r in lost) > 0


def test_enrolment_on_20_september_by_organization_grade_and_sex(conn, built_warehouse):
    expected = Counter()
    for row in built_warehouse.manifest["enrolment"]:
        key = (row["date"], row["org_id"], row["program"], row["grade"], row["sex"])
        expected[key] += row["count"]
    assert expected, "the manifest has enrolment figures"
    # the registry's history before the first school year holds current spells only, so the
    # count dates compared are the manifest's (those of the generated school years)
    dates = sorted({key[0] for key in expected})
    actual = Counter()
    for count_date, org, program, grade, sex, students in _rows(
        conn,
        """
        select a.count_date::text, a.organization_id, p.source_code,
               nullif(a.grade_level, 0), a.sex, sum(a.students)
        from marts.agg_enrolment as a
        join staging.program_levels as p on p.program_level = a.program_level
        where a.is_main_program and a.count_date::text = any(%s)
        group by 1, 2, 3, 4, 5
        """,
        (dates,),
    ):
        actual[(count_date, org, program, grade, SEX.get(sex, sex))] += int(students)
    assert actual == expected


def test_movements_by_type_program_and_year(conn, built_warehouse):
    expected = Counter(
        {
            (row["school_year"], row["type"], row["program"]): row["count"]
            for row in built_warehouse.manifest["movements"]
        }
    )
    actual = Counter(
        {
            (f"{year}/{year + 1}", event, program): int(count)
            for year, event, program, count in _rows(
                conn,
                """
                select m.academic_year_start, e.source_code, p.source_code, count(*)
                from core.fct_movement as m
                join staging.event_types as e on e.event_type = m.event_type
                join staging.program_levels as p on p.program_level = m.program_level
                group by 1, 2, 3
                """,
            )
        }
    )
    assert actual == expected


def test_accounts_by_role(conn, built_warehouse):
    truth = built_warehouse.manifest["accounts"]
    as_of = truth["as_of"]
    linked = dict(
        _rows(
            conn,
            """
            select r.role_name_ru, count(*) filter (where a.esia_linked_date <= %s::date)
            from core.fct_account as a
            join marts.dim_role as r using (role_id)
            group by 1
            """,
            (as_of,),
        )
    )
    assert {k: v for k, v in linked.items() if v} == truth["linked_by_role"]
    totals = dict(
        _rows(
            conn,
            """
            select r.role_name_ru, count(*)
            from core.fct_account as a
            join marts.dim_role as r using (role_id)
            group by 1
            """,
        )
    )
    assert totals == truth["accounts_by_role"]


def _rate(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_attestation_by_organization_grade_and_period(conn, built_warehouse):
    fields = ("subject_to_attestation", "passed", "quality", "excellent", "good", "one_fail")
    expected = {}
    for row in built_warehouse.manifest["attestation"]:
        if row["subject_to_attestation"]:
            key = (row["school_year"], row["org_id"], row["grade"], row["period"])
            counts = tuple(row[f] for f in fields)
            expected[key] = (*counts, _rate(row["pass_rate"]), _rate(row["quality_rate"]))
    assert expected, "the manifest has attestation figures"
    rows = _rows(
        conn,
        """
        select academic_year, organization_id, grade_level, term_name_ru,
               students_attested, students_passed, students_quality, students_excellent,
               students_good, students_one_failing_mark, pass_rate, quality_rate
        from marts.agg_results
        where students_attested > 0
        """,
    )
    actual = {tuple(row[:4]): (*row[4:10], _rate(row[10]), _rate(row[11])) for row in rows}
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
    wrong = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert wrong == {}


def test_additional_education_on_20_september(conn, built_warehouse):
    expected = {
        (row["date"], row["direction"]): (row["enrolments"], row["children"])
        for row in built_warehouse.manifest["additional_education"]
    }
    actual = {}
    for count_date, direction, enrolments, children in _rows(
        conn,
        """
        select count_date::text, coalesce(orientation_code, '*'), count(*),
               count(distinct student_id)
        from core.fct_enrolment_on_count_date
        where not is_main_program and to_char(count_date, 'MM-DD') = '09-20'
        group by grouping sets ((count_date, orientation_code), (count_date))
        """,
    ):
        actual[(count_date, direction)] = (int(enrolments), int(children))
    assert actual == expected
