"""Write the dashboards' YAML assets (datasets, charts, dashboards) into `assets/`.

The YAML files are what `kontingent superset provision` imports; this script is how they are
written, so that a dataset's columns, a chart's parameters and a dashboard's layout and native
filters stay consistent (one definition of each column name, label and identifier). After a
change here run `python superset/build_assets.py` and commit the YAML with it; a test fails
when the files and this script disagree.

Identifiers are UUIDs derived from stable names (uuid5), so re-generating changes nothing and
re-importing overwrites the same objects. Every dataset carries `municipality_id` and
`organization_id` where its grain allows, for the row-level security rules (provision.py).
"""

# ruff: noqa: S608 - the SQL text of the datasets is built from constants of this file only
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
NAMESPACE = uuid.UUID("6f1c3a52-1d7e-4b8e-9a57-3f0c5e2b9d41")
DATABASE_UUID = "25fedf2b-9882-4956-8c48-86aaa26cccb0"  # assets/databases/kontingent_warehouse.yaml


def uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


# -- datasets ---------------------------------------------------------------------------------
# Shared SQL pieces: Russian names of organizations, types and municipalities from the
# published dimensions (current version of each organization).
_ORG_JOIN = """
left join marts.dim_organization as o
    on o.organization_id = {alias}.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = {alias}.municipality_id"""

_LEVEL_OF_GRADE = """case
        when {g} between 1 and 4 then 'Начальное общее образование'
        when {g} between 5 and 9 then 'Основное общее образование'
        when {g} between 10 and 11 then 'Среднее общее образование'
        else 'Не определён'
    end"""


@dataclass
class Column:
    name: str
    label: str
    type: str = "TEXT"
    is_dttm: bool = False
    groupby: bool = True


@dataclass
class Metric:
    name: str
    label: str
    expression: str
    d3format: str | None = None


@dataclass
class Dataset:
    key: str
    table_name: str
    schema: str
    sql: str
    columns: list[Column]
    metrics: list[Metric]
    description: str
    rls: tuple[str, ...] = ()  # scope columns present: "municipality_id", "organization_id"
    main_dttm_col: str | None = None

    @property
    def uuid(self) -> str:
        return uid(f"dataset:{self.key}")


SCOPE_COLUMNS = [
    Column("municipality_id", "Код муниципалитета"),
    Column("municipality_name", "Муниципалитет"),
    Column("organization_id", "Код организации"),
    Column("organization_name", "Организация"),
    Column("organization_type_ru", "Тип организации"),
]

