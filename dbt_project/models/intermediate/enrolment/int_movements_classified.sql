{{ config(indexes=[{'columns': ['student_id', 'event_date']}]) }}

-- One row per effective movement event (newest version, tombstones gone) with English enums
-- and its category; the main-program track or the additional-education program it belongs to.
with

movements as (
    select * from {{ ref('stg_kontingent__movements') }}
),

event_types as (
    select * from {{ ref('event_types') }}
),

program_levels as (
    select * from {{ ref('program_levels') }}
),

exit_reasons as (
    select * from {{ ref('exit_reasons') }}
),

enriched as (
    select
        movements.event_id,
        movements.student_id,
        movements.organization_id,
        movements.event_date,
        event_types.event_type,
        event_types.is_entry::boolean as is_entry,
        event_types.is_exit::boolean as is_exit,
        program_levels.program_level,
        movements.program_code,
        movements.orientation_code,
        movements.grade_level,
        movements.class_name,
        movements.study_form_code,
        exit_reasons.exit_reason,
        movements.destination_organization_id,
        movements.extract_date,
        coalesce(program_levels.is_main::boolean, true) as is_main_program
    from movements
    inner join event_types
        on movements.event_type_code = event_types.source_code
    left join program_levels
        on movements.program_level_code = program_levels.source_code
    left join exit_reasons
        on movements.exit_reason_code = exit_reasons.source_code
),

final as (
    select
        *,
        case
            when is_main_program then 'main'
            else 'additional:' || coalesce(program_code, '')
        end as spell_track,
        case
            when event_type = 'admission' then 1
            when event_type = 'restoration' then 1
            when event_type in ('promotion', 'repeat') then 2
            else 3
        end as event_order,
        case
            when event_type = 'expulsion' and exit_reason = 'transfer' then 'transfer_out'
            else event_type
        end as movement_category
    from enriched
)

select * from final
