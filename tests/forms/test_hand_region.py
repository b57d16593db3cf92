"""The hand region (`tests/forms/hand_region/`, described in its README): 31 students in three
schools and one centre of additional education in two municipalities, written by hand in the
feed contract, loaded by `kontingent load` and built by `kontingent dbt build`. Every cell of
every form is stated here as a number counted by hand from those files (the comments say
which students make it up); a cell not listed must be empty: 0 for a count, no value for a
rate without a denominator, "x" where the form says so.

Organizations: 900001 СОШ № 1 and 900002 Гимназия № 2 (urban, municipality 57750),
900003 Озёрская СШ (rural, OKTMO 57660412: municipality 57660), 900004 ДДТ (additional
education only, municipality 57750).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import forms
from kontingent import db
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings

HAND_REGION = Path(__file__).parent / "hand_region"

OO1_DATE = date(2025, 9, 20)  # count date of ОО-1 2025; ages on 1 January 2026
DOP_DATE = date(2025, 12, 31)  # 1-ДОП for the calendar year 2025
RESULTS_DATE = date(2026, 6, 1)  # academic year 2025/2026, period «Год»
ESIA_DATE = date(2026, 6, 1)  # accounts linked to ESIA on or before 1 June 2026 (Moscow time)

SCHOOL_1, GYMNASIUM_2, OZYORSK, CENTRE = "900001", "900002", "900003", "900004"
CITY, DISTRICT = "57750", "57660"


# -- the warehouse of the hand region -----------------------------------------------------------
@pytest.fixture(scope="session")
def hand_warehouse(warehouse_template, pseudonym_key, tmp_path_factory) -> Iterator[dict]:
    """The hand region loaded and built in a database of its own (as `built_warehouse` does)."""
    settings = get_settings()
    name = f"kt_hand_{os.getpid()}"
    admin = settings.local_url(ROLE_OWNER, "postgres")
    db.drop_database(admin, name)
    db.clone_database(admin, warehouse_template, name)
    landing = tmp_path_factory.mktemp("hand-landing")
    shutil.copytree(HAND_REGION, landing, dirs_exist_ok=True)
    env = {
        **os.environ,
        "WAREHOUSE_URL": settings.local_url(ROLE_OWNER, name),
        "WAREHOUSE_READER_URL": settings.local_url(ROLE_READER, name),
        "WAREHOUSE_PII_URL": settings.local_url(ROLE_PII, name),
        "DBT_TARGET_PATH": str(tmp_path_factory.mktemp("hand-dbt-target")),
    }
    kontingent = [sys.executable, "-m", "kontingent.cli"]
    results = []
    for argv in (["load", str(landing), "--json"], ["dbt", "build"]):
        proc = subprocess.run([*kontingent, *argv], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"kontingent {argv[0]} failed:\n{proc.stdout[-3000:]}{proc.stderr}")
        results.append(proc.stdout)
    yield {"reader_url": env["WAREHOUSE_READER_URL"], "load": json.loads(results[0])}
    db.drop_database(admin, name)


@pytest.fixture(scope="session")
def hand_build(hand_warehouse):
    cache: dict[tuple, forms.Form] = {}

    def _build(form: str, on: date, level: str = "region", code: str | None = None):
        key = (form, on, level, code)
        if key not in cache:
            cache[key] = forms.build_form(
                form, on, level, code, url=hand_warehouse["reader_url"], suppress_health=False
            )
        return cache[key]

    return _build


def cells(section: str, row: str, values: dict[int, object]) -> dict[tuple, object]:
    """{column: value} of one row as form cells."""
    return {(section, row, str(col)): value for col, value in values.items()}


def merge(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out.update(part)
    return out


def assert_form(built: forms.Form, expected: dict[tuple, object]) -> None:
    """Every cell of the built form equals the expected one; a cell not listed is empty."""
    assert built.violations == [], built.violations
    missing = sorted(set(expected) - set(built.values))
    assert not missing, f"cells the form does not have: {missing}"
    wrong = []
    for key, value in built.values.items():
        if value == "x":
            assert key not in expected, f"{key} is an 'x' cell"
            continue
        want = expected.get(key, None if key in _ratio_cells(built) else 0)
        if not (value == want or forms.build.is_close(value, want)):
            wrong.append((key, value, want))
    assert not wrong, "cells (section, row, column), built, expected:\n" + "\n".join(
        f"  {k}: {got!r} != {want!r}" for k, got, want in wrong
    )


def _ratio_cells(built: forms.Form) -> set[tuple]:
    out = set()
    for section in built.sections:
        for row in section.rows:
            for col in section.section.columns:
                measure = col.measure or row.measure
                if measure is not None and measure.ratio is not None:
                    out.add((section.section.code, row.code, col.code))
    return out


def test_hand_region_files_load_without_rejections(hand_warehouse):
    load = hand_warehouse["load"]
    assert {r["feed"] for r in load} == {
        "organizations",
        "students",
        "movements",
        "marks",
        "final_marks",
        "accounts",
    }
    assert all(r["status"] == "loaded" for r in load), load
    assert sum(r["rows_rejected"] for r in load) == 0
    assert sum(r["rows_flagged"] for r in load) == 0
    # 4 organizations, 31 students, 12 + 26 + 8 + 1 movements, 4 marks, 48 final marks, 11 accounts
    assert sum(r["rows_loaded"] for r in load) == 4 + 31 + 47 + 4 + 48 + 11


# -- ОО-1 --------------------------------------------------------------------------------------
# section 1 columns: 3 all, 4..14 grades 1..11; section 2: 3 all, 4 girls, 5..15 grades 1..11
OO1_SCHOOL_1 = merge(
    # classes 1А, 5А, 9А (urban)
    cells("1", "01", {3: 3, 4: 1, 8: 1, 12: 1}),
    cells("1", "02", {3: 3, 4: 1, 8: 1, 12: 1}),
    # 1А s01–s04; 5А s05, s06, s08 and s07, kept in grade 5 on 29.05.2025; 9А s09–s12
    cells("1", "04", {3: 12, 4: 4, 8: 4, 12: 4}),
    cells("1", "05", {3: 12, 4: 4, 8: 4, 12: 4}),
    cells("1", "07", {3: 6, 4: 2, 8: 2, 12: 2}),  # girls s02 s03 | s06 s08 | s09 s11
    cells("1", "08", {3: 1, 8: 1}),  # ОВЗ: s08, a girl of 5А
    cells("1", "09", {3: 1, 12: 1}),  # disabled: s12 of 9А
    cells("1", "10", {3: 1, 8: 1}),  # repeater: s07
    # ages on 1 January 2026
    cells("2", "01", {3: 12, 4: 6, 5: 4, 9: 4, 13: 4}),
    cells("2", "02", {3: 1, 5: 1}),  # s04 born 20.02.2019: 6
    cells("2", "03", {3: 2, 4: 1, 5: 2}),  # s01 (14.03.2018), s03 (02.11.2018): 7
    cells("2", "04", {3: 1, 4: 1, 5: 1}),  # s02 born 01.01.2018: 8 on the day itself
    cells("2", "07", {3: 3, 4: 2, 9: 3}),  # s05, s06, s08 born 2014: 11
    cells("2", "08", {3: 1, 9: 1}),  # s07 born 06.06.2013: 12
    cells("2", "11", {3: 4, 4: 2, 13: 4}),  # s09–s12 born 2010: 15
    # departures in 2024/2025: s30 to family education (01.11.2024) and s17 transferred to
    # the gymnasium (15.01.2025), both from grade 4 (НОО)
    cells("3", "01", {3: 2, 4: 1, 6: 1}),
    cells("3", "02", {3: 2, 4: 1, 6: 1}),
)
OO1_GYMNASIUM_2 = merge(
    cells("1", "01", {3: 3, 5: 1, 8: 1, 10: 1}),  # 2А, 5А, 7А
    cells("1", "02", {3: 3, 5: 1, 8: 1, 10: 1}),
    # 2А s13–s15; 5А s16, s18 and s17 (came from СОШ № 1, promoted there); 7А s19, s20
    cells("1", "04", {3: 8, 5: 3, 8: 3, 10: 2}),
    cells("1", "05", {3: 8, 5: 3, 8: 3, 10: 2}),
    cells("1", "07", {3: 4, 5: 1, 8: 2, 10: 1}),  # s13 | s16 s18 | s20
    cells("2", "01", {3: 8, 4: 4, 6: 3, 9: 3, 11: 2}),
    cells("2", "04", {3: 3, 4: 1, 6: 3}),  # s13, s14, s15 (31.12.2017): 8
    cells("2", "07", {3: 3, 4: 2, 9: 3}),  # s16, s17, s18: 11
    cells("2", "09", {3: 2, 4: 1, 11: 2}),  # s19, s20 born 2012: 13
    # no departures: s17 left СОШ № 1, not the gymnasium
)
OO1_OZYORSK = merge(
    cells("1", "01", {3: 3, 6: 1, 13: 1, 14: 1}),  # 3А, 10А, 11А (rural)
    cells("1", "03", {3: 3, 6: 1, 13: 1, 14: 1}),
    # 3А s21–s23; 10А s24–s26; 11А s27, s28 (s31 graduated in June 2025: not counted)
    cells("1", "04", {3: 8, 6: 3, 13: 3, 14: 2}),
    cells("1", "06", {3: 8, 6: 3, 13: 3, 14: 2}),
    cells("1", "07", {3: 4, 6: 2, 13: 1, 14: 1}),  # s22 s23 | s25 | s27
    cells("2", "01", {3: 8, 4: 4, 7: 3, 14: 3, 15: 2}),
    cells("2", "05", {3: 3, 4: 2, 7: 3}),  # s21, s22, s23 born 2016: 9
    cells("2", "12", {3: 2, 4: 1, 14: 2}),  # s24, s25 born 2009: 16
    cells("2", "13", {3: 2, 4: 1, 14: 1, 15: 1}),  # s26 (10А, 11.11.2008), s27 (11А): 17
    cells("2", "14", {3: 1, 15: 1}),  # s28 born 06.06.2007: 18
    # s29 left grade 8 (ООО) on moving house, 10.03.2025; the graduate s31 is no departure
    cells("3", "01", {3: 1, 5: 1}),
    cells("3", "03", {3: 1, 5: 1}),
)
OO1_CITY = merge(
    # СОШ № 1 and the gymnasium: both have a class 5А, two classes of grade 5
    cells("1", "01", {3: 6, 4: 1, 5: 1, 8: 2, 10: 1, 12: 1}),
    cells("1", "02", {3: 6, 4: 1, 5: 1, 8: 2, 10: 1, 12: 1}),
    cells("1", "04", {3: 20, 4: 4, 5: 3, 8: 7, 10: 2, 12: 4}),
    cells("1", "05", {3: 20, 4: 4, 5: 3, 8: 7, 10: 2, 12: 4}),
    cells("1", "07", {3: 10, 4: 2, 5: 1, 8: 4, 10: 1, 12: 2}),
    cells("1", "08", {3: 1, 8: 1}),
    cells("1", "09", {3: 1, 12: 1}),
    cells("1", "10", {3: 1, 8: 1}),
    cells("2", "01", {3: 20, 4: 10, 5: 4, 6: 3, 9: 7, 11: 2, 13: 4}),
    cells("2", "02", {3: 1, 5: 1}),
    cells("2", "03", {3: 2, 4: 1, 5: 2}),
    cells("2", "04", {3: 4, 4: 2, 5: 1, 6: 3}),  # s02 (grade 1) and s13–s15 (grade 2)
    cells("2", "07", {3: 6, 4: 4, 9: 6}),
    cells("2", "08", {3: 1, 9: 1}),
    cells("2", "09", {3: 2, 4: 1, 11: 2}),
    cells("2", "11", {3: 4, 4: 2, 13: 4}),
    cells("3", "01", {3: 2, 4: 1, 6: 1}),
    cells("3", "02", {3: 2, 4: 1, 6: 1}),
)
OO1_REGION = merge(
    cells("1", "01", {3: 9, 4: 1, 5: 1, 6: 1, 8: 2, 10: 1, 12: 1, 13: 1, 14: 1}),
    cells("1", "02", {3: 6, 4: 1, 5: 1, 8: 2, 10: 1, 12: 1}),
    cells("1", "03", {3: 3, 6: 1, 13: 1, 14: 1}),
    cells("1", "04", {3: 28, 4: 4, 5: 3, 6: 3, 8: 7, 10: 2, 12: 4, 13: 3, 14: 2}),
    cells("1", "05", {3: 20, 4: 4, 5: 3, 8: 7, 10: 2, 12: 4}),
    cells("1", "06", {3: 8, 6: 3, 13: 3, 14: 2}),
    cells("1", "07", {3: 14, 4: 2, 5: 1, 6: 2, 8: 4, 10: 1, 12: 2, 13: 1, 14: 1}),
    cells("1", "08", {3: 1, 8: 1}),
    cells("1", "09", {3: 1, 12: 1}),
    cells("1", "10", {3: 1, 8: 1}),
    cells("2", "01", {3: 28, 4: 14, 5: 4, 6: 3, 7: 3, 9: 7, 11: 2, 13: 4, 14: 3, 15: 2}),
    cells("2", "02", {3: 1, 5: 1}),
    cells("2", "03", {3: 2, 4: 1, 5: 2}),
    cells("2", "04", {3: 4, 4: 2, 5: 1, 6: 3}),
    cells("2", "05", {3: 3, 4: 2, 7: 3}),
    cells("2", "07", {3: 6, 4: 4, 9: 6}),
    cells("2", "08", {3: 1, 9: 1}),
    cells("2", "09", {3: 2, 4: 1, 11: 2}),
    cells("2", "11", {3: 4, 4: 2, 13: 4}),
    cells("2", "12", {3: 2, 4: 1, 14: 2}),
    cells("2", "13", {3: 2, 4: 1, 14: 1, 15: 1}),
    cells("2", "14", {3: 1, 15: 1}),
    cells("3", "01", {3: 3, 4: 1, 5: 1, 6: 1}),
    cells("3", "02", {3: 2, 4: 1, 6: 1}),
    cells("3", "03", {3: 1, 5: 1}),
)


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("organization", SCHOOL_1, OO1_SCHOOL_1),
        ("organization", GYMNASIUM_2, OO1_GYMNASIUM_2),
        ("organization", OZYORSK, OO1_OZYORSK),
        ("municipality", CITY, OO1_CITY),
        ("municipality", DISTRICT, OO1_OZYORSK),  # the district has one school
        ("region", None, OO1_REGION),
    ],
    ids=["school-1", "gymnasium-2", "ozyorsk", "city", "district", "region"],
)
def test_oo1_equals_the_hand_count(hand_build, level, code, expected):
    assert_form(hand_build("oo1", OO1_DATE, level, code), expected)


# -- 1-ДОП -------------------------------------------------------------------------------------
# section 1 columns: 3 programs, 4 enrolments, 5 girls, 6 ОВЗ, 7 disabled, 8 <5, 9 5–9,
# 10 10–14, 11 15–17, 12 18+; section 2: 3 children, 4 girls, 5 ОВЗ, 6 disabled, 7 <5, 8 5–9,
# 9 10–14, 10 15–17, 11 18+. Rows: 02 техническая, 04 физкультурно-спортивная, 05 художественная
DOP_SCHOOL_1 = merge(
    # «Хор» (художественная): s05 (boy, 11) and s06 (girl, 11)
    cells("1", "01", {3: 1, 4: 2, 5: 1, 10: 2}),
    cells("1", "05", {3: 1, 4: 2, 5: 1, 10: 2}),
    cells("2", "01", {3: 2, 4: 1, 9: 2}),
    cells("2", "05", {3: 2, 4: 1, 9: 2}),
)
DOP_CENTRE = merge(
    # «Робототехника» (техническая): s05 (11), s08 (girl with ОВЗ, 11), s13 (girl, 8)
    cells("1", "01", {3: 1, 4: 3, 5: 2, 6: 1, 9: 1, 10: 2}),
    cells("1", "02", {3: 1, 4: 3, 5: 2, 6: 1, 9: 1, 10: 2}),
    cells("2", "01", {3: 3, 4: 2, 5: 1, 8: 1, 9: 2}),
    cells("2", "02", {3: 3, 4: 2, 5: 1, 8: 1, 9: 2}),
)
DOP_OZYORSK = merge(
    # «Волейбол» (физкультурно-спортивная): s24 (16), s26 (17), s28 (18); s22 joined on
    # 01.02.2026, outside the year 2025
    cells("1", "01", {3: 1, 4: 3, 11: 2, 12: 1}),
    cells("1", "04", {3: 1, 4: 3, 11: 2, 12: 1}),
    cells("2", "01", {3: 3, 10: 2, 11: 1}),
    cells("2", "04", {3: 3, 10: 2, 11: 1}),
)
DOP_CITY = merge(
    # 5 enrolments of 4 children: s05 attends both «Хор» and «Робототехника»
    cells("1", "01", {3: 2, 4: 5, 5: 3, 6: 1, 9: 1, 10: 4}),
    cells("1", "02", {3: 1, 4: 3, 5: 2, 6: 1, 9: 1, 10: 2}),
    cells("1", "05", {3: 1, 4: 2, 5: 1, 10: 2}),
    cells("2", "01", {3: 4, 4: 3, 5: 1, 8: 1, 9: 3}),  # s05, s06, s08, s13
    cells("2", "02", {3: 3, 4: 2, 5: 1, 8: 1, 9: 2}),
    cells("2", "05", {3: 2, 4: 1, 9: 2}),
)
DOP_REGION = merge(
    cells("1", "01", {3: 3, 4: 8, 5: 3, 6: 1, 9: 1, 10: 4, 11: 2, 12: 1}),
    cells("1", "02", {3: 1, 4: 3, 5: 2, 6: 1, 9: 1, 10: 2}),
    cells("1", "04", {3: 1, 4: 3, 11: 2, 12: 1}),
    cells("1", "05", {3: 1, 4: 2, 5: 1, 10: 2}),
    # 7 children: s05, s06, s08, s13, s24, s26, s28 (not 8: s05 once)
    cells("2", "01", {3: 7, 4: 3, 5: 1, 8: 1, 9: 3, 10: 2, 11: 1}),
    cells("2", "02", {3: 3, 4: 2, 5: 1, 8: 1, 9: 2}),
    cells("2", "04", {3: 3, 10: 2, 11: 1}),
    cells("2", "05", {3: 2, 4: 1, 9: 2}),
)


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("organization", SCHOOL_1, DOP_SCHOOL_1),
        ("organization", GYMNASIUM_2, {}),  # s13 of the gymnasium attends the centre
        ("organization", CENTRE, DOP_CENTRE),
        ("organization", OZYORSK, DOP_OZYORSK),
        ("municipality", CITY, DOP_CITY),
        ("municipality", DISTRICT, DOP_OZYORSK),
        ("region", None, DOP_REGION),
    ],
    ids=["school-1", "gymnasium-2", "centre", "ozyorsk", "city", "district", "region"],
)
def test_1dop_equals_the_hand_count(hand_build, level, code, expected):
    assert_form(hand_build("1dop", DOP_DATE, level, code), expected)


def test_1dop_of_the_next_year_counts_the_later_enrolment(hand_build):
    # in 2026 the four volleyball players (s22 joined on 01.02.2026) and the five others
    region = hand_build("1dop", date(2026, 12, 31))
    assert region.values[("1", "04", "4")] == 4
    assert region.values[("1", "01", "4")] == 9
    assert region.values[("2", "01", "3")] == 8


# -- Отчёт об успеваемости -----------------------------------------------------------------------
# columns: 3 subject to attestation, 4 passed, 5 pass %, 6 quality, 7 quality %, 8 mean mark,
# 9 отличники, 10 хорошисты, 11 with one failing mark. Section 1 rows: 03..12 grades 2..11.
# Year marks (Математика, Русский язык):
#   СОШ № 1  5А: s05 5 5, s06 4 5, s07 2 3, s08 3 4; 9А: s09 5 5, s10 2 2, s11 осв осв, s12 4 4
#   Гимназия 2А: s13 5 4, s14 3 3, s15 н/а 4; 5А: s16 5 5, s17 4 4, s18 3 5; 7А: s19 4 3, s20 5 зач
#   Озёрская 3А: s21 3 3, s22 5 5, s23 4 осв; 10А: s24 2 4, s25 4 5, s26 3 4; 11А: s27 5 5, s28 4 4
SCHOOL_1_G5 = {3: 4, 4: 3, 5: 75.0, 6: 2, 7: 50.0, 8: 3.88, 9: 1, 10: 1, 11: 1}
# 5А: s07 has one «2»; quality s05 (отличник), s06 (хорошист); marks 31 / 8 = 3.875
SCHOOL_1_G9 = {3: 3, 4: 2, 5: 66.67, 6: 2, 7: 66.67, 8: 3.67, 9: 1, 10: 1, 11: 0}
# 9А: s11 is exempt (only «осв»), not subject; s10 has two «2» (not "one «2»"); 22 / 6
SCHOOL_1_ALL = {3: 7, 4: 5, 5: 71.43, 6: 4, 7: 57.14, 8: 3.79, 9: 2, 10: 2, 11: 1}  # 53 / 14
GYM_G2 = {3: 3, 4: 2, 5: 66.67, 6: 1, 7: 33.33, 8: 3.8, 9: 0, 10: 1, 11: 1}
# 2А: s15's «н/а» is a failing mark, not numeric: 19 / 5
GYM_G5 = {3: 3, 4: 3, 5: 100.0, 6: 2, 7: 66.67, 8: 4.33, 9: 1, 10: 1, 11: 0}  # 26 / 6
GYM_G7 = {3: 2, 4: 2, 5: 100.0, 6: 1, 7: 50.0, 8: 4.0, 9: 1, 10: 0, 11: 0}
# 7А: s20's «зач» keeps her an отличница; numeric marks 4, 3, 5
GYM_ALL = {3: 8, 4: 7, 5: 87.5, 6: 4, 7: 50.0, 8: 4.07, 9: 2, 10: 2, 11: 1}  # 57 / 14
OZ_G3 = {3: 3, 4: 3, 5: 100.0, 6: 2, 7: 66.67, 8: 4.0, 9: 1, 10: 1, 11: 0}
# 3А: s23 has a 4 and an «осв»: subject to attestation, хорошистка; 20 / 5
OZ_G10 = {3: 3, 4: 2, 5: 66.67, 6: 1, 7: 33.33, 8: 3.67, 9: 0, 10: 1, 11: 1}  # 22 / 6
OZ_G11 = {3: 2, 4: 2, 5: 100.0, 6: 2, 7: 100.0, 8: 4.5, 9: 1, 10: 1, 11: 0}  # 18 / 4
OZ_ALL = {3: 8, 4: 7, 5: 87.5, 6: 5, 7: 62.5, 8: 4.0, 9: 2, 10: 3, 11: 1}  # 60 / 15


def _by_subject(math: dict, russian: dict, total: dict) -> dict:
    return merge(cells("3", "01", total), cells("3", "02", math), cells("3", "03", russian))


RESULTS_SCHOOL_1 = merge(
    cells("1", "01", SCHOOL_1_ALL),
    cells("1", "06", SCHOOL_1_G5),
    cells("1", "10", SCHOOL_1_G9),
    cells("2", "01", SCHOOL_1_ALL),
    cells("2", "02", SCHOOL_1_G5),  # 5А
    cells("2", "03", SCHOOL_1_G9),  # 9А
    _by_subject(
        # Математика 5 4 2 3 5 2 4 (and an «осв»): 25 / 7
        {3: 7, 4: 5, 5: 71.43, 6: 4, 7: 57.14, 8: 3.57, 9: 2, 10: 2, 11: 2},
        # Русский язык 5 5 3 4 5 2 4: 28 / 7
        {3: 7, 4: 6, 5: 85.71, 6: 5, 7: 71.43, 8: 4.0, 9: 3, 10: 2, 11: 1},
        {3: 14, 4: 11, 5: 78.57, 6: 9, 7: 64.29, 8: 3.79, 9: 5, 10: 4, 11: 3},
    ),
)
RESULTS_GYMNASIUM_2 = merge(
    cells("1", "01", GYM_ALL),
    cells("1", "03", GYM_G2),
    cells("1", "06", GYM_G5),
    cells("1", "08", GYM_G7),
    cells("2", "01", GYM_ALL),
    cells("2", "02", GYM_G2),  # 2А
    cells("2", "03", GYM_G5),  # 5А
    cells("2", "04", GYM_G7),  # 7А
    _by_subject(
        # Математика 5 3 н/а 5 4 3 4 5: 29 / 7
        {3: 8, 4: 7, 5: 87.5, 6: 5, 7: 62.5, 8: 4.14, 9: 3, 10: 2, 11: 1},
        # Русский язык 4 3 4 5 4 5 3 зач: 28 / 7
        {3: 8, 4: 8, 5: 100.0, 6: 5, 7: 62.5, 8: 4.0, 9: 2, 10: 3, 11: 0},
        {3: 16, 4: 15, 5: 93.75, 6: 10, 7: 62.5, 8: 4.07, 9: 5, 10: 5, 11: 1},
    ),
)
RESULTS_OZYORSK = merge(
    cells("1", "01", OZ_ALL),
    cells("1", "04", OZ_G3),
    cells("1", "11", OZ_G10),
    cells("1", "12", OZ_G11),
    cells("2", "01", OZ_ALL),
    cells("2", "02", OZ_G3),  # 3А
    cells("2", "03", OZ_G10),  # 10А
    cells("2", "04", OZ_G11),  # 11А
    _by_subject(
        # Математика 3 5 4 2 4 3 5 4: 30 / 8
        {3: 8, 4: 7, 5: 87.5, 6: 5, 7: 62.5, 8: 3.75, 9: 2, 10: 3, 11: 1},
        # Русский язык 3 5 4 5 4 5 4 (and an «осв»): 30 / 7
        {3: 7, 4: 7, 5: 100.0, 6: 6, 7: 85.71, 8: 4.29, 9: 3, 10: 3, 11: 0},
        {3: 15, 4: 14, 5: 93.33, 6: 11, 7: 73.33, 8: 4.0, 9: 5, 10: 6, 11: 1},
    ),
)
RESULTS_CITY = merge(
    # rates are recomputed from the city's sums: 12 / 15, 8 / 15, 110 / 28
    cells("1", "01", {3: 15, 4: 12, 5: 80.0, 6: 8, 7: 53.33, 8: 3.93, 9: 4, 10: 4, 11: 2}),
    cells("1", "03", GYM_G2),
    # grade 5 of both schools: 6 of 7 passed, 4 of 7 quality, 57 / 14
    cells("1", "06", {3: 7, 4: 6, 5: 85.71, 6: 4, 7: 57.14, 8: 4.07, 9: 2, 10: 2, 11: 1}),
    cells("1", "08", GYM_G7),
    cells("1", "10", SCHOOL_1_G9),
    _by_subject(
        # Математика 54 / 14, Русский язык 56 / 14
        {3: 15, 4: 12, 5: 80.0, 6: 9, 7: 60.0, 8: 3.86, 9: 5, 10: 4, 11: 3},
        {3: 15, 4: 14, 5: 93.33, 6: 10, 7: 66.67, 8: 4.0, 9: 5, 10: 5, 11: 1},
        {3: 30, 4: 26, 5: 86.67, 6: 19, 7: 63.33, 8: 3.93, 9: 10, 10: 9, 11: 4},
    ),
)
RESULTS_DISTRICT = {k: v for k, v in RESULTS_OZYORSK.items() if k[0] != "2"}  # no class list
RESULTS_REGION = merge(
    # 19 of 23 passed, 13 of 23 quality, 170 numeric marks / 43
    cells("1", "01", {3: 23, 4: 19, 5: 82.61, 6: 13, 7: 56.52, 8: 3.95, 9: 6, 10: 7, 11: 3}),
    cells("1", "03", GYM_G2),
    cells("1", "04", OZ_G3),
    cells("1", "06", {3: 7, 4: 6, 5: 85.71, 6: 4, 7: 57.14, 8: 4.07, 9: 2, 10: 2, 11: 1}),
    cells("1", "08", GYM_G7),
    cells("1", "10", SCHOOL_1_G9),
    cells("1", "11", OZ_G10),
    cells("1", "12", OZ_G11),
    _by_subject(
        # Математика: 23 marks besides «осв», 4 failing (2, 2, н/а, 2), seven 5, seven 4; 84 / 22
        {3: 23, 4: 19, 5: 82.61, 6: 14, 7: 60.87, 8: 3.82, 9: 7, 10: 7, 11: 4},
        # Русский язык: 22 marks besides «осв», one 2, eight 5, eight 4, a «зач»; 86 / 21
        {3: 22, 4: 21, 5: 95.45, 6: 16, 7: 72.73, 8: 4.1, 9: 8, 10: 8, 11: 1},
        {3: 45, 4: 40, 5: 88.89, 6: 30, 7: 66.67, 8: 3.95, 9: 15, 10: 15, 11: 5},
    ),
)


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("organization", SCHOOL_1, RESULTS_SCHOOL_1),
        ("organization", GYMNASIUM_2, RESULTS_GYMNASIUM_2),
        ("organization", OZYORSK, RESULTS_OZYORSK),
        ("municipality", CITY, RESULTS_CITY),
        ("municipality", DISTRICT, RESULTS_DISTRICT),
        ("region", None, RESULTS_REGION),
    ],
    ids=["school-1", "gymnasium-2", "ozyorsk", "city", "district", "region"],
)
def test_results_equal_the_hand_count(hand_build, level, code, expected):
    built = hand_build("results", RESULTS_DATE, level, code)
    assert built.params["period"] == "Год"
    assert_form(built, expected)


def test_results_list_classes_and_subjects_by_name(hand_build):
    school = hand_build("results", RESULTS_DATE, "organization", GYMNASIUM_2)
    labels = {b.section.code: [r.label for r in b.rows[1:]] for b in school.sections}
    assert labels["2"] == ["2А", "5А", "7А"]
    assert labels["3"] == ["Математика", "Русский язык"]


# -- ЕСИА --------------------------------------------------------------------------------------
# columns: 3 linked on or before 01.06.2026, 4 all accounts, 5 share %. Rows: 01 all, 02 Ученик,
# 03 Родитель, 04 Учитель-предметник, 05 Классный руководитель, 08 Директор,
# 09 Управление образованием, 10 Администратор системы.
ESIA_SCHOOL_1 = merge(
    # a01 linked 01.10.2025, a10 linked 31.05.2026 23:30 Moscow; a03 (parent) only on 02.06.2026
    cells("1", "01", {3: 2, 4: 3, 5: 66.7}),
    cells("1", "02", {3: 2, 4: 2, 5: 100.0}),
    cells("1", "03", {3: 0, 4: 1, 5: 0.0}),
)
ESIA_GYMNASIUM_2 = merge(
    # a02 never linked; a11 linked 01.06.2026 22:30 UTC = 02.06.2026 01:30 Moscow: too late
    cells("1", "01", {3: 1, 4: 3, 5: 33.3}),
    cells("1", "02", {3: 0, 4: 2, 5: 0.0}),
    cells("1", "08", {3: 1, 4: 1, 5: 100.0}),  # the director a06
)
ESIA_OZYORSK = merge(
    # one teacher with two roles: two accounts a04, a05 of the same ESIA person; a09 unlinked
    cells("1", "01", {3: 2, 4: 3, 5: 66.7}),
    cells("1", "03", {3: 0, 4: 1, 5: 0.0}),
    cells("1", "04", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "05", {3: 1, 4: 1, 5: 100.0}),
)
ESIA_CITY = merge(
    # both schools and the system administrator a08 (no organization, OKTMO 57750000)
    cells("1", "01", {3: 4, 4: 7, 5: 57.1}),
    cells("1", "02", {3: 2, 4: 4, 5: 50.0}),
    cells("1", "03", {3: 0, 4: 1, 5: 0.0}),
    cells("1", "08", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "10", {3: 1, 4: 1, 5: 100.0}),
)
ESIA_DISTRICT = merge(
    # Озёрская СШ and the district's education department a07 (OKTMO 57660000)
    cells("1", "01", {3: 3, 4: 4, 5: 75.0}),
    cells("1", "03", {3: 0, 4: 1, 5: 0.0}),
    cells("1", "04", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "05", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "09", {3: 1, 4: 1, 5: 100.0}),
)
ESIA_REGION = merge(
    cells("1", "01", {3: 7, 4: 11, 5: 63.6}),
    cells("1", "02", {3: 2, 4: 4, 5: 50.0}),
    cells("1", "03", {3: 0, 4: 2, 5: 0.0}),
    cells("1", "04", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "05", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "08", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "09", {3: 1, 4: 1, 5: 100.0}),
    cells("1", "10", {3: 1, 4: 1, 5: 100.0}),
)


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("organization", SCHOOL_1, ESIA_SCHOOL_1),
        ("organization", GYMNASIUM_2, ESIA_GYMNASIUM_2),
        ("organization", OZYORSK, ESIA_OZYORSK),
        ("municipality", CITY, ESIA_CITY),
        ("municipality", DISTRICT, ESIA_DISTRICT),
        ("region", None, ESIA_REGION),
    ],
    ids=["school-1", "gymnasium-2", "ozyorsk", "city", "district", "region"],
)
def test_esia_equals_the_hand_count(hand_build, level, code, expected):
    assert_form(hand_build("esia", ESIA_DATE, level, code), expected)
