-- One row per calendar day of the academic years the calendar covers.
with

calendar as (
    select * from {{ ref('academic_calendar') }}
),

years as (
    select
        academic_year,
        academic_year_start,
        make_date(academic_year_start, 9, 1) as year_start_date,
        make_date(academic_year_start + 1, 8, 31) as year_end_date
    from calendar
    group by academic_year, academic_year_start
),

days as (
    select
        years.academic_year,
        years.academic_year_start,
        generated.day::date as date_day
    from years
    cross join lateral generate_series(
        years.year_start_date, years.year_end_date, interval '1 day'
    ) as generated (day)
),

quarters as (
    select * from calendar
    where term_system = 'quarter'
),

holidays as (
    -- federal non-working days that fall in the school year
    select make_date(year_number, month_number, day_number) as holiday_date
    from generate_series(2018, 2036) as y (year_number)
    cross join (
        values (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8),
        (2, 23), (3, 8), (5, 1), (5, 9), (11, 4)
    ) as h (month_number, day_number)
),

final as (
    select
        days.date_day,
        days.academic_year,
        days.academic_year_start,
        quarters.term_id as quarter_term_id,
        quarters.term_number as quarter_number,
        extract(isodow from days.date_day)::int as iso_day_of_week,
        extract(month from days.date_day)::int as month_number,
        date_trunc('month', days.date_day)::date as month_start_date,
        coalesce(
            quarters.term_id is not null
            and extract(isodow from days.date_day) <= 5
            and holidays.holiday_date is null, false
        ) as is_school_day,
        to_char(days.date_day, 'MM-DD') = '{{ var("kontingent:count_day_month") }}' as is_count_date
    from days
    left join quarters
        on days.date_day between quarters.start_date and quarters.end_date
    left join holidays
        on days.date_day = holidays.holiday_date
)

select * from final
