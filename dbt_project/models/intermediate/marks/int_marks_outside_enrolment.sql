{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        indexes=[{'columns': ['mark_id'], 'unique': True}],
        pre_hook="{{ marks_outside_enrolment_remove_changed() }}",
        post_hook="{{ marks_outside_enrolment_note_checked() }}",
    )
}}
-- Current marks given to a student not enrolled in that organization on the lesson date: the
-- lesson date lies outside the student × organization's enrolment range (or the student has
-- none there). Grain: one row per such mark (a unique index on mark_id); read by the business
-- check assert_marks_of_enrolled_students. Incremental: a run checks the marks of loads newer
-- than the last one it checked, and of the other marks those whose student × organization's
-- range changed at their lesson date (states depend on the student's own movements only); the
-- pre-hook first removes the rows it checks again (macros/marks_outside_enrolment.sql).
{% set since = marks_checked_through() %}
{% set columns = 'marks.mark_id, marks.student_id, marks.organization_id, marks.lesson_date, marks.load_id' %}
with

coverage as (
    select * from {{ ref('int_enrolment_coverage') }}
),

{% if is_incremental() %}
    changed as (
        {{ enrolment_coverage_changed() }}
    ),
{% endif %}

marks as (
    select {{ columns }}
    from {{ ref('fct_mark') }} as marks
    {% if is_incremental() %}
        where marks.load_id > {{ since }}
        union
        select {{ columns }}
        from {{ ref('fct_mark') }} as marks
        inner join changed
            on
                marks.organization_id = changed.organization_id
                and marks.student_id = changed.student_id
                and marks.lesson_date >= lower(changed.changed_dates)
                and marks.lesson_date < upper(changed.changed_dates)
                and marks.lesson_date <@ changed.changed_dates
    {% endif %}
),

final as (
    select marks.*
    from marks
    left join coverage
        on
            marks.student_id = coverage.student_id
            and marks.organization_id = coverage.organization_id
    where coverage.enrolled_dates is null or not marks.lesson_date <@ coverage.enrolled_dates
)

select * from final
