-- Отчёт об успеваемости, section 3: final marks of a period by subject: students with a mark
-- other than `осв`, passed (no failing mark), quality (`4` or `5`), `5`, `4`, failing, and the
-- sum and number of numeric marks for the mean. Grade 1 has no marks. Grain: academic year ×
-- period × level × territory × subject.
with

final_marks as (
    select * from {{ ref('fct_final_mark') }}
    where coalesce(grade_level, 0) <> 1
),

terms as (
    select * from {{ ref('dim_term') }}
),

pairs as (
    select distinct
        final_marks.organization_id,
        coalesce(terms.end_date, final_marks.marked_on) as on_date
    from final_marks
    left join terms
        on
            final_marks.academic_year = terms.academic_year
            and final_marks.term_name_ru = terms.term_name_ru
),

units as (
    {{ forms_reporting_units('pairs') }}
),

mark_rows as (
    select
        final_marks.academic_year,
        final_marks.term_name_ru,
        final_marks.subject,
        final_marks.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id,
        final_marks.mark_kind,
        final_marks.numeric_value,
        final_marks.is_failing
    from final_marks
    left join terms
        on
            final_marks.academic_year = terms.academic_year
            and final_marks.term_name_ru = terms.term_name_ru
    left join units
        on
            final_marks.organization_id = units.organization_id
            and coalesce(terms.end_date, final_marks.marked_on) is not distinct from units.on_date
),

final as (
    select
        academic_year,
        term_name_ru,
        {{ forms_level_columns() }},
        subject,
        count(*) filter (where mark_kind <> 'exempt') as students_attested,
        count(*) filter (where mark_kind <> 'exempt' and not is_failing) as students_passed,
        count(*) filter (where numeric_value in (4, 5)) as students_quality,
        count(*) filter (where numeric_value = 5) as students_excellent,
        count(*) filter (where numeric_value = 4) as students_good,
        count(*) filter (where is_failing) as students_failing,
        coalesce(sum(numeric_value), 0) as numeric_mark_sum,
        count(numeric_value) as numeric_marks
    from mark_rows
    group by academic_year, term_name_ru, subject, {{ forms_level_sets() }}
)

select * from final
