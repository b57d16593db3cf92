"""Lost children are re-identified only through `pii.lost_children_of`: one municipality per
call, every call in the audit log, no way in for the dashboards' role; the published aggregates
carry no identifiers."""

from __future__ import annotations

import psycopg
import pytest

PUBLISHED = (
    "agg_student_year_status",
    "agg_transfer_outcomes",
    "agg_trajectory_flows",
    "agg_cohort_survival",
    "agg_mobility",
    "agg_lost_children",
    "dim_trajectory_status",
)


def test_a_department_gets_its_own_lost_children_and_the_call_is_logged(edge_warehouse):
    with psycopg.connect(edge_warehouse.pii_url, autocommit=True) as conn:
        rows = conn.execute(
            "select surname, birth_date::text, last_organization_id, exit_date::text "
            "from pii.lost_children_of('57701', 'УО 57701: специалист') order by surname"
        ).fetchall()
        other = conn.execute("select count(*) from pii.lost_children_of('57610', 'УО 57610')")
        assert other.fetchone()[0] == 0
    assert rows == [
        ("Потерянная", "2010-01-15", "701001", "2026-06-26"),
        ("Четырнадцатилетняя", "2011-06-01", "701001", "2025-10-20"),
    ]
    with psycopg.connect(edge_warehouse.url) as conn:
        log = conn.execute(
            "select database_role, requested_by, municipality_id, cardinality(student_keys) "
            "from pii.reidentification_log order by call_id"
        ).fetchall()
        keys = conn.execute(
            "select student_keys from pii.reidentification_log where municipality_id = '57701'"
        ).fetchone()[0]
        listed = [r[0] for r in conn.execute("select student_id from core.fct_lost_child")]
    assert log == [
        ("kontingent_pii", "УО 57701: специалист", "57701", 2),
        ("kontingent_pii", "УО 57610", "57610", 0),
    ]
    assert sorted(keys) == sorted(listed)


def test_a_call_without_a_municipality_or_a_person_is_refused(edge_warehouse):
    with (
        psycopg.connect(edge_warehouse.pii_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.RaiseException),
    ):
        conn.execute("select * from pii.lost_children_of('57701', '')")


def test_the_dashboards_role_reaches_aggregates_only(edge_warehouse):
    with psycopg.connect(edge_warehouse.reader_url, autocommit=True) as conn:
        assert conn.execute("select sum(students) from marts.agg_lost_children").fetchone()[0]
        for query in (
            "select * from pii.lost_children_of('57701', 'someone')",
            "select * from core.fct_lost_child",
            "select * from core.fct_student_year_status",
            "select * from core.fct_transfer_match",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query)


def test_published_trajectory_marts_have_no_person_columns(edge_warehouse):
    with psycopg.connect(edge_warehouse.url) as conn:
        columns = conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = any(%s)",
            (list(PUBLISHED),),
        ).fetchall()
    assert {t for t, _ in columns} == set(PUBLISHED)
    identifying = {"student_id", "student_key", "birth_date", "birth_year", "snils", "surname",
                   "first_name", "has_ovz", "is_disabled"}  # fmt: skip
    personal = [(t, c) for t, c in columns if c in identifying or c.endswith("event_id")]
    assert personal == []
