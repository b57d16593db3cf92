-- One row per enrolment spell: student × organization × track × spell number, with its start,
-- end (the first day no longer enrolled), entry and exit types and grade levels.
with

events as (
    select * from {{ ref('int_enrolment_events_sequenced') }}
),

entries as (
    select distinct on (enrolment_spell_id)
        enrolment_spell_id,
        student_id,
        organization_id,
        spell_track,
        spell_number,
        is_main_program,
        event_date as start_date,
        event_type as entry_type,
        program_level as entry_program_level,
        program_code as entry_program_code,
        orientation_code,
        grade_level as entry_grade_level
    from events
    where is_entry
    order by enrolment_spell_id, event_date, event_order, event_id
),

exits as (
    select distinct on (enrolment_spell_id)
        enrolment_spell_id,
        event_date as end_date,
        event_type as exit_type,
        exit_reason,
        destination_organization_id
    from events
    where is_exit
    order by enrolment_spell_id, event_date, event_order, event_id
),

last_states as (
    select distinct on (events.enrolment_spell_id)
        events.enrolment_spell_id,
        events.grade_level as last_grade_level,
        events.program_level as last_program_level
    from events
    left join exits
        on events.enrolment_spell_id = exits.enrolment_spell_id
    where exits.end_date is null or events.event_date <= exits.end_date
    order by
        events.enrolment_spell_id asc, events.event_date desc, events.event_order desc,
        events.event_id desc
),

final as (
    select
        entries.enrolment_spell_id,
        entries.student_id,
        entries.organization_id,
        entries.spell_track,
        entries.spell_number,
        entries.is_main_program,
        entries.start_date,
        exits.end_date,
        entries.entry_type,
        exits.exit_type,
        exits.exit_reason,
        exits.destination_organization_id,
        entries.entry_program_level,
        entries.entry_program_code,
        entries.orientation_code,
        entries.entry_grade_level,
        last_states.last_grade_level as exit_grade_level,
        last_states.last_program_level,
        exits.end_date is null as is_active
    from entries
    left join exits
        on entries.enrolment_spell_id = exits.enrolment_spell_id
    left join last_states
        on entries.enrolment_spell_id = last_states.enrolment_spell_id
)

select * from final
