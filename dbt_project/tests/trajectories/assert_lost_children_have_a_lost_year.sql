-- What: every child on the lost list has the yearly status `lost` in the year of the exit.
-- When it matters: the list departments follow up and the dashboards' counts must agree.
-- How to resolve: a row here means fct_lost_child and fct_student_year_status apply the
-- compulsory-education rule differently; align them with docs/trajectories.md.
{{ config(severity='warn') }}

select
    lost.student_id,
    lost.academic_year_start
from {{ ref('fct_lost_child') }} as lost
left join {{ ref('fct_student_year_status') }} as statuses
    on
        lost.student_id = statuses.student_id
        and lost.academic_year_start = statuses.academic_year_start
        and statuses.status = 'lost'
where lost.exit_program_level in ('primary', 'basic', 'secondary') and statuses.student_id is null
