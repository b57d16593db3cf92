-- Current marks for dashboards. Grain: academic year × organization × grade level × subject.
-- Means are unweighted and weighted by `Вес`, over numeric marks, recomputed at this level.

{{ config(indexes=[{'columns': ['academic_year', 'organization_id']}]) }}

with

marks as (
    select * from {{ ref('fct_mark') }}
    where numeric_value is not null
),

final as (
    select
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        organization_id,
        coalesce(grade_level, 0) as grade_level,
        subject,
        count(*) as numeric_marks,
        sum(numeric_value) as numeric_mark_sum,
        sum(numeric_value * coalesce(weight, 1)) as weighted_mark_sum,
        sum(coalesce(weight, 1)) as weight_total,
        round(avg(numeric_value), 4) as mean_mark,
        round(sum(numeric_value * coalesce(weight, 1))::numeric / sum(coalesce(weight, 1)), 4)
            as weighted_mean_mark
    from marks
    group by 1, 2, 3, 4, 5
)

select * from final
