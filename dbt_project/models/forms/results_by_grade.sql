-- Отчёт об успеваемости, section 1: attestation of a period by grade level. A student
-- attested at two organizations in one period counts at each (each attests its own students),
-- so the counts add up; rates are recomputed from these counts at every level by the form.
-- Grain: academic year × period × level × territory × grade level.
with

student_periods as (
    select * from {{ ref('results_student_periods') }}
),

final as (
    select
        academic_year,
        term_name_ru,
        {{ forms_level_columns() }},
        coalesce(grade_level, 0) as grade_level,
        {{ attestation_counts() }},
        coalesce(sum(numeric_mark_sum), 0) as numeric_mark_sum,
        coalesce(sum(numeric_marks), 0) as numeric_marks
    from student_periods
    group by academic_year, term_name_ru, coalesce(grade_level, 0), {{ forms_level_sets() }}
)

select * from final
