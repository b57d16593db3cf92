-- Current marks for dashboards. Grain: academic year × organization × grade level × subject.
-- Means are unweighted and weighted by `Вес`, over numeric marks, recomputed at this level
-- from the additive sums of int_marks_by_month (incremental), not from the fact.

{{ config(indexes=[{'columns': ['academic_year', 'organization_id']}]) }}

with

monthly as (
    select * from {{ ref('int_marks_by_month') }}
    where numeric_marks > 0
),

final as (
    select
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        organization_id,
        grade_level,
        subject,
        sum(numeric_marks)::bigint as numeric_marks,
        sum(numeric_mark_sum)::bigint as numeric_mark_sum,
        sum(weighted_mark_sum)::bigint as weighted_mark_sum,
        sum(weight_total)::bigint as weight_total,
        round(sum(numeric_mark_sum)::bigint::numeric / sum(numeric_marks)::bigint, 4) as mean_mark,
        round(sum(weighted_mark_sum)::bigint::numeric / sum(weight_total)::bigint, 4)
            as weighted_mean_mark
    from monthly
    group by 1, 2, 3, 4, 5
)

select * from final
