-- Attendance for dashboards. Grain: month × organization × grade level. Lessons are the
-- journal's entries (marks and attendance codes); absences by code: н (absent), б (ill),
-- у (excused). Rolled up from int_marks_by_month (incremental), not from the fact.

{{ config(indexes=[{'columns': ['month_start_date', 'organization_id']}]) }}

with

monthly as (
    select * from {{ ref('int_marks_by_month') }}
),

final as (
    select
        month_start_date,
        organization_id,
        grade_level,
        sum(entries)::bigint as entries,
        sum(absences)::bigint as absences,
        sum(absences_unexcused)::bigint as absences_unexcused,
        sum(absences_ill)::bigint as absences_ill,
        sum(absences_excused)::bigint as absences_excused,
        round(100.0 * sum(absences)::bigint / sum(entries)::bigint, 2) as absence_rate
    from monthly
    group by 1, 2, 3
)

select * from final
