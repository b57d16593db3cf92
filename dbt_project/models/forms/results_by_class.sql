-- Отчёт об успеваемости, section 2: attestation of a period by class, for an organization
-- (level `organization`: a head organization with its branches, a branch's classes labelled
-- with its name) or a single unit (level `unit`). Grain: academic year × period × level ×
-- territory × class.
with

student_periods as (
    select * from {{ ref('results_student_periods') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
    where is_current
),

classes as (
    select
        academic_year,
        term_name_ru,
        unit_id,
        reporting_organization_id,
        municipality_id,
        coalesce(grade_level, 0) as grade_level,
        class_name,
        {{ attestation_counts() }},
        coalesce(sum(numeric_mark_sum), 0) as numeric_mark_sum,
        coalesce(sum(numeric_marks), 0) as numeric_marks
    from student_periods
    group by
        academic_year, term_name_ru, unit_id, reporting_organization_id, municipality_id,
        coalesce(grade_level, 0), class_name
),

labelled as (
    select
        classes.*,
        classes.class_name || case
            when classes.unit_id <> classes.reporting_organization_id
                then ' (' || coalesce(organizations.short_name, classes.unit_id) || ')'
            else ''
        end as class_label
    from classes
    left join organizations
        on classes.unit_id = organizations.organization_id
),

final as (
    select
        'unit' as level,
        unit_id as territory_id,
        class_name as row_label,
        *
    from labelled
    union all
    select
        'organization' as level,
        reporting_organization_id as territory_id,
        class_label as row_label,
        *
    from labelled
)

select * from final
