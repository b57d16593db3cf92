{#- Students enrolled on the dates of `dates_relation` (a relation with a `count_date` column),
    by the rule start <= D < exit date, with the grade, program and class they had on D. -#}
{% macro enrolled_on(dates_relation) -%}
    select
        dates.count_date,
        states.enrolment_spell_id,
        states.student_id,
        states.organization_id,
        states.spell_track,
        states.is_main_program,
        states.grade_level,
        states.program_level,
        states.program_code,
        states.orientation_code,
        states.class_name,
        states.study_form_code
    from {{ dates_relation }} as dates
    inner join {{ ref('int_enrolment_states_dated') }} as states
        on dates.count_date >= states.valid_from
        and dates.count_date < states.valid_to
{%- endmacro %}
