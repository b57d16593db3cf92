-- Enrolment counts for dashboards and forms. Grain: one row per count date × organization ×
-- track × program level × orientation × grade level × sex; organization attributes as valid
-- on the count date.

{{ config(indexes=[{'columns': ['count_date', 'municipality_id']}, {'columns': ['organization_id']}]) }}

with

enrolled as (
    select * from {{ ref('fct_enrolment_on_count_date') }}
),

students as (
    select * from {{ ref('dim_student') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
),

joined as (
    select
        enrolled.count_date,
        enrolled.is_cutoff_date,
        coalesce(organizations.organization_key, '{{ var("kontingent:unknown_key") }}')
            as organization_key,
        enrolled.organization_id,
        coalesce(organizations.municipality_id, '{{ var("kontingent:unknown_key") }}')
            as municipality_id,
        coalesce(organizations.organization_type, 'unknown') as organization_type,
        coalesce(organizations.locality, 'unknown') as locality,
        enrolled.is_main_program,
        coalesce(enrolled.program_level, 'unknown') as program_level,
        coalesce(enrolled.orientation_code, '') as orientation_code,
        coalesce(enrolled.grade_level, 0) as grade_level,
        coalesce(students.sex, 'unknown') as sex,
        enrolled.student_id
    from enrolled
    left join students
        on enrolled.student_id = students.student_id
    left join organizations
        on
            enrolled.organization_id = organizations.organization_id
            and enrolled.count_date >= organizations.valid_from
            and enrolled.count_date < organizations.valid_to
),

final as (
    select
        count_date,
        is_cutoff_date,
        organization_key,
        organization_id,
        municipality_id,
        organization_type,
        locality,
        is_main_program,
        program_level,
        orientation_code,
        grade_level,
        sex,
        count(distinct student_id) as students
    from joined
    group by
        count_date, is_cutoff_date, organization_key, organization_id, municipality_id,
        organization_type, locality, is_main_program, program_level, orientation_code,
        grade_level, sex
)

select * from final
