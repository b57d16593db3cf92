-- Academic results by subject. Grain: academic year × period × organization × grade level ×
-- subject. The same metric definitions, applied to each student's mark in the subject; mean
-- current mark from the journal of the same academic year.

{{ config(indexes=[{'columns': ['academic_year', 'organization_id']}]) }}

with

final_marks as (
    select * from {{ ref('int_final_marks_attributed') }}
    where coalesce(grade_level, 0) <> 1
),

per_student as (
    select
        student_id,
        organization_id,
        academic_year,
        term_name_ru,
        grade_level,
        subject,
        {{ student_attestation_flags('mark_kind', 'numeric_value', 'is_failing') }}
    from final_marks
    group by student_id, organization_id, academic_year, term_name_ru, grade_level, subject
),

outcomes as (
    select
        *,
        {{ student_attestation_outcomes() }}
    from per_student
),

current_marks as (
    select * from {{ ref('agg_current_marks') }}
),

results as (
    select
        academic_year,
        term_name_ru,
        organization_id,
        coalesce(grade_level, 0) as grade_level,
        subject,
        {{ attestation_counts() }}
    from outcomes
    group by academic_year, term_name_ru, organization_id, coalesce(grade_level, 0), subject
),

final as (
    select
        results.*,
        current_marks.mean_mark as mean_current_mark,
        current_marks.weighted_mean_mark as weighted_mean_current_mark
    from results
    left join current_marks
        on
            results.academic_year = current_marks.academic_year
            and results.organization_id = current_marks.organization_id
            and results.grade_level = current_marks.grade_level
            and results.subject = current_marks.subject
)

select * from final
