"""The trajectory marts built from the generated correctness region equal the generator's ground
truth exactly: every student's yearly status, transfer outcomes, flows at the three levels,
cohort survival, mobility and the lost-children list. Student IDs of the manifest are mapped to
the warehouse's pseudonymous keys with the test run's pseudonymization key."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest

from ingestion.pseudonym import pseudonym

ORG_TYPES = {
    "Общеобразовательная организация": "general",
    "Дошкольная образовательная организация": "preschool",
    "Профессиональная образовательная организация": "vocational",
    "Организация дополнительного образования": "additional",
}
NODES = ("outside_region", "not_enrolled", "pending")


@pytest.fixture(scope="module")
def conn(built_warehouse):
    with psycopg.connect(built_warehouse.url) as connection:
        yield connection


@pytest.fixture(scope="module")
def manifest(built_warehouse):
    return built_warehouse.manifest


def key(source_id: str) -> str:
    return pseudonym(os.environ["KONTINGENT_PSEUDONYM_KEY"].encode(), source_id)


def rows(conn, query: str, params=()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def label(year: int) -> str:
    return f"{year}/{year + 1}"


def test_the_region_has_every_case_the_comparisons_need(manifest):
    classes = {r["class"] for r in manifest["trajectory_counts"]}
    assert {"transfer_within_municipality", "transfer_to_other_municipality", "reorganized",
            "grade9_to_grade10_elsewhere", "to_vocational", "to_family_education",
            "left_region", "left_lawfully", "lost", "repeated", "graduated"} <= classes  # fmt: skip
    outcomes = {(r["kind"], r["outcome"]) for r in manifest["transfer_outcomes"]}
    assert {("announced_transfer", "arrived_where_announced"),
            ("announced_transfer", "arrived_elsewhere"),
            ("announced_transfer", "did_not_arrive"),
            ("reorganization", "arrived_where_announced")} <= outcomes  # fmt: skip
    targets = {r["target"] for r in manifest["flows"]} | {r["source"] for r in manifest["flows"]}
    assert {"outside_region", "not_enrolled"} <= targets
    assert {r["entry_grade"] for r in manifest["cohorts"]} == {1, 5, 10}
    assert any(r["mobile"] for r in manifest["mobility"])
    assert manifest["lost_children"]


def test_manifest_outcomes_agree_with_the_simulated_cases(manifest):
    """The manifest pairs exits with entries from the model's events; the simulation recorded
    its intent separately (the cases): both must say the same."""
    outcome = Counter()
    for r in manifest["transfer_outcomes"]:
        if r["kind"] == "announced_transfer":
            outcome[r["outcome"]] += r["count"]
    assert outcome["arrived_elsewhere"] == len(manifest["cases"]["arrived_elsewhere"])
    assert outcome["did_not_arrive"] == len(manifest["cases"]["transfer_not_arrived"])
    lost_classes = {r["student_id"] for r in manifest["trajectories"] if r["class"] == "lost"}
    assert {r["student_id"] for r in manifest["lost_children"]} == lost_classes


def test_yearly_status_of_every_student_equals_the_ground_truth(conn, manifest):
    expected = {
        (key(r["student_id"]), r["school_year"]): r["class"] for r in manifest["trajectories"]
    }
    actual = {
        (student, year): status
        for student, year, status in rows(
            conn, "select student_id, academic_year, status from core.fct_student_year_status"
        )
    }
    assert len(actual) == len(expected) > 1000
    wrong = {k: (actual.get(k), expected.get(k)) for k in expected.keys() | actual.keys()
             if actual.get(k) != expected.get(k)}  # fmt: skip
    assert wrong == {}


def test_yearly_status_counts_equal_the_ground_truth(conn, manifest):
    expected = Counter(
        {(r["school_year"], r["class"]): r["count"] for r in manifest["trajectory_counts"]}
    )
    by_municipality = Counter(
        (r["school_year"], r["municipality"], r["class"]) for r in manifest["trajectories"]
    )
    actual = Counter()
    published = {}
    for year, muni, status, students, suppressed in rows(
        conn,
        "select academic_year, municipality_id, status, students, students_suppressed "
        "from marts.agg_student_year_status",
    ):
        actual[(year, status)] += students
        published[(year, muni, status)] = students
        assert suppressed == (students if students >= 5 else None)
    assert actual == expected
    assert published == dict(by_municipality)
    organizations = Counter(
        {
            (year, org): n
            for year, org, n in rows(
                conn,
                "select academic_year, organization_id, count(*) "
                "from core.fct_student_year_status group by 1, 2",
            )
        }
    )
    assert organizations == Counter(
        (r["school_year"], r["org_id"]) for r in manifest["trajectories"]
    )


def test_transfer_outcomes_equal_the_ground_truth(conn, manifest):
    expected = Counter({(r["school_year"], r["municipality"], r["kind"], r["outcome"]): r["count"]
                        for r in manifest["transfer_outcomes"]})  # fmt: skip
    actual = Counter(
        {
            tuple(r[:4]): r[4]
            for r in rows(
                conn,
                "select academic_year, municipality_id, exit_kind, match_outcome, students "
                "from marts.agg_transfer_outcomes",
            )
        }
    )
    assert actual == expected
    suppressed = rows(
        conn,
        "select count(*) from marts.agg_transfer_outcomes "
        "where (students < 5) <> (students_suppressed is null)",
    )
    assert suppressed == [(0,)]


def _flows(conn, level: str) -> Counter:
    return Counter(
        {
            (year, source, target): students
            for year, source, target, students in rows(
                conn,
                "select academic_year, source_id, target_id, students "
                "from marts.agg_trajectory_flows where flow_level = %s",
                (level,),
            )
        }
    )


def test_flows_equal_the_ground_truth_at_every_level(conn, manifest):
    orgs = {o["org_id"]: o for o in manifest["organizations"]}

    def node(value: str, attribute) -> str:
        return value if value in NODES else attribute(orgs[value])

    by_org: Counter = Counter()
    by_muni: Counter = Counter()
    by_type: Counter = Counter()
    for r in manifest["flows"]:
        y, s, t, n = r["school_year"], r["source"], r["target"], r["count"]
        by_org[(y, s, t)] += n
        muni = lambda o: o["municipality"]  # noqa: E731
        kind = lambda o: ORG_TYPES[o["type"]]  # noqa: E731
        by_muni[(y, node(s, muni), node(t, muni))] += n
        by_type[(y, node(s, kind), node(t, kind))] += n
    assert _flows(conn, "organization") == by_org
    assert _flows(conn, "municipality") == by_muni
    assert _flows(conn, "organization_type") == by_type
    assert any(s != t and s not in NODES and t not in NODES for _, s, t in by_muni)


def _school_days(start: date, end: date) -> int:
    return sum(1 for i in range(1, (end - start).days + 1)
               if not 6 <= (start + timedelta(days=i)).month <= 8)  # fmt: skip


def test_flows_conserve_students(conn, manifest):
    """For each year, level and node: out-flows = the node's leavers, counted here from the
    movement fact (main-program exits not followed by a return to the same organization)."""
    events = defaultdict(list)
    for student, org, day, is_entry in rows(
        conn,
        "select student_id, organization_id, event_date, "
        "event_type in ('admission', 'restoration') from core.fct_movement "
        "where is_main_program and event_type in "
        "('admission', 'restoration', 'expulsion', 'graduation')",
    ):
        events[student].append((day, is_entry, org))
    first_year = int(manifest["school_years"][0][:4])
    leavers: Counter = Counter()
    for student_events in events.values():
        for day, is_entry, org in student_events:
            if is_entry:
                continue
            entries = sorted(e for e in student_events if e[1] and e[0] >= day)
            back = entries and entries[0][2] == org and _school_days(day, entries[0][0]) <= 30
            year = day.year if day.month >= 9 else day.year - 1
            if not back and year >= first_year:
                leavers[(label(year), org)] += 1
    out_flows: Counter = Counter()
    for (year, source, _), n in _flows(conn, "organization").items():
        if source not in NODES:
            out_flows[(year, source)] += n
    assert out_flows == leavers
    orgs = {o["org_id"]: o for o in manifest["organizations"]}
    for level, attribute in (
        ("municipality", lambda o: o["municipality"]),
        ("organization_type", lambda o: ORG_TYPES[o["type"]]),
    ):
        node_leavers: Counter = Counter()
        for (year, org), n in leavers.items():
            node_leavers[(year, attribute(orgs[org]))] += n
        node_out: Counter = Counter()
        for (year, source, _), n in _flows(conn, level).items():
            if source not in NODES:
                node_out[(year, source)] += n
        assert node_out == node_leavers, level


def test_cohort_survival_equals_the_ground_truth(conn, manifest):
    expected = Counter({(r["cohort_year"], r["entry_grade"], r["school_year"], r["status"],
                         r["grade"]): r["count"] for r in manifest["cohorts"]})  # fmt: skip
    actual = Counter()
    shares = defaultdict(Decimal)
    cells = {}
    for cohort, grade0, year, status, grade, students, share, size in rows(
        conn,
        "select cohort_year, entry_grade_level, academic_year, status, grade_level, students, "
        "share_percent, cohort_students from marts.agg_cohort_survival",
    ):
        actual[(cohort, grade0, year, status, grade)] = students
        shares[(cohort, grade0, year)] += share
        cells[(cohort, grade0, year, status, grade)] = (share, size)
    assert actual == expected
    sizes = Counter()
    for (cohort, grade0, year, _, _), n in expected.items():
        sizes[(cohort, grade0, year)] += n
    for cell, n in expected.items():
        size = sizes[cell[:3]]
        assert cells[cell] == (round(Decimal(100 * n) / size, 2), size)
    # the shares of each cohort and year add up to 100 (up to rounding of each cell)
    assert all(abs(total - 100) <= Decimal("0.05") for total in shares.values())


def test_mobility_equals_the_ground_truth(conn, manifest):
    expected = {(r["school_year"], r["org_id"]): (r["enrolled"], r["mobile"], r["stable"])
                for r in manifest["mobility"]}  # fmt: skip
    actual = {}
    for year, org, enrolled, mobile, stable, mobility, stability in rows(
        conn,
        "select academic_year, organization_id, students_enrolled, students_mobile, "
        "students_stable, mobility_rate, stability_rate from marts.agg_mobility",
    ):
        actual[(year, org)] = (enrolled, mobile, stable)
        assert mobility == round(Decimal(100 * mobile) / enrolled, 2)
        assert stability == round(Decimal(100 * stable) / enrolled, 2)
    assert actual == expected


def test_lost_children_equal_the_ground_truth(conn, manifest):
    expected = {(key(r["student_id"]), r["org_id"], r["exit_date"], r["days_since"])
                for r in manifest["lost_children"]}  # fmt: skip
    actual = {
        (student, org, day.isoformat(), days)
        for student, org, day, days in rows(
            conn,
            "select student_id, last_organization_id, exit_date, days_since_exit "
            "from core.fct_lost_child",
        )
    }
    assert actual == expected
    by_muni = Counter()
    longest: dict = {}
    for r in manifest["lost_children"]:
        exit_day = date.fromisoformat(r["exit_date"])
        cell = (exit_day.year if exit_day.month >= 9 else exit_day.year - 1, r["municipality"])
        by_muni[cell] += 1
        longest[cell] = max(longest.get(cell, 0), r["days_since"])
    published = {
        (year, muni): (students, suppressed, longest)
        for year, muni, students, suppressed, longest in rows(
            conn,
            "select academic_year_start, municipality_id, students, students_suppressed, "
            "longest_days_since_exit from marts.agg_lost_children",
        )
    }
    assert published == {k: (n, n if n >= 5 else None, longest[k]) for k, n in by_muni.items()}
