{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        indexes=[
            {
                'columns': ['organization_id', 'month_start_date', 'grade_level', 'subject'],
                'unique': True,
            },
        ],
        pre_hook="{{ marks_by_month_remove_changed() }}",
    )
}}
-- Current marks and attendance codes counted by lesson month × organization × grade level ×
-- subject, in sums that add up (the dashboards' attendance, current marks and subjects are
-- rolled up from here, not from the fact). Grain enforced by a unique index. Incremental: a run
-- recomputes whole the organization × months that a mark entered (rows of loads newer than the
-- table's newest `newest_load`) or left (noted by the fact's pre-hook in fct_mark_replaced): the pre-hook
-- deletes those months, and they are counted again from the fact (through its index on
-- organization and lesson date).
{% set since = marks_taken_through() %}
with

{% if is_incremental() %}
    changed as (
        {{ marks_changed_months(since) }}
    ),
{% endif %}

marks as (
    select marks.*
    from {{ ref('fct_mark') }} as marks
    {% if is_incremental() %}
        inner join changed
            on
                marks.organization_id = changed.organization_id
                and marks.lesson_date >= changed.month_start_date
                and marks.lesson_date < changed.month_start_date + interval '1 month'
    {% endif %}
),

final as (
    select
        organization_id,
        date_trunc('month', lesson_date)::date as month_start_date,
        academic_year_start,
        coalesce(grade_level, 0) as grade_level,
        subject,
        count(*) as entries,
        count(*) filter (where is_attendance) as absences,
        count(*) filter (where mark_kind = 'absent') as absences_unexcused,
        count(*) filter (where mark_kind = 'absent_ill') as absences_ill,
        count(*) filter (where mark_kind = 'absent_excused') as absences_excused,
        count(numeric_value) as numeric_marks,
        coalesce(sum(numeric_value), 0) as numeric_mark_sum,
        coalesce(sum(numeric_value * coalesce(weight, 1)), 0) as weighted_mark_sum,
        coalesce(sum(coalesce(weight, 1)) filter (where numeric_value is not null), 0)
            as weight_total,
        max(load_id) as newest_load
    from marks
    group by 1, 2, 3, 4, 5
)

select * from final