DATASETS: list[Dataset] = [
    Dataset(
        key="data_cutoff",
        table_name="Дата актуальности данных",
        schema="forms",
        sql="""select
    to_char(cutoff_date, 'DD.MM.YYYY') as data_cutoff,
    cutoff_date
from forms.forms_data_cutoff
where feed = 'all'""",
        columns=[
            Column("data_cutoff", "Данные на"),
            Column("cutoff_date", "Дата актуальности", "DATE", is_dttm=True),
        ],
        metrics=[Metric("count", "Строк", "count(*)")],
        description="Новейшая дата выгрузки, загруженной в хранилище («Данные на …»).",
    ),
    Dataset(
        key="enrolment",
        table_name="Контингент обучающихся",
        schema="marts",
        sql="""select
    e.count_date,
    to_char(e.count_date, 'YYYY-MM-DD') as report_date,
    e.is_cutoff_date,
    (extract(month from e.count_date) = 9 and extract(day from e.count_date) = 20)
        as is_count_date,
    case
        when extract(month from e.count_date) >= 9
            then extract(year from e.count_date)::int
        else extract(year from e.count_date)::int - 1
    end || '/' || case
        when extract(month from e.count_date) >= 9
            then extract(year from e.count_date)::int + 1
        else extract(year from e.count_date)::int
    end as academic_year,
    coalesce(nullif(e.municipality_id, '-1'), c.municipality_id, '-1') as municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    e.organization_id,
    coalesce(nullif(o.short_name, 'Неизвестная организация'), c.short_name, e.organization_id)
        as organization_name,
    coalesce(nullif(o.organization_type_ru, 'Неизвестный тип'), c.organization_type_ru,
        'Неизвестный тип') as organization_type_ru,
    e.is_main_program,
    coalesce(p.program_level_ru, 'Неизвестная программа') as program_level_ru,
    coalesce(q.orientation_ru, 'Не указана') as orientation_ru,
    e.grade_level,
    case e.sex when 'male' then 'Мужской' when 'female' then 'Женский' else 'Не указан' end
        as sex_ru,
    e.students
from marts.agg_enrolment as e
left join marts.dim_organization as o
    on o.organization_key = e.organization_key
left join marts.dim_organization as c
    on c.organization_id = e.organization_id and c.is_current
left join marts.dim_municipality as m
    on m.municipality_id = coalesce(nullif(e.municipality_id, '-1'), c.municipality_id)
left join (select distinct program_level, program_level_ru from marts.dim_program) as p
    on p.program_level = e.program_level
left join (
    select distinct orientation_code, orientation_ru from marts.dim_program
    where orientation_code is not null
) as q
    on q.orientation_code = e.orientation_code""",
        columns=[
            Column("count_date", "Дата отчёта", "DATE", is_dttm=True),
            Column("report_date", "Дата отчёта"),
            Column("is_cutoff_date", "На дату актуальности", "BOOLEAN"),
            Column("is_count_date", "Отчётная дата (20 сентября)", "BOOLEAN"),
            Column("academic_year", "Учебный год"),
            *SCOPE_COLUMNS,
            Column("is_main_program", "Основная программа", "BOOLEAN"),
            Column("program_level_ru", "Уровень программы"),
            Column("orientation_ru", "Направленность"),
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("sex_ru", "Пол"),
            Column("students", "Обучающихся", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("students", "Обучающихся", "sum(students)", ",d"),
        ],
        description=(
            "Численность обучающихся на отчётные даты (витрина agg_enrolment); организация "
            "и муниципалитет — на отчётную дату, а до начала реестра — по текущей записи."
        ),
        rls=("municipality_id", "organization_id"),
        main_dttm_col="count_date",
    ),
    Dataset(
        key="results",
        table_name="Результаты аттестации",
        schema="marts",
        sql=f"""select
    r.academic_year,
    r.term_name_ru,
    r.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    r.organization_id,
    coalesce(o.short_name, r.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    r.grade_level,
    {_LEVEL_OF_GRADE.format(g="r.grade_level")} as program_level_ru,
    r.students_attested,
    r.students_passed,
    r.students_quality,
    r.students_excellent,
    r.students_one_failing_mark
from marts.agg_results as r{_ORG_JOIN.format(alias="r")}""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("term_name_ru", "Период"),
            *SCOPE_COLUMNS,
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("program_level_ru", "Уровень программы"),
            Column("students_attested", "Аттестуемых", "BIGINT", groupby=False),
            Column("students_passed", "Успевающих", "BIGINT", groupby=False),
            Column("students_quality", "На «4» и «5»", "BIGINT", groupby=False),
            Column("students_excellent", "Отличников", "BIGINT", groupby=False),
            Column("students_one_failing_mark", "С одной «2»", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("students_attested", "Аттестуемых", "sum(students_attested)", ",d"),
            Metric(
                "pass_rate",
                "Успеваемость, %",
                "round(100.0 * sum(students_passed) / nullif(sum(students_attested), 0), 2)",
                ".2f",
            ),
            Metric(
                "quality_rate",
                "Качество знаний, %",
                "round(100.0 * sum(students_quality) / nullif(sum(students_attested), 0), 2)",
                ".2f",
            ),
        ],
        description="Итоги аттестации по периодам (витрина agg_results).",
        rls=("municipality_id", "organization_id"),
    ),
    Dataset(
        key="results_by_subject",
        table_name="Результаты аттестации по предметам",
        schema="marts",
        sql=f"""select
    r.academic_year,
    r.term_name_ru,
    o.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    r.organization_id,
    coalesce(o.short_name, r.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    r.grade_level,
    {_LEVEL_OF_GRADE.format(g="r.grade_level")} as program_level_ru,
    r.subject,
    r.students_attested,
    r.students_passed,
    r.students_quality
from marts.agg_results_by_subject as r
left join marts.dim_organization as o
    on o.organization_id = r.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = o.municipality_id""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("term_name_ru", "Период"),
            *SCOPE_COLUMNS,
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("program_level_ru", "Уровень программы"),
            Column("subject", "Предмет"),
            Column("students_attested", "Аттестуемых", "BIGINT", groupby=False),
            Column("students_passed", "Успевающих", "BIGINT", groupby=False),
            Column("students_quality", "На «4» и «5»", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("students_attested", "Аттестуемых", "sum(students_attested)", ",d"),
            Metric(
                "pass_rate",
                "Успеваемость, %",
                "round(100.0 * sum(students_passed) / nullif(sum(students_attested), 0), 2)",
                ".2f",
            ),
            Metric(
                "quality_rate",
                "Качество знаний, %",
                "round(100.0 * sum(students_quality) / nullif(sum(students_attested), 0), 2)",
                ".2f",
            ),
        ],
        description="Итоги аттестации по предметам (витрина agg_results_by_subject).",
        rls=("municipality_id", "organization_id"),
    ),
    Dataset(
        key="current_marks",
        table_name="Текущие отметки",
        schema="marts",
        sql=f"""select
    c.academic_year,
    o.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    c.organization_id,
    coalesce(o.short_name, c.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    c.grade_level,
    {_LEVEL_OF_GRADE.format(g="c.grade_level")} as program_level_ru,
    c.subject,
    c.numeric_marks,
    c.numeric_mark_sum
from marts.agg_current_marks as c
left join marts.dim_organization as o
    on o.organization_id = c.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = o.municipality_id""",
        columns=[
            Column("academic_year", "Учебный год"),
            *SCOPE_COLUMNS,
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("program_level_ru", "Уровень программы"),
            Column("subject", "Предмет"),
            Column("numeric_marks", "Отметок", "BIGINT", groupby=False),
            Column("numeric_mark_sum", "Сумма отметок", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("numeric_marks", "Отметок", "sum(numeric_marks)", ",d"),
            Metric(
                "mean_mark",
                "Средний балл",
                "round(sum(numeric_mark_sum)::numeric / nullif(sum(numeric_marks), 0), 2)",
                ".2f",
            ),
        ],
        description="Текущие отметки журнала: число и средний балл (витрина agg_current_marks).",
        rls=("municipality_id", "organization_id"),
    ),
    Dataset(
        key="attendance",
        table_name="Посещаемость",
        schema="marts",
        sql=f"""select
    a.month_start_date,
    to_char(a.month_start_date, 'YYYY-MM') as month,
    case
        when extract(month from a.month_start_date) >= 9
            then extract(year from a.month_start_date)::int
        else extract(year from a.month_start_date)::int - 1
    end || '/' || case
        when extract(month from a.month_start_date) >= 9
            then extract(year from a.month_start_date)::int + 1
        else extract(year from a.month_start_date)::int
    end as academic_year,
    o.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    a.organization_id,
    coalesce(o.short_name, a.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    a.grade_level,
    {_LEVEL_OF_GRADE.format(g="a.grade_level")} as program_level_ru,
    a.entries,
    a.absences
from marts.agg_attendance as a
left join marts.dim_organization as o
    on o.organization_id = a.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = o.municipality_id""",
        columns=[
            Column("month_start_date", "Месяц", "DATE", is_dttm=True),
            Column("month", "Месяц (ГГГГ-ММ)"),
            Column("academic_year", "Учебный год"),
            *SCOPE_COLUMNS,
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("program_level_ru", "Уровень программы"),
            Column("entries", "Записей журнала", "BIGINT", groupby=False),
            Column("absences", "Пропусков", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric(
                "absence_rate",
                "Доля пропусков, %",
                "round(100.0 * sum(absences) / nullif(sum(entries), 0), 2)",
                ".2f",
            ),
            Metric("absences", "Пропусков", "sum(absences)", ",d"),
        ],
        description="Пропуски уроков по месяцам (витрина agg_attendance).",
        rls=("municipality_id", "organization_id"),
        main_dttm_col="month_start_date",
    ),
    Dataset(
        key="school_outliers",
        table_name="Школы вдали от распределения по региону",
        schema="marts",
        sql="""select
    region.academic_year,
    region.term_name_ru,
    o.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    region.organization_id,
    coalesce(o.short_name, region.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    region.students_attested,
    region.quality_rate,
    round(region.region_mean::numeric, 2) as region_mean,
    round(
        ((region.quality_rate - region.region_mean) / nullif(region.region_stddev, 0))::numeric,
        2
    ) as z_score
from (
    select
        per_school.*,
        avg(per_school.quality_rate) over w as region_mean,
        stddev_pop(per_school.quality_rate) over w as region_stddev
    from (
        select
            r.academic_year,
            r.term_name_ru,
            r.organization_id,
            sum(r.students_attested)::bigint as students_attested,
            round(
                (100.0 * sum(r.students_quality) / nullif(sum(r.students_attested), 0))::numeric,
                2
            ) as quality_rate
        from marts.agg_results as r
        group by r.academic_year, r.term_name_ru, r.organization_id
        having sum(r.students_attested) > 0
    ) as per_school
    window w as (partition by per_school.academic_year, per_school.term_name_ru)
) as region
left join marts.dim_organization as o
    on o.organization_id = region.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = o.municipality_id""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("term_name_ru", "Период"),
            *SCOPE_COLUMNS,
            Column("students_attested", "Аттестуемых", "BIGINT"),
            Column("quality_rate", "Качество знаний, %", "NUMERIC"),
            Column("region_mean", "Среднее по региону, %", "NUMERIC"),
            Column("z_score", "Отклонение, σ", "NUMERIC"),
        ],
        metrics=[
            Metric("max_abs_z", "Наибольшее отклонение, σ", "max(abs(z_score))", ".2f"),
        ],
        description=(
            "Качество знаний школы против распределения школ региона за тот же период "
            "(отклонение в стандартных отклонениях)."
        ),
        rls=("municipality_id", "organization_id"),
    ),
    Dataset(
        key="accounts",
        table_name="Учётные записи СЭДиЖ и ЕСИА",
        schema="marts",
        sql="""select
    a.month_start_date,
    to_char(a.month_start_date, 'YYYY-MM') as month,
    coalesce(r.role_name_ru, 'неизвестная роль') as role_name_ru,
    a.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    a.accounts,
    a.accounts_linked_to_esia
from marts.agg_accounts as a
left join marts.dim_role as r
    on r.role_id = a.role_id
left join marts.dim_municipality as m
    on m.municipality_id = a.municipality_id""",
        columns=[
            Column("month_start_date", "Месяц", "DATE", is_dttm=True),
            Column("month", "Месяц (ГГГГ-ММ)"),
            Column("role_name_ru", "Роль"),
            Column("municipality_id", "Код муниципалитета"),
            Column("municipality_name", "Муниципалитет"),
            Column("accounts", "Учётных записей", "BIGINT", groupby=False),
            Column("accounts_linked_to_esia", "Связано с ЕСИА", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("accounts", "Учётных записей", "sum(accounts)", ",d"),
            Metric(
                "accounts_linked_to_esia", "Связано с ЕСИА", "sum(accounts_linked_to_esia)", ",d"
            ),
            Metric(
                "esia_share",
                "Доля связанных с ЕСИА, %",
                "round(100.0 * sum(accounts_linked_to_esia) / nullif(sum(accounts), 0), 2)",
                ".2f",
            ),
        ],
        description="Учётные записи по ролям, муниципалитетам и месяцам (витрина agg_accounts).",
        rls=("municipality_id",),
        main_dttm_col="month_start_date",
    ),
    Dataset(
        key="accounts_trust",
        table_name="Учётные записи ЕСИА по уровню доверия",
        schema="marts",
        sql="""select
    coalesce(r.role_name_ru, 'неизвестная роль') as role_name_ru,
    a.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    case a.trust_level
        when 'confirmed' then 'подтверждённая'
        when 'standard' then 'стандартная'
        when 'simplified' then 'упрощённая'
        else 'не указан'
    end as trust_level_ru,
    a.accounts_linked_to_esia
from marts.agg_accounts_by_trust as a
left join marts.dim_role as r
    on r.role_id = a.role_id
left join marts.dim_municipality as m
    on m.municipality_id = a.municipality_id""",
        columns=[
            Column("role_name_ru", "Роль"),
            Column("municipality_id", "Код муниципалитета"),
            Column("municipality_name", "Муниципалитет"),
            Column("trust_level_ru", "Уровень учётной записи ЕСИА"),
            Column("accounts_linked_to_esia", "Связано с ЕСИА", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric(
                "accounts_linked_to_esia", "Связано с ЕСИА", "sum(accounts_linked_to_esia)", ",d"
            ),
        ],
        description=(
            "Учётные записи, связанные с ЕСИА, по уровню учётной записи ЕСИА на дату данных "
            "(витрина agg_accounts_by_trust); входить в аналитику может только подтверждённая."
        ),
        rls=("municipality_id",),
    ),
    Dataset(
        key="trajectory_status",
        table_name="Годовые статусы траекторий",
        schema="marts",
        sql="""select
    s.academic_year,
    s.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    s.status,
    coalesce(d.status_ru, s.status) as status_ru,
    s.status_order,
    s.students
from marts.agg_student_year_status as s
left join marts.dim_trajectory_status as d
    on d.status = s.status
left join marts.dim_municipality as m
    on m.municipality_id = s.municipality_id""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("municipality_id", "Код муниципалитета"),
            Column("municipality_name", "Муниципалитет"),
            Column("status", "Код статуса"),
            Column("status_ru", "Статус за год"),
            Column("status_order", "Порядок статуса", "INTEGER"),
            Column("students", "Обучающихся", "BIGINT", groupby=False),
        ],
        metrics=[Metric("students", "Обучающихся", "sum(students)", ",d")],
        description="Годовые статусы траекторий обучающихся (витрина agg_student_year_status).",
        rls=("municipality_id",),
    ),
    Dataset(
        key="trajectory_flows",
        table_name="Потоки между муниципалитетами",
        schema="marts",
        sql="""select
    f.academic_year,
    f.source_id as municipality_id,
    f.source_name as municipality_name,
    '→ ' || f.target_name as target_name,
    f.students
from marts.agg_trajectory_flows as f
where f.flow_level = 'municipality' and not f.is_within_node""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("municipality_id", "Код муниципалитета (откуда)"),
            Column("municipality_name", "Откуда"),
            Column("target_name", "Куда"),
            Column("students", "Переходов", "BIGINT", groupby=False),
        ],
        metrics=[Metric("students", "Переходов", "sum(students)", ",d")],
        description=(
            "Переходы обучающихся между муниципалитетами (витрина agg_trajectory_flows); "
            "муниципалитет строки — откуда ушли."
        ),
        rls=("municipality_id",),
    ),
    Dataset(
        key="movements_by_month",
        table_name="Прибытие и выбытие по месяцам",
        schema="marts",
        sql="""select
    a.month_start_date,
    to_char(a.month_start_date, 'YYYY-MM') as month,
    a.academic_year,
    o.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    a.organization_id,
    coalesce(o.short_name, a.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    a.is_main_program,
    coalesce(p.program_level_ru, 'Неизвестная программа') as program_level_ru,
    a.movement_category,
    a.direction,
    case a.direction when 'arrival' then 'Прибыло' else 'Выбыло' end as direction_ru,
    a.events
from marts.agg_movements_by_month as a
left join marts.dim_organization as o
    on o.organization_id = a.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = o.municipality_id
left join (select distinct program_level, program_level_ru from marts.dim_program) as p
    on p.program_level = a.program_level
where a.direction in ('arrival', 'departure')""",
        columns=[
            Column("month_start_date", "Месяц", "DATE", is_dttm=True),
            Column("month", "Месяц (ГГГГ-ММ)"),
            Column("academic_year", "Учебный год"),
            *SCOPE_COLUMNS,
            Column("is_main_program", "Основная программа", "BOOLEAN"),
            Column("program_level_ru", "Уровень программы"),
            Column("movement_category", "Код вида движения"),
            Column("direction", "Код направления"),
            Column("direction_ru", "Прибытие или выбытие"),
            Column("events", "Событий", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric(
                "arrivals",
                "Прибыло",
                "sum(case when direction = 'arrival' then events else 0 end)",
                ",d",
            ),
            Metric(
                "departures",
                "Выбыло",
                "sum(case when direction = 'departure' then events else 0 end)",
                ",d",
            ),
        ],
        description=(
            "Прибытие (зачисление, перевод из другой организации, восстановление) и выбытие "
            "(перевод в другую организацию, отчисление, выпуск) по месяцам, основные программы "
            "и дополнительное образование (витрина agg_movements_by_month)."
        ),
        rls=("municipality_id", "organization_id"),
        main_dttm_col="month_start_date",
    ),
    Dataset(
        key="cohort_survival",
        table_name="Выживаемость когорт",
        schema="marts",
        sql="""select
    c.cohort_year,
    c.entry_grade_level,
    c.entry_grade_level || ' класс, ' || c.cohort_year as cohort_name,
    c.academic_year,
    c.status,
    case c.status
        when 'general_education' then 'Обучается в общем образовании'
        when 'vocational' then 'Обучается в СПО'
        when 'family_education' then 'На семейном образовании'
        when 'graduated' then 'Получил среднее общее образование'
        when 'left_region' then 'Выбыл за пределы региона'
        else 'Не обучается'
    end as status_ru,
    c.grade_level,
    c.is_in_education,
    c.students,
    c.cohort_students
from marts.agg_cohort_survival as c""",
        columns=[
            Column("cohort_year", "Учебный год входа в когорту"),
            Column("entry_grade_level", "Класс входа", "INTEGER"),
            Column("cohort_name", "Когорта"),
            Column("academic_year", "Учебный год"),
            Column("status", "Код статуса"),
            Column("status_ru", "Где на 20 сентября"),
            Column("grade_level", "Класс (параллель)", "INTEGER"),
            Column("is_in_education", "Продолжает обучение", "BOOLEAN"),
            Column("students", "Обучающихся", "BIGINT", groupby=False),
            Column("cohort_students", "Численность когорты", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("students", "Обучающихся", "sum(students)", ",d"),
            # a cohort's size is the same on each of its rows of one year: its share is the
            # sum over the chosen rows divided by that size, for cohort × year groupings
            Metric(
                "share_percent",
                "Доля когорты, %",
                "round(100.0 * sum(students) / nullif(max(cohort_students), 0), 2)",
                ".2f",
            ),
        ],
        description=(
            "Когорты, пришедшие в 1, 5 и 10 класс, и где их обучающиеся на 20 сентября каждого "
            "следующего года (витрина agg_cohort_survival). Только по региону в целом."
        ),
    ),
    Dataset(
        key="type_flows",
        table_name="Потоки между типами организаций",
        schema="marts",
        sql="""select
    f.academic_year,
    f.source_id,
    f.source_name,
    f.target_id,
    '→ ' || f.target_name as target_name,
    f.students
from marts.agg_trajectory_flows as f
where f.flow_level = 'organization_type' and not f.is_within_node""",
        columns=[
            Column("academic_year", "Учебный год"),
            Column("source_id", "Код типа (откуда)"),
            Column("source_name", "Откуда"),
            Column("target_id", "Код типа (куда)"),
            Column("target_name", "Куда"),
            Column("students", "Переходов", "BIGINT", groupby=False),
        ],
        metrics=[Metric("students", "Переходов", "sum(students)", ",d")],
        description=(
            "Переходы обучающихся между типами организаций, из региона и в регион (витрина "
            "agg_trajectory_flows). Только по региону в целом."
        ),
    ),
    Dataset(
        key="lost_children",
        table_name="Потерянные дети",
        schema="marts",
        sql="""select
    y.academic_year,
    m.municipality_id,
    m.municipality_name,
    coalesce(l.students, 0) as students
from marts.dim_municipality as m
cross join (select distinct academic_year from marts.agg_student_year_status) as y
left join marts.agg_lost_children as l
    on l.municipality_id = m.municipality_id and l.academic_year = y.academic_year
where m.municipality_id <> '-1'""",
        columns=[
            Column("academic_year", "Учебный год выбытия"),
            Column("municipality_id", "Код муниципалитета"),
            Column("municipality_name", "Муниципалитет"),
            Column("students", "Детей", "BIGINT", groupby=False),
        ],
        metrics=[Metric("students", "Детей", "sum(students)", ",d")],
        description=(
            "Выбывшие и никуда не зачисленные дети (витрина agg_lost_children); "
            "муниципалитеты без таких детей — с нулём."
        ),
        rls=("municipality_id",),
    ),
    Dataset(
        key="mobility",
        table_name="Мобильность и стабильность контингента",
        schema="marts",
        sql="""select
    b.academic_year,
    b.municipality_id,
    coalesce(m.municipality_name, 'Не указан') as municipality_name,
    b.organization_id,
    coalesce(o.short_name, b.organization_id) as organization_name,
    coalesce(o.organization_type_ru, 'Неизвестный тип') as organization_type_ru,
    b.students_enrolled,
    b.students_mobile,
    b.students_stable
from marts.agg_mobility as b
left join marts.dim_organization as o
    on o.organization_id = b.organization_id and o.is_current
left join marts.dim_municipality as m
    on m.municipality_id = b.municipality_id""",
        columns=[
            Column("academic_year", "Учебный год"),
            *SCOPE_COLUMNS,
            Column("students_enrolled", "Обучалось за год", "BIGINT", groupby=False),
            Column("students_mobile", "Прибыло или выбыло", "BIGINT", groupby=False),
            Column("students_stable", "Стабильный контингент", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("students_enrolled", "Обучалось за год", "sum(students_enrolled)", ",d"),
            Metric(
                "mobility_rate",
                "Мобильность, %",
                "round((100.0 * sum(students_mobile) / nullif(sum(students_enrolled), 0))"
                "::numeric, 2)",
                ".2f",
            ),
            Metric(
                "stability_rate",
                "Стабильность, %",
                "round((100.0 * sum(students_stable) / nullif(sum(students_enrolled), 0))"
                "::numeric, 2)",
                ".2f",
            ),
        ],
        description="Мобильность и стабильность контингента по организациям (agg_mobility).",
        rls=("municipality_id", "organization_id"),
    ),
    Dataset(
        key="dq_runs",
        table_name="Запуски проверок качества",
        schema="dq",
        sql="""select
    s.run_id::text as run_id,
    s.layer,
    s.audited_schemas,
    s.started_at,
    to_char(s.started_at at time zone 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') as started,
    s.expectations,
    s.failed_blocking,
    s.failed_warning,
    case when s.is_success then 'пройден' else 'не пройден' end as outcome_ru,
    case when s.published_at is null then 'нет' else 'да' end as published_ru
from dq.check_run_summary as s""",
        columns=[
            Column("run_id", "Запуск"),
            Column("layer", "Слой"),
            Column("audited_schemas", "Проверенные схемы"),
            Column("started_at", "Начало", "TIMESTAMP WITH TIME ZONE", is_dttm=True),
            Column("started", "Начало (МСК)"),
            Column("expectations", "Проверок", "INTEGER", groupby=False),
            Column("failed_blocking", "Блокирующих ошибок", "INTEGER", groupby=False),
            Column("failed_warning", "Предупреждений", "INTEGER", groupby=False),
            Column("outcome_ru", "Итог"),
            Column("published_ru", "Опубликовано"),
        ],
        metrics=[
            Metric("runs", "Запусков", "count(*)", ",d"),
            Metric("expectations", "Проверок", "sum(expectations)", ",d"),
            Metric("failed_blocking", "Блокирующих ошибок", "sum(failed_blocking)", ",d"),
            Metric("failed_warning", "Предупреждений", "sum(failed_warning)", ",d"),
        ],
        description="Запуски проверок Great Expectations (представление dq.check_run_summary).",
        main_dttm_col="started_at",
    ),
    Dataset(
        key="dq_results",
        table_name="Результаты проверок качества",
        schema="dq",
        sql="""select
    r.layer,
    r.audited_schemas,
    r.run_started_at,
    r.check_name,
    r.suite_name,
    case r.severity when 'blocking' then 'блокирующая' else 'предупреждение' end as severity_ru,
    case when r.is_success then 'пройдена' else 'не пройдена' end as outcome_ru,
    coalesce(r.unexpected_count, 0) as unexpected_count
from dq.check_latest_results as r""",
        columns=[
            Column("layer", "Слой"),
            Column("audited_schemas", "Проверенные схемы"),
            Column("run_started_at", "Запуск", "TIMESTAMP WITH TIME ZONE", is_dttm=True),
            Column("check_name", "Проверка"),
            Column("suite_name", "Набор"),
            Column("severity_ru", "Важность"),
            Column("outcome_ru", "Результат"),
            Column("unexpected_count", "Строк с нарушениями", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("checks", "Проверок", "count(*)", ",d"),
            Metric("unexpected_count", "Строк с нарушениями", "sum(unexpected_count)", ",d"),
        ],
        description="Результаты последнего запуска проверок каждого слоя (check_latest_results).",
    ),
    Dataset(
        key="dq_loads",
        table_name="История загрузок",
        schema="dq",
        sql="""select
    l.load_id,
    coalesce(l.feed, 'не определён') as feed,
    l.file_name,
    l.extract_date,
    l.started_at,
    to_char(l.started_at at time zone 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') as started,
    case l.status
        when 'loaded' then 'загружен'
        when 'failed' then 'отклонён целиком'
        else l.status
    end as status_ru,
    coalesce(l.error_reason, '') as error_reason,
    coalesce(l.rows_read, 0) as rows_read,
    coalesce(l.rows_loaded, 0) as rows_loaded,
    coalesce(l.rows_rejected, 0) as rows_rejected
from dq.load_history as l
where l.kind = 'file'""",
        columns=[
            Column("load_id", "Загрузка", "BIGINT"),
            Column("feed", "Поток"),
            Column("file_name", "Файл"),
            Column("extract_date", "Дата выгрузки", "DATE", is_dttm=True),
            Column("started_at", "Начало", "TIMESTAMP WITH TIME ZONE", is_dttm=True),
            Column("started", "Начало (МСК)"),
            Column("status_ru", "Итог"),
            Column("error_reason", "Причина отказа"),
            Column("rows_read", "Прочитано строк", "BIGINT", groupby=False),
            Column("rows_loaded", "Загружено строк", "BIGINT", groupby=False),
            Column("rows_rejected", "Отклонено строк", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("files", "Файлов", "count(*)", ",d"),
            Metric("rows_read", "Прочитано строк", "sum(rows_read)", ",d"),
            Metric("rows_loaded", "Загружено строк", "sum(rows_loaded)", ",d"),
            Metric("rows_rejected", "Отклонено строк", "sum(rows_rejected)", ",d"),
        ],
        description="Загрузки файлов выгрузок (представление dq.load_history): только счётчики.",
        main_dttm_col="extract_date",
    ),
    Dataset(
        key="dq_rejected",
        table_name="Отклонённые строки по причинам",
        schema="dq",
        sql="""select
    r.feed,
    coalesce(r.reason, 'нет отклонённых строк') as reason,
    r.lines,
    r.open_lines
from dq.rejected_rows as r""",
        columns=[
            Column("feed", "Поток"),
            Column("reason", "Причина"),
            Column("lines", "Строк в карантине", "BIGINT", groupby=False),
            Column("open_lines", "Не исправлено", "BIGINT", groupby=False),
        ],
        metrics=[
            Metric("lines", "Строк в карантине", "sum(lines)", ",d"),
            Metric("open_lines", "Не исправлено", "sum(open_lines)", ",d"),
        ],
        description=(
            "Строки карантина по потоку и причине (dq.rejected_rows); строка с двумя причинами "
            "считается в обеих."
        ),
    ),
    Dataset(
        key="dq_freshness",
        table_name="Свежесть потоков",
        schema="dq",
        sql="""select
    f.feed,
    f.newest_extract_date,
    to_char(f.newest_extract_date, 'YYYY-MM-DD') as newest_extract,
    f.files,
    f.days_behind_newest_feed,
    f.days_since_extract
from dq.feed_freshness as f""",
        columns=[
            Column("feed", "Поток"),
            Column("newest_extract_date", "Последняя выгрузка", "DATE", is_dttm=True),
            Column("newest_extract", "Последняя выгрузка (дата)"),
            Column("files", "Файлов загружено", "BIGINT", groupby=False),
            Column(
                "days_behind_newest_feed",
                "Отставание от самого свежего потока, дней",
                "INTEGER",
                groupby=False,
            ),
            Column("days_since_extract", "Дней с последней выгрузки", "INTEGER", groupby=False),
        ],
        metrics=[
            Metric("files", "Файлов загружено", "sum(files)", ",d"),
            Metric(
                "days_behind",
                "Отставание, дней",
                "max(days_behind_newest_feed)",
                ",d",
            ),
            Metric("days_since", "Дней с последней выгрузки", "max(days_since_extract)", ",d"),
        ],
        description="Последняя загруженная выгрузка каждого потока (dq.feed_freshness).",
    ),
]
DATASET = {d.key: d for d in DATASETS}


# -- charts -----------------------------------------------------------------------------------
@dataclass
class Chart:
    key: str
    title: str
    dataset: str
    viz_type: str
    params: dict[str, Any]
    width: int = 6
    height: int = 50
    description: str | None = None

    @property
    def uuid(self) -> str:
        return uid(f"chart:{self.key}")


def sql_filter(expression: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": expression}


def cutoff_chart(key: str) -> Chart:
    return Chart(
        key=f"{key}_cutoff",
        title="Данные на",
        dataset="data_cutoff",
        viz_type="table",
        params={
            "query_mode": "raw",
            "all_columns": ["data_cutoff"],
            "order_by_cols": [],
            "row_limit": 10,
            "include_search": False,
            "show_cell_bars": False,
        },
        width=3,
        height=20,
    )


def big_number(key: str, title: str, dataset: str, metric: str, filters=()) -> Chart:
    return Chart(
        key=key,
        title=title,
        dataset=dataset,
        viz_type="big_number_total",
        params={
            "metric": metric,
            "adhoc_filters": [sql_filter(f) for f in filters],
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "y_axis_format": "SMART_NUMBER",
        },
        width=3,
        height=20,
    )


def bar(
    key: str,
    title: str,
    dataset: str,
    x: str,
    metrics: list[str],
    groupby=(),
    filters=(),
    horizontal=False,
    width=6,
) -> Chart:
    return Chart(
        key=key,
        title=title,
        dataset=dataset,
        viz_type="echarts_timeseries_bar",
        params={
            "x_axis": x,
            "metrics": metrics,
            "groupby": list(groupby),
            "adhoc_filters": [sql_filter(f) for f in filters],
            "row_limit": 10000,
            "orientation": "horizontal" if horizontal else "vertical",
            "stack": "Stack" if groupby else None,
            "show_legend": bool(groupby) or len(metrics) > 1,
            "legendOrientation": "top",
            "legendType": "scroll",
            "rich_tooltip": True,
            "show_value": not groupby,
            "x_axis_sort_asc": True,
            "y_axis_format": "SMART_NUMBER",
            "truncateXAxis": True,
            "truncate_metric": True,
            "zoomable": False,
            "x_axis_title_margin": 15,
            "y_axis_title_margin": 15,
        },
        width=width,
    )


def line(
    key: str,
    title: str,
    dataset: str,
    x: str,
    metrics: list[str],
    groupby=(),
    grain=None,
    filters=(),
) -> Chart:
    params = {
        "x_axis": x,
        "metrics": metrics,
        "groupby": list(groupby),
        "adhoc_filters": [sql_filter(f) for f in filters],
        "row_limit": 10000,
        "show_legend": True,
        "legendOrientation": "top",
        "legendType": "scroll",
        "rich_tooltip": True,
        "markerEnabled": True,
        "y_axis_format": "SMART_NUMBER",
        "x_axis_time_format": "%m.%Y",
        "truncate_metric": True,
        "zoomable": False,
    }
    if grain:
        params["time_grain_sqla"] = grain
    return Chart(
        key=key, title=title, dataset=dataset, viz_type="echarts_timeseries_line", params=params
    )


def sankey(key: str, title: str, dataset: str, source: str, target: str, metric: str) -> Chart:
    return Chart(
        key=key,
        title=title,
        dataset=dataset,
        viz_type="sankey_v2",
        params={
            "source": source,
            "target": target,
            "metric": metric,
            "adhoc_filters": [],
            "row_limit": 10000,
            "sort_by_metric": True,
        },
        width=12,
        height=60,
    )


def pie(key: str, title: str, dataset: str, groupby: str, metric: str, filters=()) -> Chart:
    return Chart(
        key=key,
        title=title,
        dataset=dataset,
        viz_type="pie",
        params={
            "groupby": [groupby],
            "metric": metric,
            "adhoc_filters": [sql_filter(f) for f in filters],
            "row_limit": 100,
            "sort_by_metric": True,
            "show_labels": True,
            "show_legend": True,
            "legendOrientation": "top",
            "legendType": "scroll",
            "label_type": "key_percent",
            "number_format": "SMART_NUMBER",
            "donut": True,
            "innerRadius": 40,
            "outerRadius": 70,
            "labels_outside": True,
        },
    )


def table(
    key: str,
    title: str,
    dataset: str,
    groupby: list[str],
    metrics: list[str],
    order_by: str | None = None,
    filters=(),
    width=6,
    height=50,
) -> Chart:
    return Chart(
        key=key,
        title=title,
        dataset=dataset,
        viz_type="table",
        params={
            "query_mode": "aggregate",
            "groupby": groupby,
            "metrics": metrics,
            "all_columns": [],
            "percent_metrics": [],
            "adhoc_filters": [sql_filter(f) for f in filters],
            "timeseries_limit_metric": order_by,
            "order_desc": True,
            "row_limit": 1000,
            "server_page_length": 10,
            "include_search": False,
            "show_cell_bars": True,
            "table_timestamp_format": "smart_date",
        },
        width=width,
        height=height,
    )


# -- dashboards -------------------------------------------------------------------------------
@dataclass
class Filter:
    key: str
    name: str
    column: str
    dataset: str
    first_item: bool = False  # single value, required, starts on the newest (provision.py)
    default: list[str] | None = None
    excluded: list[str] = field(default_factory=list)  # chart keys out of this filter's scope

    @property
    def id(self) -> str:
        return "NATIVE_FILTER-" + uid(f"filter:{self.key}")[:18]


@dataclass
class Board:
    key: str
    title: str
    slug: str
    rows: list[list[Chart]]
    filters: list[Filter]
    roles: list[str]  # project roles the dashboard is shown to (DASHBOARD_RBAC), besides Admin
    description: str

    @property
    def uuid(self) -> str:
        return uid(f"dashboard:{self.key}")

    @property
    def charts(self) -> list[Chart]:
        return [c for row in self.rows for c in row]


MAIN = "is_main_program"
ENROLMENT_ROWS = [
    [
        cutoff_chart("enrolment"),
        big_number(
            "enrolment_total", "Обучающихся по основным программам", "enrolment", "students", [MAIN]
        ),
        big_number(
            "enrolment_additional_total",
            "Зачислений в дополнительное образование",
            "enrolment",
            "students",
            ["not is_main_program"],
        ),
    ],
    [
        bar(
            "enrolment_by_municipality",
            "Обучающиеся по муниципалитетам",
            "enrolment",
            "municipality_name",
            ["students"],
            filters=[MAIN],
        ),
        pie(
            "enrolment_by_type",
            "Обучающиеся по типам организаций",
            "enrolment",
            "organization_type_ru",
            "students",
            [MAIN],
        ),
    ],
    [
        bar(
            "enrolment_by_grade_sex",
            "Обучающиеся по классам и полу",
            "enrolment",
            "grade_level",
            ["students"],
            groupby=["sex_ru"],
            filters=[MAIN, "grade_level > 0"],
        ),
        pie(
            "enrolment_by_program",
            "Обучающиеся по уровням образования",
            "enrolment",
            "program_level_ru",
            "students",
            [MAIN],
        ),
    ],
    [
        bar(
            "enrolment_trend",
            "Численность на 20 сентября по учебным годам",
            "enrolment",
            "academic_year",
            ["students"],
            groupby=["program_level_ru"],
            filters=[MAIN, "is_count_date"],
        ),
        bar(
            "enrolment_additional",
            "Дополнительное образование по направленностям",
            "enrolment",
            "orientation_ru",
            ["students"],
            filters=["not is_main_program"],
            horizontal=True,
        ),
    ],
    [
        table(
            "enrolment_by_organization",
            "Обучающиеся по организациям",
            "enrolment",
            ["municipality_name", "organization_name"],
            ["students"],
            "students",
            [MAIN],
            width=12,
        ),
    ],
]

RESULTS_ROWS = [
    [
        cutoff_chart("results"),
        big_number("results_pass_rate", "Успеваемость, %", "results", "pass_rate"),
        big_number("results_quality_rate", "Качество знаний, %", "results", "quality_rate"),
        big_number(
            "results_mean_mark", "Средний балл текущих отметок", "current_marks", "mean_mark"
        ),
    ],
    [
        table(
            "results_by_municipality",
            "Успеваемость и качество по муниципалитетам",
            "results",
            ["municipality_name"],
            ["students_attested", "pass_rate", "quality_rate"],
            "students_attested",
        ),
        bar(
            "results_by_grade",
            "Успеваемость и качество по классам",
            "results",
            "grade_level",
            ["pass_rate", "quality_rate"],
        ),
    ],
    [
        table(
            "results_by_organization",
            "Успеваемость и качество по организациям",
            "results",
            ["municipality_name", "organization_name"],
            ["students_attested", "pass_rate", "quality_rate"],
            "students_attested",
        ),
        table(
            "results_by_subject",
            "Успеваемость и качество по предметам",
            "results_by_subject",
            ["subject"],
            ["students_attested", "pass_rate", "quality_rate"],
            "students_attested",
        ),
    ],
    [
        bar(
            "results_by_term",
            "Успеваемость и качество по периодам",
            "results",
            "term_name_ru",
            ["pass_rate", "quality_rate"],
        ),
        table(
            "mean_mark_by_subject",
            "Средний балл текущих отметок по предметам",
            "current_marks",
            ["subject"],
            ["mean_mark", "numeric_marks"],
            "numeric_marks",
        ),
    ],
    [
        line(
            "attendance_by_month",
            "Доля пропусков уроков по месяцам",
            "attendance",
            "month_start_date",
            ["absence_rate"],
            grain="P1M",
        ),
        table(
            "school_outliers",
            "Школы вдали от распределения по региону (качество знаний)",
            "school_outliers",
            ["organization_name", "quality_rate", "region_mean", "z_score"],
            ["max_abs_z"],
            "max_abs_z",
        ),
    ],
]

ACCOUNTS_ROWS = [
    [
        cutoff_chart("accounts"),
        big_number("accounts_total", "Учётных записей", "accounts", "accounts"),
        big_number("accounts_linked", "Связано с ЕСИА", "accounts", "accounts_linked_to_esia"),
        big_number("accounts_share", "Доля связанных с ЕСИА, %", "accounts", "esia_share"),
    ],
    [
        table(
            "accounts_by_role",
            "Учётные записи по ролям",
            "accounts",
            ["role_name_ru"],
            ["accounts", "accounts_linked_to_esia", "esia_share"],
            "accounts",
        ),
        bar(
            "accounts_by_municipality",
            "Учётные записи по муниципалитетам",
            "accounts",
            "municipality_name",
            ["accounts", "accounts_linked_to_esia"],
        ),
    ],
    [
        bar(
            "accounts_by_trust",
            "Связанные с ЕСИА учётные записи по уровню доверия",
            "accounts_trust",
            "trust_level_ru",
            ["accounts_linked_to_esia"],
            groupby=["role_name_ru"],
        ),
    ],
    [
        line(
            "accounts_growth",
            "Рост числа учётных записей и связей с ЕСИА по месяцам",
            "accounts",
            "month_start_date",
            ["accounts", "accounts_linked_to_esia"],
            grain="P1M",
        ),
    ],
]

QUALITY_ROWS = [
    [
        cutoff_chart("quality"),
        big_number("dq_runs_total", "Запусков проверок", "dq_runs", "runs"),
        big_number(
            "dq_failed_blocking", "Блокирующих ошибок (все запуски)", "dq_runs", "failed_blocking"
        ),
        big_number(
            "dq_failed_warning", "Предупреждений (все запуски)", "dq_runs", "failed_warning"
        ),
    ],
    [
        bar(
            "dq_checks_by_severity",
            "Проверки последнего запуска по важности и результату",
            "dq_results",
            "severity_ru",
            ["checks"],
            groupby=["outcome_ru"],
        ),
        table(
            "dq_checks_by_suite",
            "Проверки последнего запуска по наборам",
            "dq_results",
            ["layer", "suite_name", "outcome_ru"],
            ["checks", "unexpected_count"],
            "checks",
        ),
    ],
    [
        table(
            "dq_run_history",
            "История запусков проверок",
            "dq_runs",
            ["started", "layer", "audited_schemas", "outcome_ru", "published_ru"],
            ["expectations", "failed_blocking", "failed_warning"],
            None,
            width=12,
        ),
    ],
    [
        bar(
            "dq_rows_by_feed",
            "Загружено и отклонено строк по потокам",
            "dq_loads",
            "feed",
            ["rows_loaded", "rows_rejected"],
        ),
        table(
            "dq_rejected_by_reason",
            "Строки в карантине по потоку и причине",
            "dq_rejected",
            ["feed", "reason"],
            ["lines", "open_lines"],
            "lines",
        ),
    ],
    [
        table(
            "dq_feed_freshness",
            "Свежесть потоков",
            "dq_freshness",
            ["feed", "newest_extract"],
            ["files", "days_behind", "days_since"],
            "days_behind",
        ),
        table(
            "dq_load_history",
            "История загрузок",
            "dq_loads",
            ["started", "feed", "file_name", "status_ru", "error_reason"],
            ["rows_read", "rows_loaded", "rows_rejected"],
            None,
        ),
    ],
]

TRAJECTORY_ROWS = [
    [
        cutoff_chart("trajectories"),
        big_number("lost_total", "Потерянных детей", "lost_children", "students"),
        big_number(
            "moved_total", "Переходов между муниципалитетами", "trajectory_flows", "students"
        ),
    ],
    [
        sankey(
            "flows_sankey",
            "Потоки обучающихся между муниципалитетами",
            "trajectory_flows",
            "municipality_name",
            "target_name",
            "students",
        ),
    ],
    [
        bar(
            "arrivals_departures_by_month",
            "Прибытие и выбытие по месяцам (основные программы)",
            "movements_by_month",
            "month",
            ["arrivals", "departures"],
            filters=[MAIN],
            width=12,
        ),
    ],
    [
        table(
            "status_by_year",
            "Годовые статусы траекторий",
            "trajectory_status",
            ["status_ru"],
            ["students"],
            "students",
        ),
        bar(
            "lost_by_municipality",
            "Потерянные дети по муниципалитетам",
            "lost_children",
            "municipality_name",
            ["students"],
        ),
    ],
    [
        table(
            "mobility_by_organization",
            "Мобильность и стабильность по организациям",
            "mobility",
            ["municipality_name", "organization_name"],
            ["students_enrolled", "mobility_rate", "stability_rate"],
            "students_enrolled",
            width=12,
        ),
    ],
]

# Cohorts and flows between organization types are counted for the region as a whole (their
# marts have no territory), so they are on a dashboard of the region analyst alone.
REGION_TRAJECTORY_ROWS = [
    [
        cutoff_chart("region_trajectories"),
        big_number(
            "type_moves_total", "Переходов между типами организаций", "type_flows", "students"
        ),
    ],
    [
        sankey(
            "type_flows_sankey",
            "Потоки обучающихся между типами организаций",
            "type_flows",
            "source_name",
            "target_name",
            "students",
        ),
    ],
    [
        line(
            "cohort_in_general_education",
            "Доля когорты в общем образовании по годам",
            "cohort_survival",
            "academic_year",
            ["share_percent"],
            groupby=["cohort_name"],
            filters=["status = 'general_education'"],
        ),
        table(
            "cohort_survival_table",
            "Выживаемость когорт: где обучающиеся на 20 сентября",
            "cohort_survival",
            ["cohort_name", "academic_year", "status_ru"],
            ["students", "share_percent"],
            "students",
        ),
    ],
]

ROLES_ALL = ["kontingent_region", "kontingent_municipality", "kontingent_school"]
ROLES_REGION_MUNI = ["kontingent_region", "kontingent_municipality"]

DASHBOARDS: list[Board] = [
    Board(
        key="enrolment",
        title="Контингент обучающихся",
        slug="kontingent",
        rows=ENROLMENT_ROWS,
        filters=[
            Filter(
                "enrolment_date",
                "Дата отчёта",
                "report_date",
                "enrolment",
                first_item=True,
                excluded=["enrolment_trend"],
            ),
            Filter("enrolment_municipality", "Муниципалитет", "municipality_name", "enrolment"),
            Filter("enrolment_type", "Тип организации", "organization_type_ru", "enrolment"),
            Filter("enrolment_level", "Уровень программы", "program_level_ru", "enrolment"),
        ],
        roles=ROLES_ALL,
        description="Численность обучающихся на отчётные даты.",
    ),
    Board(
        key="results",
        title="Успеваемость и качество знаний",
        slug="uspevaemost",
        rows=RESULTS_ROWS,
        filters=[
            Filter(
                "results_year",
                "Учебный год",
                "academic_year",
                "results",
                first_item=True,
                excluded=["attendance_by_month"],
            ),
            Filter(
                "results_term",
                "Период",
                "term_name_ru",
                "results",
                excluded=[
                    "results_by_term",
                    "results_mean_mark",
                    "mean_mark_by_subject",
                    "attendance_by_month",
                ],
            ),
            Filter("results_municipality", "Муниципалитет", "municipality_name", "results"),
            Filter("results_type", "Тип организации", "organization_type_ru", "results"),
            Filter("results_level", "Уровень программы", "program_level_ru", "results"),
        ],
        roles=[*ROLES_ALL, "kontingent_teacher"],
        description="Успеваемость, качество знаний, средний балл и посещаемость.",
    ),
    Board(
        key="accounts",
        title="Пользователи СЭДиЖ и ЕСИА",
        slug="polzovateli-esia",
        rows=ACCOUNTS_ROWS,
        filters=[
            Filter(
                "accounts_month",
                "Месяц",
                "month",
                "accounts",
                first_item=True,
                excluded=["accounts_growth", "accounts_by_trust"],
            ),
            Filter("accounts_municipality", "Муниципалитет", "municipality_name", "accounts"),
        ],
        roles=ROLES_REGION_MUNI,
        description="Учётные записи по ролям, связи с ЕСИА, рост по месяцам.",
    ),
    Board(
        key="trajectories",
        title="Движение контингента и траектории",
        slug="traektorii",
        rows=TRAJECTORY_ROWS,
        filters=[
            Filter(
                "trajectories_year",
                "Учебный год",
                "academic_year",
                "trajectory_status",
                first_item=True,
            ),
            Filter(
                "trajectories_municipality",
                "Муниципалитет",
                "municipality_name",
                "trajectory_status",
            ),
        ],
        roles=ROLES_REGION_MUNI,
        description="Годовые статусы, потоки между муниципалитетами, потерянные дети, мобильность.",
    ),
    Board(
        key="region_trajectories",
        title="Траектории по региону: когорты и типы организаций",
        slug="traektorii-region",
        rows=REGION_TRAJECTORY_ROWS,
        filters=[
            Filter("region_trajectories_year", "Учебный год", "academic_year", "type_flows"),
            Filter("region_trajectories_cohort", "Когорта", "cohort_name", "cohort_survival"),
        ],
        roles=["kontingent_region"],
        description="Выживаемость когорт 1, 5 и 10 классов; потоки между типами организаций.",
    ),
    Board(
        key="quality",
        title="Качество данных",
        slug="kachestvo-dannyh",
        rows=QUALITY_ROWS,
        filters=[
            Filter(
                "quality_layer",
                "Слой",
                "layer",
                "dq_runs",
                excluded=[
                    "dq_rows_by_feed",
                    "dq_rejected_by_reason",
                    "dq_feed_freshness",
                    "dq_load_history",
                ],
            ),
        ],
        roles=ROLES_REGION_MUNI,
        description="Проверки качества данных: запуски, важность, результаты.",
    ),
]


# -- YAML -------------------------------------------------------------------------------------
def dataset_yaml(d: Dataset) -> dict[str, Any]:
    return {
        "table_name": d.table_name,
        "schema": d.schema,
        "catalog": None,
        "sql": d.sql + "\n",
        "description": d.description,
        "main_dttm_col": d.main_dttm_col,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "params": None,
        "template_params": None,
        "extra": {"kontingent_rls": list(d.rls)},
        "uuid": d.uuid,
        "database_uuid": DATABASE_UUID,
        "version": "1.0.0",
        "metrics": [
            {
                "metric_name": m.name,
                "verbose_name": m.label,
                "metric_type": None,
                "expression": m.expression,
                "description": None,
                "d3format": m.d3format,
                "extra": {},
                "warning_text": None,
            }
            for m in d.metrics
        ],
        "columns": [
            {
                "column_name": c.name,
                "verbose_name": c.label,
                "is_dttm": c.is_dttm,
                "is_active": True,
                "type": c.type,
                "advanced_data_type": None,
                "groupby": c.groupby,
                "filterable": True,
                "expression": None,
                "description": None,
                "python_date_format": None,
                "extra": {},
            }
            for c in d.columns
        ],
    }


def chart_yaml(c: Chart) -> dict[str, Any]:
    return {
        "slice_name": c.title,
        "description": c.description,
        "viz_type": c.viz_type,
        "params": {"viz_type": c.viz_type, **c.params},
        "query_context": None,
        "cache_timeout": None,
        "certified_by": None,
        "certification_details": None,
        "uuid": c.uuid,
        "dataset_uuid": DATASET[c.dataset].uuid,
        "version": "1.0.0",
    }


def filter_yaml(f: Filter, chart_ids: dict[str, int], board: Board) -> dict[str, Any]:
    # the cut-off chart has none of the filtered columns: out of every filter's scope
    excluded = {*f.excluded, *(c.key for c in board.charts if c.dataset == "data_cutoff")}
    value = f.default
    data_mask: dict[str, Any] = {"extraFormData": {}, "filterState": {}, "ownState": {}}
    if value:
        data_mask = {
            "extraFormData": {"filters": [{"col": f.column, "op": "IN", "val": value}]},
            "filterState": {"value": value, "label": ", ".join(value)},
            "ownState": {},
        }
    config = {
        "id": f.id,
        "name": f.name,
        "type": "NATIVE_FILTER",
        "filterType": "filter_select",
        "description": "",
        "targets": [{"datasetUuid": DATASET[f.dataset].uuid, "column": {"name": f.column}}],
        "defaultDataMask": data_mask,
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": sorted(chart_ids[k] for k in excluded)},
        "controlValues": {
            "multiSelect": not f.first_item,
            "enableEmptyFilter": f.first_item,
            "defaultToFirstItem": False,
            "inverseSelection": False,
            "searchAllOptions": False,
            "sortAscending": not f.first_item,
        },
    }
    if f.first_item:
        # the newest value of the warehouse, put in by provisioning (provision.py)
        config["kontingent_default"] = "newest"
    return config


def dashboard_yaml(b: Board, chart_ids: dict[str, int]) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": b.title}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    for i, row in enumerate(b.rows, start=1):
        row_id = f"ROW-{b.key}-{i}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for c in row:
            chart_id = f"CHART-{c.key}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": chart_ids[c.key],
                    "uuid": c.uuid,
                    "sliceName": c.title,
                    "width": c.width,
                    "height": c.height,
                },
            }
    return {
        "dashboard_title": b.title,
        "description": b.description,
        "css": "",
        "slug": b.slug,
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": b.uuid,
        "version": "1.0.0",
        "position": position,
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "native_filter_configuration": [filter_yaml(f, chart_ids, b) for f in b.filters],
            "kontingent_roles": b.roles,
        },
    }


def render() -> dict[str, str]:
    """Every generated asset as {path under assets/: YAML text}."""

    def dump(data: dict[str, Any]) -> str:
        header = "# Generated by superset/build_assets.py: edit that script, not this file.\n"
        return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=True, width=100)

    files: dict[str, str] = {}
    for d in DATASETS:
        files[f"datasets/kontingent_warehouse/{d.key}.yaml"] = dump(dataset_yaml(d))
    chart_ids: dict[str, int] = {}
    for b in DASHBOARDS:
        for c in b.charts:
            chart_ids.setdefault(c.key, len(chart_ids) + 1)
            files[f"charts/{c.key}.yaml"] = dump(chart_yaml(c))
    for b in DASHBOARDS:
        files[f"dashboards/{b.key}.yaml"] = dump(dashboard_yaml(b, chart_ids))
    return files


def main() -> None:
    files = render()
    for kind in ("datasets", "charts", "dashboards"):
        for old in (ASSETS / kind).rglob("*.yaml") if (ASSETS / kind).exists() else []:
            if old.relative_to(ASSETS).as_posix() not in files:
                old.unlink()
    for name, text in files.items():
        path = ASSETS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"{len(files)} files written under {ASSETS}", file=sys.stderr)


if __name__ == "__main__":
    main()
