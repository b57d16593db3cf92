-- 1-ДОП, section 2: children in additional education during a calendar year, each counted
-- once however many programs he or she attends (unduplicated), by направленность (`*`: any)
-- and age group on 1 January of the following year (`*`: any), with girls, ОВЗ and disabled
-- children. Unduplicated counts do not add up: each level and each total is its own row.
-- Grain: report year × level × territory × orientation × age group.
with

enrolment_rows as (
    select * from {{ ref('dop1_enrolment_rows') }}
),

grouped as (
    select
        *,
        case
            when age is null then 'unknown'
            when age < 5 then 'under_5'
            when age <= 9 then '5_9'
            when age <= 14 then '10_14'
            when age <= 17 then '15_17'
            else '18_plus'
        end as age_group
    from enrolment_rows
),

final as (
    select
        report_year,
        {{ forms_level_columns() }},
        case when grouping(orientation_code) = 0 then orientation_code else '*' end
            as orientation_code,
        case when grouping(age_group) = 0 then age_group else '*' end as age_group,
        count(distinct student_id) as children,
        count(distinct student_id) filter (where sex = 'female') as girls,
        count(distinct student_id) filter (where has_ovz) as children_ovz,
        count(distinct student_id) filter (where is_disabled) as children_disabled
    from grouped
    group by
        report_year,
        grouping sets ((orientation_code), ()),
        grouping sets ((age_group), ()),
        {{ forms_level_sets() }}
)

select * from final
