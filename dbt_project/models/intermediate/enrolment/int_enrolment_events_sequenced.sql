-- Movement events numbered into enrolment spells: a spell of a student at an organization on
-- one track (the main program, or one additional-education program) runs from an admission or
-- restoration to the next expulsion or graduation.
with

events as (
    select * from {{ ref('int_movements_classified') }}
),

sequenced as (
    select
        *,
        sum(case when is_entry then 1 else 0 end) over (
            partition by student_id, organization_id, spell_track
            order by event_date, event_order, event_id
            rows between unbounded preceding and current row
        ) as spell_number
    from events
),

final as (
    select
        *,
        md5(student_id || '|' || organization_id || '|' || spell_track || '|' || spell_number)
            as enrolment_spell_id
    from sequenced
    -- events before any admission (e.g. a promotion sent before the admission arrived) belong
    -- to no spell; checks report them
    where spell_number > 0
)

select * from final
