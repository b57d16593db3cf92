-- Enrolment spells. Grain: one row per student × organization × track (main program or one
-- additional-education program) × spell, from admission/restoration to expulsion/graduation.
with

spells as (
    select * from {{ ref('int_enrolment_spells_built') }}
),

final as (
    select
        enrolment_spell_id,
        student_id,
        organization_id,
        spell_track,
        spell_number,
        is_main_program,
        start_date,
        end_date,
        entry_type,
        exit_type,
        exit_reason,
        destination_organization_id,
        entry_program_level as program_level,
        entry_program_code as program_code,
        orientation_code,
        entry_grade_level,
        exit_grade_level,
        is_active
    from spells
)

select * from final
