-- Yearly statuses of general-education students counted per academic year, municipality and
-- status (the municipality of the organization where each student was last enrolled that
-- year). No persons. Counts of 1–4 are also given suppressed (`students_suppressed` null) for
-- the roles that may not see small cells. Grain: academic year × municipality × status.
with

statuses as (
    select * from {{ ref('fct_student_year_status') }}
),

final as (
    select
        academic_year_start,
        academic_year,
        coalesce(municipality_id, '{{ var("kontingent:unknown_key") }}') as municipality_id,
        status,
        min(status_order) as status_order,
        count(*) as students,
        case when count(*) < 5 then null else count(*) end as students_suppressed
    from statuses
    group by academic_year_start, academic_year, coalesce(municipality_id, '{{ var("kontingent:unknown_key") }}'), status
)

select * from final
