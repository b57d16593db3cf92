"""The edges of transfer matching, the yearly status and the lost-children list, each a student
of the hand-written edge region (edge_region.py), checked against what the rules say by hand."""

from __future__ import annotations

import os
from datetime import date

import psycopg
import pytest
from edge_region import LAST_EXTRACT, A, B, C, R

from ingestion.pseudonym import pseudonym


@pytest.fixture(scope="module")
def conn(edge_warehouse):
    with psycopg.connect(edge_warehouse.url) as connection:
        yield connection


def key(sid: str) -> str:
    return pseudonym(os.environ["KONTINGENT_PSEUDONYM_KEY"].encode(), sid)


def sid(edge_warehouse, case: str) -> str:
    return key(edge_warehouse.cases[case].sid)


def status(conn, student: str, year: int = 2025) -> str | None:
    row = conn.execute(
        "select status from core.fct_student_year_status "
        "where student_id = %s and academic_year_start = %s",
        (student, year),
    ).fetchone()
    return row[0] if row else None


def matches(conn, student: str) -> list[tuple]:
    return conn.execute(
        "select exit_date, organization_id, destination_organization_id, arrival_organization_id,"
        " days_away, match_outcome from core.fct_transfer_match where student_id = %s "
        "order by exit_date",
        (student,),
    ).fetchall()


def lost_keys(conn) -> set[str]:
    return {r[0] for r in conn.execute("select student_id from core.fct_lost_child")}


def test_announced_to_one_school_arrives_at_another(conn, edge_warehouse):
    s = sid(edge_warehouse, "elsewhere")
    assert matches(conn, s) == [(date(2025, 10, 10), A, B, C, 4, "arrived_elsewhere")]
    # classified by where the child arrived: C is in another municipality
    assert status(conn, s) == "transfer_to_other_municipality"


def test_arrival_on_day_29_is_matched_and_on_day_31_is_not(conn, edge_warehouse):
    day29, day31 = sid(edge_warehouse, "day29"), sid(edge_warehouse, "day31")
    assert matches(conn, day29) == [(date(2025, 11, 3), A, B, B, 29, "arrived_where_announced")]
    assert matches(conn, day31) == [(date(2025, 11, 3), A, B, None, None, "did_not_arrive")]
    assert status(conn, day29) == "transfer_within_municipality"
    # away longer than the window: lost that year, but admitted since, so not on today's list
    assert status(conn, day31) == "lost"
    assert day31 not in lost_keys(conn)


def test_transfer_across_the_summer_counts_school_days_only(conn, edge_warehouse):
    s = sid(edge_warehouse, "summer")
    # 29 May → 1 September: 30 and 31 May and 1 September, the summer not counted
    assert matches(conn, s) == [(date(2026, 5, 29), A, C, C, 3, "arrived_where_announced")]
    assert status(conn, s) == "transfer_to_other_municipality"
    assert status(conn, s, 2026) == "continued"


def test_restoration_after_expulsion_is_a_return(conn, edge_warehouse):
    s = sid(edge_warehouse, "restored")
    assert matches(conn, s) == [(date(2025, 11, 10), A, None, A, 14, "returned")]
    assert status(conn, s) == "continued"
    assert s not in lost_keys(conn)
    # no move in the flows (a gap of 14 days, more than 10, makes the student mobile at A)
    moves = conn.execute(
        "select count(*) from staging.int_trajectory_moves where student_id = %s", (s,)
    ).fetchone()[0]
    assert moves == 0


def test_grade9_completer_of_16_admitted_nowhere_is_lost(conn, edge_warehouse):
    s = sid(edge_warehouse, "grade9_nowhere")
    assert matches(conn, s) == [(date(2026, 6, 26), A, None, None, None, "did_not_arrive")]
    assert status(conn, s) == "lost"
    row = conn.execute(
        "select last_organization_id, exit_date, days_since_exit, municipality_id "
        "from core.fct_lost_child where student_id = %s",
        (s,),
    ).fetchone()
    assert row == (A, date(2026, 6, 26), (LAST_EXTRACT - date(2026, 6, 26)).days, "57701")


