-- What: a transfer out (expulsion with reason `перевод в другую ОО`) is followed by the same
-- student's admission somewhere in the region within 30 days.
-- When it matters: an unmatched transfer may be a child lost between schools.
-- How to resolve: the trajectories models classify it; education departments follow it up.
{{ config(severity='warn', store_failures=true) }}

select transfers.event_id
from {{ ref('fct_movement') }} as transfers
where
    transfers.movement_category = 'transfer_out'
    and transfers.is_main_program
    and not exists (
        select 1
        from {{ ref('fct_movement') }} as admissions
        where
            admissions.student_id = transfers.student_id
            and admissions.event_type = 'admission'
            and admissions.is_main_program
            and admissions.event_date >= transfers.event_date
            and admissions.event_date <= transfers.event_date + 30
    )
