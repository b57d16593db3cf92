-- Final marks. Grain: one row per student × organization × academic year × period × subject
-- (the newest record of each key).
with

final_marks as (
    select * from {{ ref('int_final_marks_attributed') }}
),

final as (
    select
        final_mark_id,
        student_id,
        organization_id,
        academic_year,
        term_name_ru,
        subject,
        mark_code,
        mark_kind,
        numeric_value,
        is_failing,
        grade_level,
        marked_on
    from final_marks
)

select * from final
