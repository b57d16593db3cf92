"""The default demo region's accounts, loaded and built through the warehouse, reproduce the
table of users registered in ESIA by role exactly: in the accounts mart and in the ESIA form."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

import forms
from sample_region import generate_accounts
from sample_region.calendar import DEFAULT_UNTIL
from sample_region.generate import DEFAULT_SEED

KONTINGENT = [sys.executable, "-m", "kontingent.cli"]

# the published figures, written out by hand (role label as the portal shows it)
ESIA_USERS_BY_ROLE = {
    "Ученик": 6176,
    "Родитель ученика": 5149,
    "Учитель-предметник": 4518,
    "Классный руководитель": 3705,
    "Заведующий учебной частью": 537,
    "Администратор школы": 220,
    "Директор школы": 165,
    "Управление образованием": 39,
    "Администратор системы": 10,
}


def _run(args: list[str], env: dict) -> None:
    proc = subprocess.run([*KONTINGENT, *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_default_demo_accounts_reproduce_the_esia_table(warehouse, pseudonym_key, tmp_path):
    landing = tmp_path / "landing"
    generate_accounts(students=10_000, years=2, seed=DEFAULT_SEED, out=landing)
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt-target")}
    _run(["load", str(landing)], env)
    # models only: the relationship tests would flag the organizations this feed alone lacks
    _run(
        [
            "dbt", "build", "--select", "+agg_accounts", "+esia_accounts", "dim_role",
            "--exclude-resource-type", "test", "unit_test",
        ],
        env,
    )  # fmt: skip

    with psycopg.connect(warehouse.reader_url) as conn:
        # the dashboards' mart: accounts linked to ESIA by role, in the region's last month
        rows = conn.execute(
            """
            select r.role_name_ru, sum(a.accounts_linked_to_esia)::int
            from marts.agg_accounts as a
            join marts.dim_role as r using (role_id)
            where a.month_start_date = date_trunc('month', %s::date)::date
            group by r.role_name_ru
            """,
            (DEFAULT_UNTIL,),
        ).fetchall()
    assert dict(rows) == ESIA_USERS_BY_ROLE

    # the ESIA form for the region, column 3 («Зарегистрированы в ЕСИА…») of each role's row
    form = forms.build_form("esia", DEFAULT_UNTIL, "region", url=warehouse.reader_url)
    assert form.violations == []
    (section,) = form.sections
    by_role = {
        line.label: form.values[("1", line.code, "3")]
        for line in section.rows
        if line.label in ESIA_USERS_BY_ROLE
    }
    assert by_role == ESIA_USERS_BY_ROLE
    assert form.values[("1", "01", "3")] == sum(ESIA_USERS_BY_ROLE.values())
