{{ config(materialized='ephemeral') }}

-- Отчёт об успеваемости: the attestation outcome of each student for each period at each
-- organization (docs/metrics.md), with the class the student was in at the period's last final
-- mark and the reporting unit. Person-level, so ephemeral: never stored, only aggregated.
with

final_marks as (
    select * from {{ ref('fct_final_mark') }}
),

terms as (
    select * from {{ ref('dim_term') }}
),

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
    where is_main_program
),

per_student as (
    select
        student_id,
        organization_id,
        academic_year,
        term_name_ru,
        grade_level,
        max(marked_on) as last_marked_on,
        {{ student_attestation_flags('mark_kind', 'numeric_value', 'is_failing') }}
    from final_marks
    group by student_id, organization_id, academic_year, term_name_ru, grade_level
),

outcomes as (
    select
        *,
        {{ student_attestation_outcomes() }}
    from per_student
    -- grade 1 is never attested (безотметочное обучение)
    where coalesce(grade_level, 0) <> 1
),

classed as (
    select
        outcomes.*,
        coalesce(terms.end_date, outcomes.last_marked_on) as on_date,
        coalesce(class.class_name, '?') as class_name
    from outcomes
    left join terms
        on
            outcomes.academic_year = terms.academic_year
            and outcomes.term_name_ru = terms.term_name_ru
    left join lateral (
        select states.class_name
        from states
        where
            states.student_id = outcomes.student_id
            and states.organization_id = outcomes.organization_id
            and states.valid_from <= coalesce(outcomes.last_marked_on, terms.end_date)
        order by states.valid_from desc
        limit 1
    ) as class on true
),

pairs as (
    select distinct
        organization_id,
        on_date
    from classed
),

units as (
    {{ forms_reporting_units('pairs') }}
),

final as (
    select
        classed.*,
        classed.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id
    from classed
    left join units
        on
            classed.organization_id = units.organization_id
            and classed.on_date is not distinct from units.on_date
)

select * from final
