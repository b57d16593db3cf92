{{ config(indexes=[{'columns': ['student_id', 'organization_id'], 'unique': True}]) }}

-- The dates each student was on the roll of each organization, in any spell, program or track:
-- the union of the spell states' intervals (valid_from <= D < valid_to) as one date multirange.
-- A mark is given to an enrolled student when its lesson date lies in its student ×
-- organization's range (int_marks_outside_enrolment). Grain: student × organization (a unique
-- index).
with

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
),

final as (
    select
        student_id,
        organization_id,
        range_agg(daterange(valid_from, valid_to)) as enrolled_dates
    from states
    group by student_id, organization_id
)

select * from final
