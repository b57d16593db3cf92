# ruff: noqa: S608 - the SQL below is built from constants of this module, never from input
"""What is checked, declared once: every check has a stable name, an asset (a table), one Great
Expectations expectation, and a severity chosen on purpose.

- **blocking** (GX severity `critical`): the data is wrong or incomplete in a way published figures
  would carry (a missing column, a code outside its list, a broken reference, a figure that does
  not reconcile). `kontingent check` exits non-zero and nothing is published.
- **warning** (GX severity `warning`): a signal to review that may be true of the world (a volume
  dip, an outlier school, a jump in marks, a stale feed, source checksums). It is recorded and
  shown, and publication goes ahead.

Checks on columns that hold personal data (pseudonymous keys, attributes of persons) are marked
`personal`: they go to the `*_personal` checkpoints, whose result format counts unexpected values
and never lists them. SQL checks (`UnexpectedRowsExpectation`) return aggregated rows only, and
their result keeps only the number of such rows.

Marts checks name the published tables without a schema: the run sets the connection's
`search_path` to the published schemas (`marts, forms`) or to the build schemas (`marts_next,
forms_next`), so one suite audits either. Everything else is schema-qualified.

This module describes; `quality.project` turns it into the GX file project in `expectations/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

RAW = "raw"
MARTS = "marts"

# Thresholds (chosen for a region of a few thousand to a few hundred thousand students).
CHECKSUM_VALID_SHARE = 0.95  # share of present INN/OGRN/SNILS whose checksum holds
DELTA_VOLUME_BAND = (0.2, 5.0)  # newest delta day / median of the trailing 20 delta days
DELTA_VOLUME_MIN_MEDIAN = 50  # smaller feeds are too noisy to judge by volume
SNAPSHOT_VOLUME_BAND = (0.9, 1.1)  # newest snapshot / median of the trailing 5 snapshots
# expected interval of each feed, in days behind the newest extract of any feed
FRESHNESS_DAYS = {
    "organizations": 45,  # registry snapshot, about monthly
    "students": 28,  # student snapshot, about weekly to fortnightly
    "movements": 45,  # events; quiet weeks happen, summer is covered by the interval
    "marks": 14,  # every school day; two weeks covers the holidays but the summer
    "final_marks": 130,  # at term ends only (the summer gap is about four months)
    "accounts": 7,  # every working day
}
ORPHAN_BURST_SHARE = 0.01  # orphan movements above this share of the newest day block
TWO_PROGRAMS_SHARE = 0.005  # students in two main programs on one count date
GRADE_AGE_SLACK = (4, 9)  # plausible age in full years on the count date: grade + 4 .. grade + 9
GRADE_AGE_SHARE = 0.01
FIVES_JUMP = 0.20  # share of 5s per school between consecutive terms, absolute
FIVES_MIN_MARKS = 100
OUTLIER_SD = 3.0  # organization enrolment vs the previous year, leave-one-out z of the log ratio
OUTLIER_MIN_STUDENTS = 10  # organizations smaller than this the year before are not judged
OUTLIER_MIN_CHANGE = 20  # a change of fewer students is never an outlier, whatever its share

SUMMARY_LISTED: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
SUMMARY_COUNTED: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}


@dataclass(frozen=True)
class Asset:
    """A table (or a query) checks run on. Marts assets have no schema (see the docstring)."""

    name: str
    layer: str
    table: str | None = None
    schema: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class Check:
    name: str  # stable, e.g. "raw.marks.mark_value.codes"; the key of results in `dq`
    asset: str
    expectation: str  # GX expectation class, e.g. "ExpectColumnValuesToBeInSet"
    kwargs: dict[str, Any] = field(default_factory=dict)
    blocking: bool = True
    personal: bool = False
    description: str = ""

    @property
    def severity(self) -> str:
        return "blocking" if self.blocking else "warning"


def _rows(name: str, asset: str, query: str, *, blocking: bool, description: str) -> Check:
    """A SQL check: it fails when the query returns rows (aggregated rows, never persons).

    GX substitutes `{batch}` with a parenthesized subquery when the query contains a join, and
    adds an alias of its own otherwise; every query here joins and aliases `{batch}` itself.
    """
    if not re.search(r"\bjoin\b", query) or "{batch} as " not in query:
        raise ValueError(f"{name}: a SQL check must join and alias {{batch}}")
    return Check(
        name=name,
        asset=asset,
        expectation="UnexpectedRowsExpectation",
        kwargs={"unexpected_rows_query": " ".join(query.split())},
        blocking=blocking,
        description=description,
    )


# -- raw ------------------------------------------------------------------------------------
_GX_TYPES = {
    "text": "TEXT",
    "date": "DATE",
    "timestamptz": "TIMESTAMP",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "boolean": "BOOLEAN",
}
_PERSONAL_FEEDS = ("students", "accounts")  # every row describes a person


def _raw_feed_checks(feed: Any) -> tuple[list[Asset], list[Check]]:
    asset = f"raw.{feed.name}"
    assets = [Asset(asset, RAW, table=feed.name, schema="raw")]
    checks: list[Check] = []
    outputs = [o for o in feed.outputs() if o.zone == "raw"]
    columns = ["load_id", "extract_date", "line_number", *[o.name for o in outputs]]
    checks.append(
        Check(
            f"{asset}.columns",
            asset,
            "ExpectTableColumnsToMatchSet",
            {"column_set": columns, "exact_match": False},
            description=f"Every column of the {feed.name} contract is present in raw.",
        )
    )
    personal_feed = feed.name in _PERSONAL_FEEDS
    by_source = {c.name: c for c in feed.columns}
    for out in outputs:
        source = by_source[out.source]
        personal = personal_feed or out.kind == "pseudonym"
        if not (source.required or out.kind == "pseudonym"):
            continue
        checks.append(
            Check(
                f"{asset}.{out.name}.type",
                asset,
                "ExpectColumnValuesToBeOfType",
                {"column": out.name, "type_": _GX_TYPES[out.sql_type]},
                personal=personal,
                description=f"{out.name} has type {out.sql_type}.",
            )
        )
        if source.required:
            checks.append(
                Check(
                    f"{asset}.{out.name}.not_null",
                    asset,
                    "ExpectColumnValuesToNotBeNull",
                    {"column": out.name},
                    personal=personal,
                    description=f"{out.name} is required by the contract.",
                )
            )
    for col in feed.columns:
        if col.type == "code" and not col.pii:
            checks.append(
                Check(
                    f"{asset}.{col.name}.codes",
                    asset,
                    "ExpectColumnValuesToBeInSet",
                    {"column": col.name, "value_set": list(col.codes)},
                    personal=personal_feed,
                    description=f"{col.name} is one of the contract's codes.",
                )
            )
    return assets, checks


def _checksum_checks() -> tuple[list[Asset], list[Check]]:
    newest = (
        "select * from raw.{feed} where load_id = (select max(feed.load_id) from raw.{feed} "
        "as feed inner join raw.load_log as loads on feed.load_id = loads.load_id "
        "where loads.status = 'loaded')"
    )
    assets = [
        Asset("raw.organizations.newest", RAW, query=newest.format(feed="organizations")),
        Asset("raw.students.newest", RAW, query=newest.format(feed="students")),
    ]
    checks = [
        Check(
            f"{asset}.{column}.checksum_share",
            asset,
            "ExpectColumnValuesToBeInSet",
            {"column": column, "value_set": [True], "mostly": CHECKSUM_VALID_SHARE},
            blocking=False,
            personal=asset.startswith("raw.students"),
            description=(
                f"At least {CHECKSUM_VALID_SHARE:.0%} of the {label} given in the newest "
                "snapshot pass their checksum (a storm of failures means a broken extract)."
            ),
        )
        for asset, column, label in (
            ("raw.organizations.newest", "is_inn_valid", "INNs"),
            ("raw.organizations.newest", "is_ogrn_valid", "OGRNs"),
            ("raw.students.newest", "is_snils_valid", "SNILS numbers"),
        )
    ]
    return assets, checks


def _load_log_checks(feed_modes: dict[str, str]) -> list[Check]:
    asset = "raw.load_log"
    checks: list[Check] = []
    low, high = DELTA_VOLUME_BAND
    s_low, s_high = SNAPSHOT_VOLUME_BAND
    for feed, mode in feed_modes.items():
        snapshot = mode == "snapshot"
        trailing = 5 if snapshot else 20
        band_low, band_high = (s_low, s_high) if snapshot else (low, high)
        floor = 1 if snapshot else DELTA_VOLUME_MIN_MEDIAN
        query = f"""
            with days as (
                select load_log.extract_date, sum(load_log.rows_loaded) as rows_loaded
                from {{batch}} as load_log
                where load_log.feed = '{feed}' and load_log.status = 'loaded'
                    and load_log.kind = 'file'
                group by load_log.extract_date
            ),
            newest as (
                select extract_date, rows_loaded from days
                order by extract_date desc limit 1
            ),
            history as (
                select percentile_cont(0.5) within group (order by earlier.rows_loaded)
                    as median_rows
                from (
                    select days.rows_loaded from days
                    where days.extract_date < (select newest.extract_date from newest)
                    order by days.extract_date desc limit {trailing}
                ) as earlier
            )
            select newest.extract_date, newest.rows_loaded, history.median_rows
            from newest cross join history
            where history.median_rows >= {floor}
                and (newest.rows_loaded < history.median_rows * {band_low}
                    or newest.rows_loaded > history.median_rows * {band_high})
        """
        kind = "snapshot" if snapshot else "delta day"
        checks.append(
            _rows(
                f"{asset}.{feed}.volume",
                asset,
                query,
                blocking=snapshot,
                description=(
                    f"Rows of the newest {feed} {kind} are within {band_low}–{band_high}× the "
                    f"median of the {trailing} before it"
                    + ("" if snapshot else f" (judged when that median is ≥ {floor})")
                    + "."
                ),
            )
        )
    for feed, days in FRESHNESS_DAYS.items():
        query = f"""
            with newest as (
                select max(load_log.extract_date) as extract_date
                from {{batch}} as load_log where load_log.status = 'loaded'
            ),
            feed as (
                select max(load_log.extract_date) as extract_date
                from {{batch}} as load_log
                where load_log.status = 'loaded' and load_log.feed = '{feed}'
            )
            select newest.extract_date as newest_extract, feed.extract_date as feed_extract
            from newest cross join feed
            where newest.extract_date is not null
                and (feed.extract_date is null or feed.extract_date < newest.extract_date - {days})
        """
        checks.append(
            _rows(
                f"{asset}.{feed}.freshness",
                asset,
                query,
                blocking=False,
                description=(
                    f"The newest {feed} extract is at most {days} days older than the newest "
                    "extract of any feed."
                ),
            )
        )
    return checks


# orphans through outer joins, not `not exists (...) or not exists (...)`: with the `or`
# PostgreSQL cannot anti-join and scans the students' history once per movement (no SQL
# comments inside: the query is wrapped by Great Expectations)
_EFFECTIVE_MOVEMENTS = """
    with newest as (
        select distinct on (movements.event_id) movements.*
        from {batch} as movements
        inner join raw.load_log as loads
            on movements.load_id = loads.load_id and loads.status = 'loaded'
        order by movements.event_id, movements.extract_date desc, movements.load_id desc,
            movements.line_number desc
    ),
    effective as (
        select * from newest where not coalesce(is_deleted, false)
    ),
    known_students as (
        select distinct student_key from raw.students
    ),
    known_organizations as (
        select distinct organization_id from raw.organizations
    ),
    orphans as (
        select effective.event_id, effective.extract_date
        from effective
        left join known_students
            on known_students.student_key = effective.student_key
        left join known_organizations
            on known_organizations.organization_id = effective.organization_id
        where known_students.student_key is null or known_organizations.organization_id is null
    )
