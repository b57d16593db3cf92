-- Academic results for dashboards and forms. Grain: academic year × period × organization ×
-- grade level. Rates are recomputed from students at this level, never averaged from below.

{{ config(indexes=[{'columns': ['academic_year', 'municipality_id']}, {'columns': ['organization_id']}]) }}

with

results as (
    select * from {{ ref('int_student_period_results') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
    where is_current
),

final as (
    select
        results.academic_year,
        results.term_name_ru,
        results.organization_id,
        coalesce(organizations.municipality_id, '{{ var("kontingent:unknown_key") }}')
            as municipality_id,
        coalesce(results.grade_level, 0) as grade_level,
        {{ attestation_counts() }}
    from results
    left join organizations
        on results.organization_id = organizations.organization_id
    group by
        results.academic_year, results.term_name_ru, results.organization_id,
        organizations.municipality_id, coalesce(results.grade_level, 0)
)

select * from final
