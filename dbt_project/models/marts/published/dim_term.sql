-- One row per academic year × term (quarters, half-years, trimesters, year, exam, final).
with

calendar as (
    select * from {{ ref('academic_calendar') }}
),

final as (
    select
        term_id,
        academic_year,
        academic_year_start,
        term_code,
        term_name_ru,
        term_system,
        term_number,
        start_date,
        end_date
    from calendar
)

select * from final
