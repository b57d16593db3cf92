-- Transfer matching: each exit that must be followed up — an expulsion with reason
-- `перевод в другую ОО`, or any exit from a main program of a child of compulsory-school age
-- (under 18, without secondary general education) — with the same student's next admission
-- anywhere in the region within the matching window and its outcome: arrived where announced,
-- arrived elsewhere, arrived (nothing announced), returned to the same organization, did not
-- arrive, or pending (window still open on the data cut-off). Grain: one row per exit event.
with

exits as (
    select * from {{ ref('int_main_exits_matched') }}
),

final as (
    select
        exit_event_id,
        student_id,
        academic_year_start,
        organization_id,
        exit_municipality_id,
        exit_organization_type,
        exit_date,
        exit_type,
        exit_reason,
        exit_program_level,
        exit_grade_level,
        destination_organization_id,
        arrival_event_id,
        arrival_organization_id,
        arrival_municipality_id,
        arrival_organization_type,
        arrival_date,
        arrival_type,
        arrival_program_level,
        days_away,
        is_window_closed,
        is_exit_on_reorganization,
        exit_reason = 'transfer' as is_announced_transfer,
        match_outcome
    from exits
    where
        exit_program_level <> 'preschool'
        and (
            exit_reason = 'transfer'
            or (coalesce(age_at_exit < 18, true) and not has_secondary_education)
        )
)

select * from final