def test_grade9_completer_going_to_a_college_is_not_lost(conn, edge_warehouse):
    s = sid(edge_warehouse, "grade9_college")
    assert status(conn, s) == "to_vocational"
    assert s not in lost_keys(conn)


def test_family_education_is_not_lost(conn, edge_warehouse):
    s = sid(edge_warehouse, "family")
    assert status(conn, s) == "to_family_education"
    assert s not in lost_keys(conn)


def test_a_fourteen_year_old_who_leaves_is_lost_a_fifteen_year_old_leaves_lawfully(
    conn, edge_warehouse
):
    fourteen, fifteen = sid(edge_warehouse, "fourteen"), sid(edge_warehouse, "fifteen")
    assert status(conn, fourteen) == "lost"
    assert fourteen in lost_keys(conn)
    assert status(conn, fifteen) == "left_lawfully"
    assert fifteen not in lost_keys(conn)


def test_moving_out_of_the_region_and_arriving_from_outside(conn, edge_warehouse):
    moved, newcomer = sid(edge_warehouse, "moved"), sid(edge_warehouse, "newcomer")
    assert status(conn, moved) == "left_region"
    assert moved not in lost_keys(conn)
    flows = dict(
        conn.execute(
            "select source_id || '>' || target_id, students from marts.agg_trajectory_flows "
            "where flow_level = 'organization' and academic_year_start = 2025"
        ).fetchall()
    )
    assert flows[f"{B}>outside_region"] == 1  # the student who moved away
    assert flows[f"outside_region>{B}"] == 1  # the newcomer into grade 3
    assert status(conn, newcomer) == "continued"


def test_reorganization_moves_a_whole_school_without_transfers(conn, edge_warehouse):
    students = [sid(edge_warehouse, "reorg_1"), sid(edge_warehouse, "reorg_2")]
    assert [status(conn, s) for s in students] == ["reorganized", "reorganized"]
    outcomes = conn.execute(
        "select exit_kind, match_outcome, students from marts.agg_transfer_outcomes "
        "where municipality_id = '57701' and academic_year_start = 2025 order by 1, 2"
    ).fetchall()
    assert ("reorganization", "arrived_where_announced", 2) in outcomes
    announced = {o: n for k, o, n in outcomes if k == "announced_transfer"}
    # the announced transfers of A only: elsewhere, day 29, day 31, summer
    assert announced == {
        "arrived_elsewhere": 1,
        "arrived_where_announced": 2,
        "did_not_arrive": 1,
    }
    mobile = conn.execute(
        "select students_mobile from marts.agg_mobility "
        "where organization_id = %s and academic_year_start = 2025",
        (R,),
    ).fetchone()[0]
    assert mobile == 0  # moving with the organization is no move


def test_an_exit_cancelled_by_a_tombstone_leaves_no_trace(conn, edge_warehouse):
    s = sid(edge_warehouse, "tombstone")
    assert matches(conn, s) == []
    assert status(conn, s) == "continued"
    assert s not in lost_keys(conn)


def test_the_lost_list_is_exactly_the_children_lost_today(conn, edge_warehouse):
    assert lost_keys(conn) == {
        sid(edge_warehouse, "grade9_nowhere"),
        sid(edge_warehouse, "fourteen"),
    }
    counts = conn.execute(
        "select academic_year_start, municipality_id, students, students_suppressed "
        "from marts.agg_lost_children order by 1"
    ).fetchall()
    # two children of 57701: a small cell, suppressed in the column other roles read
    assert counts == [(2025, "57701", 2, None)]


def test_mobility_of_school_a(conn, edge_warehouse):
    row = conn.execute(
        "select students_enrolled, students_mobile, students_stable, mobility_rate, "
        "stability_rate from marts.agg_mobility "
        "where organization_id = %s and academic_year_start = 2025",
        (A,),
    ).fetchone()
    # A had 11 students in 2025/2026. Left after 20 September and before the summer: elsewhere,
    # day29, day31, restored (14 days away), family, fourteen, fifteen = 7; summer (a year-end
    # move), the grade 9 completers (June) and the tombstoned exit do not count.
    assert row[:3] == (11, 7, 4)
    assert (float(row[3]), float(row[4])) == (round(700 / 11, 2), round(400 / 11, 2))
