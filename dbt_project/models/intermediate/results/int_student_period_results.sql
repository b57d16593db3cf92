-- Attestation outcome of each student for each period at each organization, by the metric
-- definitions (docs/metrics.md). Grain: student × organization × academic year × period.
with

final_marks as (
    select * from {{ ref('int_final_marks_attributed') }}
),

per_student as (
    select
        student_id,
        organization_id,
        academic_year,
        term_name_ru,
        grade_level,
        {{ student_attestation_flags('mark_kind', 'numeric_value', 'is_failing') }}
    from final_marks
    group by student_id, organization_id, academic_year, term_name_ru, grade_level
),

final as (
    select
        *,
        {{ student_attestation_outcomes() }}
    from per_student
    -- grade 1 is never attested (безотметочное обучение)
    where coalesce(grade_level, 0) <> 1
)

select * from final
