-- What: no student is in two main programs (ДО/НОО/ООО/СОО/СПО) on the same count date.
-- When it matters: enrolment counts would count the child twice, at two organizations.
-- How to resolve: find the overlapping spells in core.fct_enrolment_spell; usually a missing
-- expulsion at the old organization (ask the school to send it) or a transfer sent late.
{{ config(severity='warn', store_failures=true) }}

select
    count_date,
    student_id,
    count(*) as main_spells
from {{ ref('fct_enrolment_on_count_date') }}
where is_main_program
group by count_date, student_id
having count(*) > 1
