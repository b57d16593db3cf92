-- Classes: organization × academic year × class × grade level, from the enrolment states.
-- Grain: one row per class; '-1' is the unknown member.
with

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
    where is_main_program and class_name is not null
),

classes as (
    select distinct
        organization_id,
        case
            when extract(month from valid_from) >= 9 then extract(year from valid_from)::int
            else extract(year from valid_from)::int - 1
        end as academic_year_start,
        class_name,
        grade_level
    from states
),

final as (
    select
        md5(concat_ws('|', organization_id, academic_year_start, class_name, grade_level))
            as class_id,
        organization_id,
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        class_name,
        grade_level
    from classes
    union all
    select
        '{{ var("kontingent:unknown_key") }}' as class_id,
        '{{ var("kontingent:unknown_key") }}' as organization_id,
        null::int as academic_year_start,
        null::text as academic_year,
        null::text as class_name,
        null::int as grade_level
)

select * from final
