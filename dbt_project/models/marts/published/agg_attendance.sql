-- Attendance for dashboards. Grain: month × organization × grade level. Lessons are the
-- journal's entries (marks and attendance codes); absences by code: н (absent), б (ill),
-- у (excused).

{{ config(indexes=[{'columns': ['month_start_date', 'organization_id']}]) }}

with

marks as (
    select * from {{ ref('fct_mark') }}
),

final as (
    select
        date_trunc('month', lesson_date)::date as month_start_date,
        organization_id,
        coalesce(grade_level, 0) as grade_level,
        count(*) as entries,
        count(*) filter (where is_attendance) as absences,
        count(*) filter (where mark_kind = 'absent') as absences_unexcused,
        count(*) filter (where mark_kind = 'absent_ill') as absences_ill,
        count(*) filter (where mark_kind = 'absent_excused') as absences_excused,
        round(100.0 * count(*) filter (where is_attendance) / count(*), 2) as absence_rate
    from marks
    group by 1, 2, 3
)

select * from final