"""


def _orphan_checks() -> list[Check]:
    asset = "raw.movements"
    any_orphan = (
        _EFFECTIVE_MOVEMENTS
        + "select count(*) as orphan_movements from orphans having count(*) > 0"
    )
    burst = (
        _EFFECTIVE_MOVEMENTS
        + f"""
        , recent as (
            select count(*) as movements,
                (select count(*) from orphans where orphans.extract_date >= (
                    select max(effective.extract_date) - 30 from effective)) as orphans
            from effective
            where effective.extract_date >= (select max(effective.extract_date) - 30 from effective)
        )
        select movements, orphans from recent
        where orphans > movements * {ORPHAN_BURST_SHARE}
        """
    )
    return [
        _rows(
            f"{asset}.orphans",
            asset,
            any_orphan,
            blocking=False,
            description=(
                "Every effective movement names a student and an organization some snapshot "
                "delivered (a few orphans resolve when the snapshot catches up)."
            ),
        ),
        _rows(
            f"{asset}.orphan_burst",
            asset,
            burst,
            blocking=True,
            description=(
                f"Orphan movements of the last 30 extract days stay under "
                f"{ORPHAN_BURST_SHARE:.0%} of that period's movements (more means a broken "
                "extract: counts would go to unknown students or organizations)."
            ),
        ),
    ]


# -- marts ----------------------------------------------------------------------------------
# the columns dashboards and forms read, and each table's grain
PUBLISHED_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "agg_enrolment": (
        (
            "count_date",
            "is_cutoff_date",
            "organization_key",
            "organization_id",
            "municipality_id",
            "organization_type",
            "locality",
            "is_main_program",
            "program_level",
            "orientation_code",
            "grade_level",
            "sex",
            "students",
        ),
        (
            "count_date",
            "organization_id",
            "is_main_program",
            "program_level",
            "orientation_code",
            "grade_level",
            "sex",
        ),
    ),
    "agg_results": (
        (
            "academic_year",
            "term_name_ru",
            "organization_id",
            "municipality_id",
            "grade_level",
            "students_attested",
            "students_passed",
            "students_quality",
            "pass_rate",
            "quality_rate",
            "mean_final_mark",
        ),
        ("academic_year", "term_name_ru", "organization_id", "grade_level"),
    ),
    "agg_accounts": (
        ("month_start_date", "role_id", "municipality_id", "accounts", "accounts_linked_to_esia"),
        ("month_start_date", "role_id", "municipality_id"),
    ),
    "agg_attendance": (
        ("month_start_date", "organization_id", "grade_level", "entries", "absences"),
        ("month_start_date", "organization_id", "grade_level"),
    ),
    "agg_movements_by_month": (
        (
            "month_start_date",
            "academic_year",
            "organization_id",
            "program_level",
            "movement_category",
            "direction",
            "events",
        ),
        ("month_start_date", "organization_id", "program_level", "movement_category"),
    ),
    "agg_current_marks": (
        (
            "academic_year_start",
            "organization_id",
            "grade_level",
            "subject",
            "numeric_marks",
            "mean_mark",
            "weighted_mean_mark",
        ),
        ("academic_year_start", "organization_id", "grade_level", "subject"),
    ),
    "dim_organization": (
        (
            "organization_key",
            "organization_id",
            "valid_from",
            "valid_to",
            "is_current",
            "short_name",
            "organization_type",
            "municipality_id",
            "locality",
        ),
        ("organization_key",),
    ),
    "dim_municipality": (("municipality_id", "municipality_name"), ("municipality_id",)),
    # migration trajectories (agg_lost_children and agg_transfer_outcomes may rightly be empty)
    "agg_student_year_status": (
        ("academic_year_start", "municipality_id", "status", "students", "students_suppressed"),
        ("academic_year_start", "municipality_id", "status"),
    ),
    "agg_trajectory_flows": (
        ("academic_year_start", "flow_level", "source_id", "target_id", "students"),
        ("academic_year_start", "flow_level", "source_id", "target_id"),
    ),
    "agg_mobility": (
        (
            "academic_year_start",
            "organization_id",
            "students_enrolled",
            "students_mobile",
            "students_stable",
            "mobility_rate",
            "stability_rate",
        ),
        ("academic_year_start", "organization_id"),
    ),
    "dim_date": (("date_day", "academic_year", "month_start_date"), ("date_day",)),
    "dim_term": (("term_id", "academic_year", "term_name_ru", "term_system"), ("term_id",)),
    "dim_role": (("role_id", "role_name_ru"), ("role_id",)),
}

MARTS_CODES = {
    ("agg_enrolment", "program_level"): [
        "preschool",
        "primary",
        "basic",
        "secondary",
        "vocational",
        "additional",
        "unknown",
    ],
    ("agg_enrolment", "sex"): ["male", "female", "unknown"],
    ("agg_enrolment", "locality"): ["urban", "rural", "unknown"],
    ("agg_movements_by_month", "direction"): ["arrival", "departure", "within"],
}

# (table, column, parent table, parent column)
REFERENCES = (
    ("agg_enrolment", "organization_key", "dim_organization", "organization_key"),
    ("agg_enrolment", "municipality_id", "dim_municipality", "municipality_id"),
    ("agg_results", "organization_id", "dim_organization", "organization_id"),
    ("agg_results", "municipality_id", "dim_municipality", "municipality_id"),
    ("agg_accounts", "role_id", "dim_role", "role_id"),
    ("agg_accounts", "municipality_id", "dim_municipality", "municipality_id"),
    ("agg_attendance", "organization_id", "dim_organization", "organization_id"),
    ("agg_current_marks", "organization_id", "dim_organization", "organization_id"),
    ("agg_movements_by_month", "organization_id", "dim_organization", "organization_id"),
    ("dim_organization", "municipality_id", "dim_municipality", "municipality_id"),
)

# tables of the published layer, counted through query_to_xml so one query covers every table
_TABLE_ROWS = """
    (xpath('/row/n/text()', query_to_xml(
        format('select count(*) as n from %I.%I', tables.schemaname, tables.tablename),
        false, true, '')))[1]::text::bigint
