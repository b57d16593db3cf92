{{ config(indexes=[{'columns': ['student_id', 'organization_id', 'valid_from']}]) }}

-- The state of each spell between consecutive events: from each event's date until the next
-- event (or the spell's end), the grade level, program and class the student had. The grain
-- that answers "who was enrolled where, in which grade, on date D": valid_from <= D < valid_to.
with

events as (
    select * from {{ ref('int_enrolment_events_sequenced') }}
),

spells as (
    select * from {{ ref('int_enrolment_spells_built') }}
),

states as (
    select
        events.enrolment_spell_id,
        events.event_id,
        events.student_id,
        events.organization_id,
        events.spell_track,
        events.is_main_program,
        events.event_date as valid_from,
        events.grade_level,
        events.program_level,
        events.program_code,
        events.orientation_code,
        events.class_name,
        events.study_form_code,
        spells.end_date as spell_end_date,
        lead(events.event_date) over (
            partition by events.enrolment_spell_id
            order by events.event_date, events.event_order, events.event_id
        ) as next_event_date
    from events
    inner join spells
        on events.enrolment_spell_id = spells.enrolment_spell_id
    where not events.is_exit
),

final as (
    select
        enrolment_spell_id,
        event_id,
        student_id,
        organization_id,
        spell_track,
        is_main_program,
        valid_from,
        grade_level,
        program_level,
        program_code,
        orientation_code,
        class_name,
        study_form_code,
        least(
            coalesce(next_event_date, 'infinity'::date),
            coalesce(spell_end_date, 'infinity'::date)
        ) as valid_to
    from states
)

select * from final
where valid_from < valid_to
