{{
    config(
        materialized='incremental',
        unique_key='mark_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['mark_id'], 'unique': True},
            {'columns': ['load_id']},
            {'columns': ['organization_id', 'lesson_date']},
        ],
        pre_hook=["{{ fct_mark_note_replaced() }}", "{{ fct_mark_remove_deleted() }}"],
    )
}}
-- Current marks and attendance codes. Grain: one row per mark in force (newest version of each
-- mark ID; deleted marks removed), enforced by a unique index on mark_id. Incremental: a run
-- reads only the versions brought by loads newer than the newest one already in the table
-- (found through the index on load_id); a newer version replaces the row (delete+insert on
-- mark_id), and the pre-hooks first note the lesson months of the rows about to be replaced or
-- removed (for the incremental aggregates of marks) and remove the marks a new load deletes.
with

versions as (
    select * from {{ ref('stg_journal__mark_versions') }}
    {% if is_incremental() %}
        where load_id > {{ newest_load_in_this() }}
    {% endif %}
),

newest as (
    select distinct on (mark_id) *
    from versions
    order by mark_id asc, extract_date desc, load_id desc, line_number desc
),

mark_codes as (
    select * from {{ ref('mark_codes') }}
),

final as (
    select
        newest.mark_id,
        newest.student_id,
        newest.organization_id,
        newest.class_name,
        newest.subject,
        newest.lesson_date,
        newest.mark_code,
        mark_codes.mark_kind,
        mark_codes.numeric_value::int as numeric_value,
        newest.work_type,
        newest.weight,
        newest.teacher_id,
        newest.changed_at,
        newest.load_id,
        nullif(substring(newest.class_name from '^[0-9]+'), '')::int as grade_level,
        case
            when extract(month from newest.lesson_date) >= 9
                then extract(year from newest.lesson_date)::int
            else extract(year from newest.lesson_date)::int - 1
        end as academic_year_start,
        coalesce(mark_codes.is_attendance::boolean, false) as is_attendance
    from newest
    left join mark_codes
        on newest.mark_code = mark_codes.source_code
    where not newest.is_deleted
)

select * from final