"""


def _marts_table_checks() -> list[Check]:
    checks: list[Check] = []
    for table, (columns, grain) in PUBLISHED_TABLES.items():
        asset = f"marts.{table}"
        checks.append(
            Check(
                f"{asset}.columns",
                asset,
                "ExpectTableColumnsToMatchSet",
                {"column_set": list(columns), "exact_match": False},
                description="The columns dashboards and forms read are present.",
            )
        )
        checks.append(
            Check(
                f"{asset}.rows",
                asset,
                "ExpectTableRowCountToBeBetween",
                {"min_value": 1},
                description="The table is not empty.",
            )
        )
        if len(grain) == 1:
            checks.append(
                Check(
                    f"{asset}.{grain[0]}.unique",
                    asset,
                    "ExpectColumnValuesToBeUnique",
                    {"column": grain[0]},
                    description="The key is unique.",
                )
            )
            checks.append(
                Check(
                    f"{asset}.{grain[0]}.not_null",
                    asset,
                    "ExpectColumnValuesToNotBeNull",
                    {"column": grain[0]},
                    description="The key is never null.",
                )
            )
        else:
            checks.append(
                Check(
                    f"{asset}.grain",
                    asset,
                    "ExpectCompoundColumnsToBeUnique",
                    {"column_list": list(grain), "ignore_row_if": "never"},
                    description="One row per grain: " + " × ".join(grain) + ".",
                )
            )
    for (table, column), codes in MARTS_CODES.items():
        checks.append(
            Check(
                f"marts.{table}.{column}.codes",
                f"marts.{table}",
                "ExpectColumnValuesToBeInSet",
                {"column": column, "value_set": codes},
                description=f"{column} uses the warehouse's codes.",
            )
        )
    for table, column, parent, parent_column in REFERENCES:
        query = f"""
            select child.{column}, count(*) as rows_without_parent
            from {{batch}} as child
            left join {parent} as parent on child.{column} = parent.{parent_column}
            where child.{column} is not null and parent.{parent_column} is null
            group by child.{column}
        """
        checks.append(
            _rows(
                f"marts.{table}.{column}.references",
                f"marts.{table}",
                query,
                blocking=True,
                description=f"Every {table}.{column} exists in {parent}.{parent_column}.",
            )
        )
    return checks


def _published_layer_checks() -> list[Check]:
    """Completeness of the whole layer: what is audited is what will be published."""
    asset = "marts.dim_date"
    tables = f"""
        with audited as (
            select tables.schemaname, tables.tablename,
                left(tables.schemaname, 5) as layer, {_TABLE_ROWS} as row_count
            from pg_catalog.pg_tables as tables
            where tables.schemaname = any(current_schemas(false))
                and left(tables.schemaname, 5) in ('marts', 'forms')
        ),
        batch_is_here as (select count(*) as batch_rows from {{batch}} as batch_table)
    """
    empty = (
        tables
        + "select audited.layer, audited.tablename from audited cross join batch_is_here "
        + "where audited.row_count = 0"
    )
    missing = (
        tables
        + """
        select published.schemaname, published.tablename
        from pg_catalog.pg_tables as published
        cross join batch_is_here
        where published.schemaname in ('marts', 'forms')
            and not exists (
                select 1 from audited
                where audited.layer = published.schemaname
                    and audited.tablename = published.tablename
            )
    """
    )
    return [
        _rows(
            "marts.layer.non_empty",
            asset,
            empty,
            blocking=True,
            description="Every table of the audited marts and forms schemas has rows.",
        ),
        _rows(
            "marts.layer.complete",
            asset,
            missing,
            blocking=True,
            description=(
                "Every table dashboards read now also exists in the audited layer (a build that "
                "lost a model is not published)."
            ),
        ),
    ]


def _marts_rule_checks() -> list[Check]:
    checks: list[Check] = []
    checks.append(
        _rows(
            "marts.agg_enrolment.two_main_programs",
            "marts.agg_enrolment",
            f"""
            with per_student as (
                select enrolled.count_date, enrolled.student_id, count(*) as main_spells
                from core.fct_enrolment_on_count_date as enrolled
                where enrolled.is_main_program
                group by enrolled.count_date, enrolled.student_id
            ),
            batch_is_here as (select count(*) as batch_rows from {{batch}} as batch_table)
            select per_student.count_date,
                count(*) filter (where per_student.main_spells > 1) as in_two_programs,
                count(*) as students
            from per_student cross join batch_is_here
            group by per_student.count_date
            having count(*) filter (where main_spells > 1) > count(*) * {TWO_PROGRAMS_SHARE}
            """,
            blocking=True,
            description=(
                f"Under {TWO_PROGRAMS_SHARE:.1%} of students are enrolled in two main programs "
                "on one count date (more double-counts ОО-1)."
            ),
        )
    )
    low, high = GRADE_AGE_SLACK
    checks.append(
        _rows(
            "marts.agg_enrolment.grade_age",
            "marts.agg_enrolment",
            f"""
            with dates as (
                select max(count_date) as count_date from {{batch}} as batch_table
                where to_char(count_date, 'MM-DD') = '09-20'
            ),
            enrolled as (
                select enrolled.organization_id, enrolled.grade_level, ages.age
                from core.fct_enrolment_on_count_date as enrolled
                inner join dates on enrolled.count_date = dates.count_date
                left join pii.ages_on((select dates.count_date from dates)) as ages
                    on enrolled.student_id = ages.student_key
                where enrolled.is_main_program
                    and enrolled.program_level in ('primary', 'basic', 'secondary')
                    and enrolled.grade_level is not null
            )
            select count(*) filter (
                    where age not between grade_level + {low} and grade_level + {high}
                ) as implausible,
                count(*) as students
            from enrolled
            having count(*) filter (
                where age not between grade_level + {low} and grade_level + {high}
            ) > count(*) * {GRADE_AGE_SHARE}
            """,
            blocking=False,
            description=(
                f"On the newest 20 September, under {GRADE_AGE_SHARE:.0%} of school students "
                f"have an age outside grade + {low} … grade + {high} years."
            ),
        )
    )
    checks.append(
        _rows(
            "marts.agg_results.fives_jump",
            "marts.agg_results",
            f"""
            with shares as (
                select marks.organization_id, terms.term_system, terms.start_date,
                    count(*) as numeric_marks,
                    avg((marks.numeric_value = 5)::int) as share_of_fives
                from core.fct_final_mark as marks
                inner join dim_term as terms
                    on marks.academic_year = terms.academic_year
                    and marks.term_name_ru = terms.term_name_ru
                where marks.numeric_value is not null
                    and terms.term_system in ('quarter', 'half_year', 'trimester')
                group by marks.organization_id, terms.term_system, terms.start_date
            ),
            paired as (
                select shares.*,
                    lag(share_of_fives) over periods as previous_share,
                    lag(numeric_marks) over periods as previous_marks,
                    max(start_date) over (partition by term_system) as newest_start
                from shares
                window periods as (partition by organization_id, term_system order by start_date)
            ),
            batch_is_here as (select count(*) as batch_rows from {{batch}} as batch_table)
            select organization_id, term_system, start_date,
                round(previous_share, 3) as previous_share, round(share_of_fives, 3) as share
            from paired
            where start_date = newest_start
                and previous_share is not null
                and numeric_marks >= {FIVES_MIN_MARKS} and previous_marks >= {FIVES_MIN_MARKS}
                and abs(share_of_fives - previous_share) > {FIVES_JUMP}
            """,
            blocking=False,
            description=(
                f"No school's share of 5s among final marks moves by more than {FIVES_JUMP:.0%} "
                f"from one term to the next (both terms with ≥ {FIVES_MIN_MARKS} marks)."
            ),
        )
    )
    checks.append(
        _rows(
            "marts.agg_enrolment.outlier",
            "marts.agg_enrolment",
            f"""
            with dates as (
                select distinct count_date from {{batch}} as batch_table
                where to_char(count_date, 'MM-DD') = '09-20'
                order by count_date desc limit 2
            ),
            current_date_ as (select max(count_date) as count_date from dates),
            previous_date as (select min(count_date) as count_date from dates),
            active as (
                select organizations.organization_id
                from dim_organization as organizations, current_date_
                where organizations.organization_status = 'active'
                    and current_date_.count_date >= organizations.valid_from
                    and current_date_.count_date < organizations.valid_to
            ),
            counts as (
                select enrolment.organization_id,
                    coalesce(sum(enrolment.students) filter (
                        where enrolment.count_date = (select count_date from current_date_)
                    ), 0) as students,
                    coalesce(sum(enrolment.students) filter (
                        where enrolment.count_date = (select count_date from previous_date)
                    ), 0) as previous_students
                from {{batch}} as enrolment
                inner join active on enrolment.organization_id = active.organization_id
                where enrolment.is_main_program
                    and (select count(*) from dates) = 2
                group by enrolment.organization_id
            ),
            ratios as (
                select counts.*, ln((students + 1.0) / (previous_students + 1.0)) as log_ratio
                from counts where previous_students >= {OUTLIER_MIN_STUDENTS}
            ),
            totals as (
                select count(*) as n, sum(log_ratio) as s, sum(log_ratio * log_ratio) as ss
                from ratios
            ),
            scored as (
                select ratios.*,
                    (totals.s - log_ratio) / (totals.n - 1) as others_mean,
                    sqrt(greatest(
                        ((totals.ss - log_ratio * log_ratio)
                            - (totals.s - log_ratio) ^ 2 / (totals.n - 1)) / (totals.n - 2),
                        0)) as others_sd
                from ratios cross join totals
                where totals.n >= 5
            )
            select organization_id, previous_students, students,
                round(((log_ratio - others_mean) / nullif(others_sd, 0))::numeric, 2) as z
            from scored
            where abs(log_ratio - others_mean) > {OUTLIER_SD} * others_sd
                and abs(students - previous_students) >= {OUTLIER_MIN_CHANGE}
            """,
            blocking=False,
            description=(
                "Each active organization's main-program enrolment on the newest 20 September "
                f"is within ±{OUTLIER_SD:g} standard deviations of the other organizations' "
                "change from the previous year (log ratio, leave-one-out)."
            ),
        )
    )
    return checks


def _reconciliation_checks() -> list[Check]:
    """Marts reconcile with raw: every loaded student, movement, spell and final mark."""
    loaded = (
        "inner join raw.load_log as loads "
        "on {t}.load_id = loads.load_id and loads.status = 'loaded'"
    )
    here = "batch_is_here as (select count(*) as batch_rows from {batch} as batch_table)"
    return [
        _rows(
            "marts.reconcile.students",
            "marts.agg_enrolment",
            f"""
            with {here},
            counts as (
                select
                    (select count(distinct students.student_key) from raw.students as students
                        {loaded.format(t="students")}) as raw_students,
                    (select count(*) from core.dim_student where is_in_registry) as core_students
            )
            select * from counts where raw_students <> core_students
            """,
            blocking=True,
            description="Every student loaded from the snapshots is one student of the core.",
        ),
        _rows(
            "marts.reconcile.movements",
            "marts.agg_enrolment",
            f"""
            with {here},
            newest as (
                select distinct on (movements.event_id) movements.event_id, movements.is_deleted
                from raw.movements as movements {loaded.format(t="movements")}
                order by movements.event_id, movements.extract_date desc,
                    movements.load_id desc, movements.line_number desc
            ),
            counts as (
                select
                    (select count(*) from newest where not coalesce(is_deleted, false))
                        as raw_movements,
                    (select count(*) from core.fct_movement) as core_movements,
                    (select count(distinct movements.student_id) from core.fct_movement as movements
                        where not exists (
                            select 1 from core.fct_enrolment_spell as spells
                            where spells.student_id = movements.student_id
                        )) as students_without_spell
            )
            select * from counts
            where raw_movements <> core_movements or students_without_spell > 0
            """,
            blocking=True,
            description=(
                "Every effective movement is one movement of the core, and every student with "
                "movements has an enrolment spell."
            ),
        ),
        _rows(
            "marts.reconcile.final_marks",
            "marts.agg_results",
            f"""
            with {here},
            counts as (
                select
                    (select count(*) from (
                        select distinct marks.student_key, marks.organization_id,
                            marks.school_year, marks.period, marks.subject
                        from raw.final_marks as marks {loaded.format(t="marks")}
                    ) as keys) as raw_final_marks,
                    (select count(*) from core.fct_final_mark) as core_final_marks
            )
            select * from counts where raw_final_marks <> core_final_marks
            """,
            blocking=True,
            description="Every final mark loaded (newest record per key) is in the core.",
        ),
        _rows(
            "marts.reconcile.enrolment",
            "marts.agg_enrolment",
            """
            with published as (
                select count_date, sum(students) as students
                from {batch} as enrolment group by count_date
            ),
            core_counts as (
                select count_date, count(*) as students
                from (
                    select distinct count_date, student_id, organization_id, is_main_program,
                        program_level, orientation_code, grade_level
                    from core.fct_enrolment_on_count_date
                ) as enrolled
                group by count_date
            )
            select coalesce(published.count_date, core_counts.count_date) as count_date,
                published.students as published_students, core_counts.students as core_students
            from published
            full outer join core_counts on published.count_date = core_counts.count_date
            where published.students is distinct from core_counts.students
            """,
            blocking=True,
            description=(
                "Published enrolment adds up, on every count date, to the enrolments of the core."
            ),
        ),
    ]


# -- everything ------------------------------------------------------------------------------
@cache
def _trajectory_checks() -> list[Check]:
    """The trajectory marts agree with each other and with the core facts they count."""
    here = "batch_is_here as (select count(*) as batch_rows from {batch} as batch_table)"
    return [
        _rows(
            "marts.agg_trajectory_flows.levels_agree",
            "marts.agg_trajectory_flows",
            """
            with per_level as (
                select flows.academic_year_start, flows.flow_level, sum(flows.students) as moves
                from {batch} as flows
                group by flows.academic_year_start, flows.flow_level
            )
            select per_level.academic_year_start, min(per_level.moves) as fewest,
                max(per_level.moves) as most
            from per_level
            inner join per_level as same_year
                on per_level.academic_year_start = same_year.academic_year_start
            group by per_level.academic_year_start
            having min(per_level.moves) <> max(per_level.moves)
            """,
            blocking=True,
            description=(
                "Every move is counted once at each level: organization, municipality and "
                "organization-type flows of a year add up to the same number."
            ),
        ),
        _rows(
            "marts.agg_student_year_status.covers_core",
            "marts.agg_student_year_status",
            f"""
            with {here},
            published as (
                select statuses.academic_year_start, sum(statuses.students) as students
                from {{batch}} as statuses
                group by statuses.academic_year_start
            ),
            counted as (
                select facts.academic_year_start, count(*) as students
                from core.fct_student_year_status as facts
                group by facts.academic_year_start
            )
            select coalesce(published.academic_year_start, counted.academic_year_start) as year,
                published.students as published_students, counted.students as core_students
            from published
            full join counted on published.academic_year_start = counted.academic_year_start
            cross join batch_is_here
            where published.students is distinct from counted.students
            """,
            blocking=True,
            description="Each student of each year has one published yearly status.",
        ),
        _rows(
            "marts.agg_lost_children.agrees_with_core",
            "marts.agg_student_year_status",
            f"""
            with {here},
            counts as (
                select
                    (select coalesce(sum(published.students), 0)
                        from agg_lost_children as published) as published_children,
                    (select count(*) from core.fct_lost_child as facts) as core_children
            )
            select counts.* from counts cross join batch_is_here
            where counts.published_children <> counts.core_children
            """,
            blocking=True,
            description="The lost children counted for dashboards are those of the list.",
        ),
        _rows(
            "marts.agg_mobility.bounds",
            "marts.agg_mobility",
            """
            select mobility.academic_year_start, mobility.organization_id
            from {batch} as mobility
            inner join dim_organization as organization
                on mobility.organization_id = organization.organization_id
                and organization.is_current
            where mobility.students_mobile > mobility.students_enrolled
                or mobility.students_stable > mobility.students_enrolled
                or mobility.mobility_rate not between 0 and 100
                or mobility.stability_rate not between 0 and 100
            """,
            blocking=True,
            description="Mobile and stable students are part of those enrolled; rates are 0–100.",
        ),
    ]


def catalogue() -> tuple[tuple[Asset, ...], tuple[Check, ...]]:
    """Every asset and check of both layers, in a stable order."""
    from ingestion.contracts import feeds

    assets: list[Asset] = [Asset("raw.load_log", RAW, table="load_log", schema="raw")]
    checks: list[Check] = []
    for feed in feeds().values():
        feed_assets, feed_checks = _raw_feed_checks(feed)
        assets += feed_assets
        checks += feed_checks
    more_assets, more_checks = _checksum_checks()
    assets += more_assets
    checks += more_checks
    checks += _load_log_checks({f.name: f.mode for f in feeds().values()})
    checks += _orphan_checks()
    assets += [Asset(f"marts.{t}", MARTS, table=t) for t in PUBLISHED_TABLES]
    checks += _marts_table_checks()
    checks += _published_layer_checks()
    checks += _marts_rule_checks()
    checks += _reconciliation_checks()
    checks += _trajectory_checks()
    names = [c.name for c in checks]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"check names must be unique: {sorted(duplicates)}")
    return tuple(assets), tuple(checks)


def checks_of(layer: str) -> list[Check]:
    assets, checks = catalogue()
    layer_assets = {a.name for a in assets if a.layer == layer}
    return [c for c in checks if c.asset in layer_assets]


def suite_name(check: Check) -> str:
    return check.asset + (".personal" if check.personal else "")


def checkpoint_name(layer: str, personal: bool) -> str:
    return layer + ("_personal" if personal else "")
