-- Final marks with their meaning (numeric value, failing, exempt) and the grade level the
-- student had at that organization on the day the period's marks were first given there (a
-- correction sent later, e.g. after the year-end promotion, keeps the grade of the period).
with

final_marks as (
    select
        *,
        min(coalesce(marked_on, extract_date)) over (
            partition by student_id, organization_id, academic_year, term_name_ru
        ) as period_marked_on
    from {{ ref('stg_journal__final_marks') }}
),

mark_codes as (
    select * from {{ ref('mark_codes') }}
),

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
    where is_main_program
),

attributed as (
    select
        final_marks.*,
        mark_codes.mark_kind,
        mark_codes.numeric_value::int as numeric_value,
        grade.grade_level,
        coalesce(mark_codes.is_failing::boolean, false) as is_failing
    from final_marks
    left join mark_codes
        on final_marks.mark_code = mark_codes.source_code
    left join lateral (
        select states.grade_level
        from states
        where
            states.student_id = final_marks.student_id
            and states.organization_id = final_marks.organization_id
            and states.valid_from <= final_marks.period_marked_on
        order by states.valid_from desc
        limit 1
    ) as grade on true
),

final as (
    select * from attributed
)

select * from final
