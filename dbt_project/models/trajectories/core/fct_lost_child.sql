{{ config(post_hook=["{{ create_lost_children_reidentification(this) }}"]) }}

-- Children lost between schools, for the education departments: students whose last exit from
-- a main program (school or college) was followed by no admission anywhere in the region, whose
-- matching window has closed, who were under 18 (or of unknown age) and without secondary
-- general education, and who did not leave lawfully (family education, out of the region, at
-- 15+ before grade 9 with consent). Pseudonymous keys only: names and birth dates are reached
-- only through `pii.lost_children_of`, which logs every call. Grain: one row per student.
with

exits as (
    select * from {{ ref('int_main_exits_matched') }}
    where exit_program_level <> 'preschool'
),

entries as (
    select * from {{ ref('int_movements_classified') }}
    where is_main_program and is_entry
),

last_exits as (
    select distinct on (student_id) *
    from exits
    order by student_id asc, exit_date desc, exit_event_id desc
),

final as (
    select
        last_exits.student_id,
        last_exits.organization_id as last_organization_id,
        coalesce(last_exits.exit_municipality_id, '{{ var("kontingent:unknown_key") }}')
            as municipality_id,
        last_exits.exit_event_id,
        last_exits.exit_date,
        last_exits.academic_year_start,
        last_exits.exit_type,
        last_exits.exit_reason,
        last_exits.exit_program_level,
        last_exits.exit_grade_level,
        last_exits.destination_organization_id,
        last_exits.cutoff_date,
        last_exits.cutoff_date - last_exits.exit_date as days_since_exit
    from last_exits
    where
        not last_exits.has_arrived
        and last_exits.is_window_closed
        and coalesce(last_exits.age_at_exit < 18, true)
        and not last_exits.has_secondary_education
        and coalesce(last_exits.exit_reason, '') not in ('family_education', 'relocation')
        and not (
            coalesce(last_exits.exit_reason = 'student_initiative', false)
            and last_exits.age_at_exit >= 15
            and last_exits.exit_grade_level <= 9
        )
        and not exists (
            select 1
            from entries
            where
                entries.student_id = last_exits.student_id
                and entries.event_date >= last_exits.exit_date
        )
)

select * from final
