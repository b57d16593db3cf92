"""Forms built from the correctness region: control ratios hold at every level, additive cells
of a territory equal the sum over its parts, rates are recomputed at each level, and the
figures equal the generator's ground truth or a direct count over the `core` facts."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from forms_support import DOP_DATE, FORM_DATES, OO1_DATE, RESULTS_DATE, query

FORMS = sorted(FORM_DATES)


# -- control ratios and additivity -------------------------------------------------------------
@pytest.mark.parametrize("form", FORMS)
def test_control_ratios_hold_at_every_level(form, build, territories):
    on = FORM_DATES[form]
    built = [build(form, on)]
    for muni, orgs in territories.items():
        built.append(build(form, on, "municipality", muni))
        built += [build(form, on, "organization", org) for org in orgs]
    for f in built:
        assert f.controls, f"{form} {f.territory_slug}: control ratios evaluated"
        assert f.violations == [], f"{form} {f.territory_slug}: {f.violations[:3]}"
    region = built[0]
    assert any(c.ok for c in region.controls)


def _additive_sum(parts, key):
    return sum(p.values[key] for p in parts if p.values.get(key) not in (None, "x"))


@pytest.mark.parametrize("form", FORMS)
def test_municipality_is_the_sum_of_its_organizations_and_region_of_municipalities(
    form, build, territories
):
    on = FORM_DATES[form]
    region = build(form, on)
    municipalities = []
    checked = 0
    for muni, orgs in territories.items():
        mform = build(form, on, "municipality", muni)
        municipalities.append(mform)
        parts = [build(form, on, "organization", org) for org in orgs]
        for key, value in mform.values.items():
            if value in (None, "x") or not mform.is_additive(key):
                continue
            if not all(key in p.values for p in parts):
                continue  # a list section (classes) has its own rows in each organization
            assert _additive_sum(parts, key) == value, (form, muni, key)
            checked += 1
    for key, value in region.values.items():
        if value in (None, "x") or not region.is_additive(key, over="municipalities"):
            continue
        if all(key in m.values for m in municipalities):
            assert _additive_sum(municipalities, key) == value, (form, key)
            checked += 1
    assert checked > 20


def test_unduplicated_children_are_not_summed(build, territories):
    """1-ДОП children (section 2) are counted once per level: the region's figure is not the
    sum over organizations, while enrolments (section 1) are."""
    region = build("1dop", DOP_DATE)
    orgs = [o for orgs in territories.values() for o in orgs]
    parts = [build("1dop", DOP_DATE, "organization", o) for o in orgs]
    assert not region.is_additive(("2", "01", "3"))
    assert _additive_sum(parts, ("1", "01", "4")) == region.values[("1", "01", "4")]
    # children in two programs: enrolments exceed children
    assert region.values[("2", "01", "3")] < region.values[("1", "01", "4")]
    # the region's children in any направленность are fewer than the sum over направленности
    directions = sum(region.values[("2", f"{r:02d}", "3")] for r in range(2, 8))
    assert region.values[("2", "01", "3")] < directions


def test_rates_are_recomputed_not_averaged(build, territories):
    region = build("results", RESULTS_DATE)
    differs = 0
    for muni, orgs in territories.items():
        mform = build("results", RESULTS_DATE, "municipality", muni)
        parts = [build("results", RESULTS_DATE, "organization", o) for o in orgs]
        for row in [r.code for r in mform.sections[0].rows if r.code != "02"]:
            attested = mform.values[("1", row, "3")]
            if not attested:
                continue
            for numerator, rate in (("4", "5"), ("6", "7")):
                expected = round(100 * mform.values[("1", row, numerator)] / attested, 2)
                assert mform.values[("1", row, rate)] == expected
                rates = [p.values[("1", row, rate)] for p in parts if p.values[("1", row, "3")]]
                if rates and abs(sum(rates) / len(rates) - expected) > 0.01:
                    differs += 1
    assert differs, "the region has municipalities where averaging rates would be wrong"
    assert region.values[("1", "01", "5")] == round(
        100 * region.values[("1", "01", "4")] / region.values[("1", "01", "3")], 2
    )


# -- figures against the ground truth ----------------------------------------------------------
def test_oo1_students_by_organization_grade_and_sex_equal_the_manifest(build, built_warehouse):
    expected: Counter = Counter()
    for row in built_warehouse.manifest["enrolment"]:
        if row["date"] == OO1_DATE.isoformat() and row["program"] in ("НОО", "ООО", "СОО"):
            expected[(row["org_id"], row["grade"], row["sex"])] += row["count"]
    assert expected
    actual: Counter = Counter()
    units = {org for org, _, _ in expected}
    for org in units:
        f = build("oo1", OO1_DATE, "organization", org, branches_separately=True)
        for grade in range(1, 12):
            col = str(grade + 3)
            total, girls = f.values[("1", "04", col)], f.values[("1", "07", col)]
            if girls:
                actual[(org, grade, "Ж")] += girls
            if total - girls:
                actual[(org, grade, "М")] += total - girls
    assert actual == expected
    region = build("oo1", OO1_DATE)
    assert region.values[("1", "04", "3")] == sum(expected.values())


def test_oo1_ages_equal_a_direct_count_from_birth_dates(build, built_warehouse):
    """Independent: birth dates read in the restricted zone, ages computed here."""
    births = dict(
        query(
            built_warehouse.pii_url,
            """
            select distinct on (student_key) student_key, birth_date
            from pii.students where birth_date is not null
            order by student_key, extract_date desc, load_id desc, line_number
            """,
        )
    )
    enrolled = query(
        built_warehouse.url,
        """
        select e.student_id, e.grade_level, s.sex
        from core.fct_enrolment_on_count_date as e
        join core.dim_student as s using (student_id)
        where e.count_date = %s and e.is_main_program
          and e.program_level in ('primary', 'basic', 'secondary')
        """,
        (OO1_DATE,),
    )
    on = date(OO1_DATE.year + 1, 1, 1)
    by_age: Counter = Counter()
    for student, grade, sex in enrolled:
        born = births.get(student)
        age = (
            None
            if born is None
            else on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        )
        bucket = (
            "15" if age is None else "02" if age < 7 else "14" if age >= 18 else f"{age - 4:02d}"
        )
        by_age[(bucket, str(grade + 4))] += 1
        if sex == "female":
            by_age[(bucket, "4")] += 1
        by_age[(bucket, "3")] += 1
    f = build("oo1", OO1_DATE)
    for row in [r.code for r in f.sections[1].rows if r.code != "01"]:
        for col in [c.code for c in f.sections[1].section.columns]:
            assert f.values[("2", row, col)] == by_age[(row, col)], (row, col)
    assert f.values[("2", "01", "3")] == len(enrolled)


def test_oo1_departures_equal_the_manifest(build, built_warehouse):
    reasons = {
        "перевод в другую ОО": "4",
        "смена места жительства": "5",
        "переход на семейное образование": "6",
        "по инициативе обучающегося": "7",
        "по инициативе ОО": "8",
    }
    rows = {"НОО": "02", "ООО": "03", "СОО": "04"}
    report = date(2026, 9, 20)
    expected: Counter = Counter()
    for r in built_warehouse.manifest["exit_reasons"]:
        if r["school_year"] == "2025/2026" and r["program"] in rows:
            expected[(rows[r["program"]], reasons.get(r["reason"], "9"))] += r["count"]
    f = build("oo1", report)
    actual = Counter(
        {
            (row, col): f.values[("3", row, col)]
            for row in rows.values()
            for col in map(str, range(4, 10))
            if f.values[("3", row, col)] not in (0, "x")
        }
    )
    assert actual == expected


def _rate(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_results_by_organization_grade_and_period_equal_the_manifest(build, built_warehouse):
    fields = ("subject_to_attestation", "passed", "quality", "excellent", "good", "one_fail")
    columns = ("3", "4", "6", "9", "10", "11")
    checked = 0
    for row in built_warehouse.manifest["attestation"]:
        if row["school_year"] != "2025/2026" or not row["subject_to_attestation"]:
            continue
        if row["period"] not in ("Год", "1 четверть"):
            continue
        f = build(
            "results", RESULTS_DATE, "organization", row["org_id"],
            period=row["period"], branches_separately=True,
        )  # fmt: skip
        line = f"{row['grade'] + 1:02d}"
        actual = tuple(f.values[("1", line, c)] for c in columns)
        assert actual == tuple(row[k] for k in fields), (row["org_id"], row["grade"])
        assert _rate(f.values[("1", line, "5")]) == _rate(row["pass_rate"])
        assert _rate(f.values[("1", line, "7")]) == _rate(row["quality_rate"])
        if row["numeric_final_marks"]:
            mean = row["numeric_final_sum"] / row["numeric_final_marks"]
            assert f.values[("1", line, "8")] == round(mean, 2)
        checked += 1
    assert checked > 20


def test_esia_accounts_by_role_equal_the_manifest(build, built_warehouse):
    truth = built_warehouse.manifest["accounts"]
    f = build("esia", date.fromisoformat(truth["as_of"]))
    labels = {r.code: r.label for r in f.sections[0].rows}
    linked = {labels[r]: f.values[("1", r, "3")] for r in labels if r != "01"}
    totals = {labels[r]: f.values[("1", r, "4")] for r in labels if r != "01"}
    assert {k: v for k, v in linked.items() if v} == truth["linked_by_role"]
    assert {k: v for k, v in totals.items() if v} == truth["accounts_by_role"]
    assert f.values[("1", "01", "3")] == sum(truth["linked_by_role"].values())


def test_dop_equals_a_direct_count_over_core(build, built_warehouse):
    start, end = date(DOP_DATE.year, 1, 1), date(DOP_DATE.year + 1, 1, 1)
    rows = query(
        built_warehouse.url,
        """
        select orientation_code,
               count(distinct (student_id, organization_id, program_code)),
               count(distinct student_id),
               count(distinct (organization_id, program_code))
        from core.fct_enrolment_spell
        where not is_main_program and start_date < %s and coalesce(end_date, 'infinity') > %s
        group by grouping sets ((orientation_code), ())
        """,
        (end, start),
    )
    f = build("1dop", DOP_DATE)
    line = {r.where.get("orientation_code"): r.code for r in f.sections[0].rows}
    for orientation, enrolments, children, programs in rows:
        r = line[orientation]
        assert f.values[("1", r, "4")] == enrolments
        assert f.values[("1", r, "3")] == programs
        r2 = "01" if orientation is None else r
        assert f.values[("2", r2, "3")] == children
