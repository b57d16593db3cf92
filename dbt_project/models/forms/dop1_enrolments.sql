-- 1-ДОП, section 1: enrolments in additional-education programs (one child in one program of
-- one organization, however many spells) during a calendar year, by направленность, age in
-- full years on 1 January of the following year, sex and health attributes. Enrolments add up across organizations. Grain: report year
-- × level × territory × orientation × age × sex × ОВЗ × disability.
with

enrolment_rows as (
    select * from {{ ref('dop1_enrolment_rows') }}
),

final as (
    select
        report_year,
        {{ forms_level_columns() }},
        orientation_code,
        age,
        sex,
        has_ovz,
        is_disabled,
        count(distinct enrolment_key) as enrolments
    from enrolment_rows
    group by
        report_year, orientation_code, age, sex, has_ovz, is_disabled, {{ forms_level_sets() }}
)

select * from final
