"""A scanner for personal data in the published layer (what the dashboards' role reads).

It looks at column names (identifying attributes, person-level keys) and at values: the
surnames, first names, SNILS (with or without separators) and birth dates of the people in
`pii`, read there by the restricted role, and anything shaped like a SNILS."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

PUBLISHED = ("marts", "forms", "dq")

# attributes that identify a person (Russian or English names of columns; a boolean such as
# `has_snils` says only whether one was given)
IDENTIFYING_COLUMN = re.compile(
    r"surname|first_name|patronymic|middle_name|snils|birth_date|date_of_birth|birthday|"
    r"esia_oid|фамил|имя|отчеств|снилс|рожден",
    re.IGNORECASE,
)
# keys of one person: pseudonymous, still personal data, so never in the published layer
PERSON_KEY_COLUMN = re.compile(
    r"^(student|teacher|account|person|pupil)_(id|key)$|^(student|account|person)_keys?$"
)
# the written form of a SNILS; eleven bare digits are matched against the people's own SNILS
# only (an 11-digit OKTMO has the same shape)
SNILS_SHAPE = r"[0-9]{3}-[0-9]{3}-[0-9]{3}[ -][0-9]{2}"
TEXT_TYPES = ("text", "character varying", "character")
DATE_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")


@dataclass(frozen=True)
class Needles:
    """The identifying values of the people loaded, read from `pii`."""

    names: list[str]
    snils: list[str]  # formatted and digits only
    birth_dates: list[str]  # ISO
    birth_dates_ru: list[str]  # ДД.ММ.ГГГГ


def read_needles(pii_url: str) -> Needles:
    with psycopg.connect(pii_url) as conn:
        names = conn.execute(
            "select distinct v from pii.students, "
            "lateral unnest(array[surname, first_name, patronymic]) as v "
            "where v is not null and length(v) > 2"
        ).fetchall()
        snils = conn.execute(
            "select distinct snils from pii.students where snils is not null"
        ).fetchall()
        births = conn.execute(
            "select distinct birth_date from pii.students where birth_date is not null"
        ).fetchall()
    snils_forms = sorted({s for (s,) in snils} | {re.sub(r"\D", "", s) for (s,) in snils})
    return Needles(
        names=sorted(n for (n,) in names),
        snils=snils_forms,
        birth_dates=sorted(d.isoformat() for (d,) in births),
        birth_dates_ru=sorted(d.strftime("%d.%m.%Y") for (d,) in births),
    )


def published_columns(
    conn: psycopg.Connection, schemas=PUBLISHED
) -> list[tuple[str, str, str, str]]:
    return conn.execute(
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns where table_schema = any(%s) order by 1, 2, 3",
        (list(schemas),),
    ).fetchall()


def scan(url: str, needles: Needles, schemas=PUBLISHED) -> list[str]:
    """Every finding as `schema.table.column: what`."""
    found = []
    with psycopg.connect(url) as conn:
        for schema, table, column, data_type in published_columns(conn, schemas):
            where = f"{schema}.{table}.{column}"
            if IDENTIFYING_COLUMN.search(column) and data_type != "boolean":
                found.append(f"{where}: identifying column name")
            if PERSON_KEY_COLUMN.search(column):
                found.append(f"{where}: person-level key")
            rel = sql.Identifier(schema, table)
            col = sql.Identifier(column)
            if data_type in TEXT_TYPES:
                hit = conn.execute(
                    sql.SQL(
                        "select "
                        "bool_or({c} = any(%(names)s)), "
                        "bool_or({c} = any(%(snils)s) or {c} ~ %(shape)s), "
                        "bool_or({c} = any(%(births)s)) from {t}"
                    ).format(c=col, t=rel),
                    {
                        "names": needles.names,
                        "snils": needles.snils,
                        "shape": SNILS_SHAPE,
                        "births": needles.birth_dates + needles.birth_dates_ru,
                    },
                ).fetchone()
                for flag, what in zip(hit, ("name", "SNILS", "birth date"), strict=True):
                    if flag:
                        found.append(f"{where}: {what} value")
            elif data_type in DATE_TYPES:
                # a column of birth dates: most of its distinct values are people's birth dates
                share = conn.execute(
                    sql.SQL(
                        "select count(*) filter (where d::date::text = any(%s)), count(*) "
                        "from (select distinct {c} as d from {t} where {c} is not null) as x"
                    ).format(c=col, t=rel),
                    (needles.birth_dates,),
                ).fetchone()
                if share[1] >= 5 and share[0] * 2 >= share[1]:
                    found.append(f"{where}: birth dates ({share[0]} of {share[1]} values)")
    return found
