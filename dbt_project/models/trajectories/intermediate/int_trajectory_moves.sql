-- Moves of students between places of main-program education, the edges of the flow charts.
-- Every exit from a main program (kindergarten, school, college) goes to the organization of
-- its matched entry, to "outside the region" (reason `смена места жительства`, admitted
-- nowhere), to "not enrolled" (admitted nowhere, window closed) or to "pending" (window still
-- open); a return to the same organization is no move. Every entry that is no exit's match
-- comes from "outside the region" (a student the region has never had, entering a grade above
-- the first) or from "not enrolled". Years from the first extract's on (the history before
-- it holds current spells only). Grain: one row per move (exit event, or unmatched entry).
with

exits as (
    select * from {{ ref('int_main_exits_matched') }}
),

events as (
    select
        *,
        min(event_date) over (partition by student_id) as first_event_date
    from {{ ref('int_movements_classified') }}
    where is_main_program
),

first_year as (
    select {{ academic_year_of('first_extract_date') }} as academic_year_start
    from {{ ref('int_data_cutoff') }}
),

leaving as (
    select
        exits.exit_event_id as move_id,
        exits.academic_year_start,
        exits.student_id,
        exits.exit_date as move_date,
        exits.organization_id as source_organization_id,
        exits.exit_municipality_id as source_municipality_id,
        exits.exit_organization_type as source_organization_type,
        exits.exit_program_level as source_program_level,
        case
            when exits.has_arrived then 'organization'
            when exits.exit_reason = 'relocation' then 'outside_region'
            when exits.is_window_closed then 'not_enrolled'
            else 'pending'
        end as target_kind,
        exits.arrival_organization_id as target_organization_id,
        exits.arrival_municipality_id as target_municipality_id,
        exits.arrival_organization_type as target_organization_type,
        exits.arrival_program_level as target_program_level
    from exits
    where exits.match_outcome <> 'returned'
),

matched_entries as (
    select distinct arrival_event_id as event_id
    from exits
    where arrival_event_id is not null
),

entering as (
    select
        events.event_id as move_id,
        {{ academic_year_of('events.event_date') }} as academic_year_start,
        events.student_id,
        events.event_date as move_date,
        case
            when
                events.event_date = events.first_event_date
                and events.program_level <> 'preschool'
                and not (events.program_level = 'primary' and events.grade_level = 1)
                then 'outside_region'
            else 'not_enrolled'
        end as source_kind,
        events.organization_id as target_organization_id,
        entry_org.municipality_id as target_municipality_id,
        entry_org.organization_type as target_organization_type,
        events.program_level as target_program_level
    from events
    left join matched_entries
        on events.event_id = matched_entries.event_id
    left join
        lateral
        {{ organization_version_on('events.organization_id', 'events.event_date') }}
            as entry_org
        on true
    where events.is_entry and matched_entries.event_id is null
),

moves as (
    select
        move_id,
        academic_year_start,
        student_id,
        move_date,
        'organization' as source_kind,
        source_organization_id,
        source_municipality_id,
        source_organization_type,
        source_program_level,
        target_kind,
        target_organization_id,
        target_municipality_id,
        target_organization_type,
        target_program_level
    from leaving
    union all
    select
        move_id,
        academic_year_start,
        student_id,
        move_date,
        source_kind,
        null as source_organization_id,
        null as source_municipality_id,
        null as source_organization_type,
        null as source_program_level,
        'organization' as target_kind,
        target_organization_id,
        target_municipality_id,
        target_organization_type,
        target_program_level
    from entering
),

final as (
    select moves.*
    from moves
    cross join first_year
    where moves.academic_year_start >= first_year.academic_year_start
)

select * from final
