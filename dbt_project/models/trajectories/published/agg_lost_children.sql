-- Children lost between schools, counted per municipality and academic year of the exit (the
-- list itself, with pseudonymous keys, stays in `core.fct_lost_child`). No identifiers. Counts
-- of 1–4 are also given suppressed (`students_suppressed` null) for the roles other than the
-- region analyst and the department of that municipality. Grain: academic year × municipality.
with

lost as (
    select * from {{ ref('fct_lost_child') }}
),

final as (
    select
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        municipality_id,
        count(*) as students,
        case when count(*) < 5 then null else count(*) end as students_suppressed,
        max(days_since_exit) as longest_days_since_exit
    from lost
    group by academic_year_start, municipality_id
)

select * from final
