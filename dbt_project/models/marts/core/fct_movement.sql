-- Movements of the student body. Grain: one row per effective event (newest version of each
-- event, cancelled events removed), with its category and the organization it concerns.
with

events as (
    select * from {{ ref('int_movements_classified') }}
),

previous_exits as (
    -- an admission following an exit to another organization within the window is a transfer in
    select
        events.event_id,
        exists(
            select 1
            from {{ ref('int_movements_classified') }} as earlier
            where
                earlier.student_id = events.student_id
                and earlier.is_exit
                and earlier.exit_reason = 'transfer'
                and earlier.is_main_program
                and earlier.organization_id <> events.organization_id
                and earlier.event_date <= events.event_date
                and earlier.event_date > events.event_date - 30
        ) as follows_transfer_out
    from events
    where events.event_type = 'admission' and events.is_main_program
),

final as (
    select
        events.event_id,
        events.student_id,
        events.organization_id,
        events.event_date,
        events.event_type,
        events.is_main_program,
        events.program_level,
        events.program_code,
        events.orientation_code,
        events.grade_level,
        events.class_name,
        events.exit_reason,
        events.destination_organization_id,
        case
            when events.event_type = 'admission' and coalesce(previous_exits.follows_transfer_out, false)
                then 'transfer_in'
            when events.event_type = 'admission' then 'new_admission'
            else events.movement_category
        end as movement_category,
        case
            when extract(month from events.event_date) >= 9
                then extract(year from events.event_date)::int
            else extract(year from events.event_date)::int - 1
        end as academic_year_start
    from events
    left join previous_exits
        on events.event_id = previous_exits.event_id
)

select * from final
