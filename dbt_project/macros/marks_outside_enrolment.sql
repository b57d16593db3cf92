{#-
    Bookkeeping of the incremental check that marks belong to enrolled students
    (int_marks_outside_enrolment), in two tables beside it: `<model>_through`, the newest load
    of the mark fact that the last run checked (one row), and `<model>_coverage`, the students'
    enrolment ranges (int_enrolment_coverage) as that run saw them. Whether a mark is outside
    enrolment depends only on the mark and on its student × organization's range, so a run
    checks the marks of newer loads and, of the others, only those whose lesson date lies where
    their range changed.
-#}
{% macro marks_outside_enrolment_table(suffix) -%}
    {{ this.schema }}.{{ this.identifier }}_{{ suffix }}
{%- endmacro %}

{#- The newest mark load the last run checked, a constant (0 when built whole or never noted). -#}
{% macro marks_checked_through() -%}
    {%- if execute and is_incremental() -%}
        {%- set table = marks_outside_enrolment_table('through') -%}
        {%- set found = run_query("select to_regclass('" ~ table ~ "') is not null").columns[0][0] -%}
        {%- if found -%}
            {{- run_query('select coalesce(max(through_load), 0) from ' ~ table).columns[0][0] -}}
        {%- else -%}
            0
        {%- endif -%}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{#-
    The student × organizations whose enrolment range differs from the one last checked, with
    the dates where it differs (what was added and what was removed): only there can a mark's
    verdict change.
-#}
{% macro enrolment_coverage_changed() -%}
    select
        coalesce(now.student_id, checked.student_id) as student_id,
        coalesce(now.organization_id, checked.organization_id) as organization_id,
        (coalesce(now.enrolled_dates, '{}') - coalesce(checked.enrolled_dates, '{}'))
        + (coalesce(checked.enrolled_dates, '{}') - coalesce(now.enrolled_dates, '{}'))
            as changed_dates
    from {{ ref('int_enrolment_coverage') }} as now
    full outer join {{ marks_outside_enrolment_table('coverage') }} as checked
        on
            now.student_id = checked.student_id
            and now.organization_id = checked.organization_id
    where now.enrolled_dates is distinct from checked.enrolled_dates
{%- endmacro %}

{#-
    The pre-hook: the bookkeeping tables exist; an incremental run removes the rows it is about
    to check again (a mark no longer in the fact with the version checked, or a mark whose
    lesson date lies where its range changed).
-#}
{% macro marks_outside_enrolment_remove_changed() -%}
    {%- set since = marks_checked_through() -%}
    create table if not exists {{ marks_outside_enrolment_table('through') }} (
        through_load bigint not null,
        checked_at timestamptz not null default now()
    );
    create table if not exists {{ marks_outside_enrolment_table('coverage') }} (
        student_id text,
        organization_id text,
        enrolled_dates datemultirange not null
    );
    {% if is_incremental() -%}
        delete from {{ this }} as outside
        where
            not exists (
                select 1 from {{ ref('fct_mark') }} as marks
                where marks.mark_id = outside.mark_id and marks.load_id <= {{ since }}
            )
            or exists (
                select 1 from ({{ enrolment_coverage_changed() }}) as changed
                where
                    changed.student_id = outside.student_id
                    and changed.organization_id = outside.organization_id
                    and outside.lesson_date <@ changed.changed_dates
            )
    {%- else -%}
        select 1
    {%- endif %}
{%- endmacro %}

{#- The post-hook: what this run checked becomes the next run's starting point. -#}
{% macro marks_outside_enrolment_note_checked() -%}
    truncate {{ marks_outside_enrolment_table('coverage') }};
    insert into {{ marks_outside_enrolment_table('coverage') }}
        (student_id, organization_id, enrolled_dates)
    select student_id, organization_id, enrolled_dates
    from {{ ref('int_enrolment_coverage') }};
    truncate {{ marks_outside_enrolment_table('through') }};
    insert into {{ marks_outside_enrolment_table('through') }} (through_load)
    select coalesce(max(load_id), 0) from {{ ref('fct_mark') }}
{%- endmacro %}
